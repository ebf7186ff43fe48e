"""Prints the figures of a scripts/fuzz.sh run from Schemathesis' NDJSON
reports: per document the operations, the requests sent, the answers by
status, and the failed checks (unique by operation and check); then totals,
and last "fuzz: N passed, M failed", an operation passing when none of its
checks failed (`make test` counts these with its tests).

Usage: python scripts/fuzz_figures.py REPORT.ndjson...
"""

import collections
import json
import sys
from pathlib import Path


def figures(report):
    operations, statuses, failures, requests = set(), collections.Counter(), set(), 0
    for line in Path(report).read_text().splitlines():
        event = json.loads(line)
        scenario = event.get("ScenarioFinished")
        if not scenario:
            continue
        recorder = scenario["recorder"]
        operations.add(recorder["label"])
        for interaction in recorder.get("interactions", {}).values():
            if interaction.get("response"):
                requests += 1
                statuses[interaction["response"]["status_code"]] += 1
        for checks in recorder.get("checks", {}).values():
            failures.update((recorder["label"], c["name"]) for c in checks if c["status"] == "failure")
    return operations, requests, statuses, failures


def main(reports):
    total_operations = total_requests = total_failures = failed_operations = 0
    for report in reports:
        operations, requests, statuses, failures = figures(report)
        failed_operations += len({label for label, _ in failures})
        answers = ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items()))
        print(f"{Path(report).stem}: {len(operations)} operations, {requests} requests ({answers}), {len(failures)} failures")
        for label, check in sorted(failures):
            print(f"  failed: {label}: {check}")
        total_operations += len(operations)
        total_requests += requests
        total_failures += len(failures)
    print(f"fuzz: {total_operations} operations, {total_requests} requests, {total_failures} failures")
    print(f"fuzz: {total_operations - failed_operations} passed, {failed_operations} failed")
    return 1 if total_failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
