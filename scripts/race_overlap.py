"""Whether the local stack serves one function's concurrent requests
concurrently, as Lambda's scale-out does, read from the functions' own
metrics lines: each invocation writes one (CloudWatch EMF) with its
`Function`, `handlerMs` and `_aws.Timestamp` (the handler's end, epoch ms),
so each execution is the interval [Timestamp - handlerMs, Timestamp].

As a check (scripts/e2e.sh, part of `make test`): `CALLS` concurrent calls
to one route through the router; fails unless at least two of the handler
executions they caused overlap in time. Prints the figures: statuses, the
most executions at once, the span, the function's processes.

As a library (scripts/faults.py): `executions` and `most_at_once`.
"""

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def metrics_lines(log_path):
    """Every metrics line in a log of `make dev` (the router may prefix a
    function's output, so each JSON document is taken from its first `{`)."""
    for line in Path(log_path).read_text(errors="replace").splitlines():
        at = line.find("{")
        if at < 0 or '"handlerMs"' not in line:
            continue
        try:
            document = json.loads(line[at:])
        except ValueError:
            continue
        if isinstance(document, dict) and "_aws" in document and "handlerMs" in document:
            yield document


def executions(log_path, function, since_ms, until_ms):
    """(start, end, status) in epoch ms of each execution of `function` that
    ran wholly within [since_ms, until_ms]."""
    found = []
    for document in metrics_lines(log_path):
        if document.get("Function") != function:
            continue
        end = float(document["_aws"]["Timestamp"])
        start = end - float(document["handlerMs"])
        if since_ms <= start and end <= until_ms:
            found.append((start, end, document.get("status")))
    return sorted(found)


def most_at_once(intervals):
    """The most intervals in progress at one instant (touching ends do not
    overlap)."""
    edges = sorted([(start, 1) for start, _, *_ in intervals] + [(end, -1) for _, end, *_ in intervals])
    most = running = 0
    for _, step in edges:  # at equal times an end (-1) sorts before a start
        running += step
        most = max(most, running)
    return most


def processes_of(function, root_pid):
    """The processes of `function` among `root_pid`'s descendants."""
    children = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            exe = os.path.basename(os.readlink(entry / "exe"))
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append((int(entry.name), exe))
    found, pending = [], [root_pid]
    while pending:
        for pid, exe in children.get(pending.pop(), []):
            pending.append(pid)
            if exe == function:
                found.append(pid)
    return found


def call(url, token, body):
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--api", required=True)
    parser.add_argument("--log", required=True, help="the log of make dev (the functions' output)")
    parser.add_argument("--token", required=True, help="a bearer token of a user whose PIN is --pin")
    parser.add_argument("--pin", required=True)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--stack-pid", type=int, help="make dev's process, to count the function's processes")
    args = parser.parse_args()
    function = "password-reset-callback"
    url = args.api.rstrip("/") + "/callbacks/password-reset"
    # A second try only if the first saw no overlap (a process of the
    # function may still have been starting): a stack that serves one call
    # at a time fails both.
    for _ in range(2):
        # The right PIN: nothing counted, nothing deleted, every call answers 204.
        since = time.time() * 1000
        with ThreadPoolExecutor(max_workers=args.calls) as pool:
            statuses = list(pool.map(lambda _: call(url, args.token, {"pin": args.pin}), range(args.calls)))
        until = time.time() * 1000
        # The router relays each function's output as it comes: give the
        # last lines a moment to reach the log.
        for _ in range(50):
            seen = executions(args.log, function, since, until)
            if len(seen) >= args.calls:
                break
            time.sleep(0.2)
        most = most_at_once(seen)
        if most >= 2:
            break
    processes = len(processes_of(function, args.stack_pid)) if args.stack_pid else None
    print(f"race: {args.calls} concurrent calls to {function} (P5, the right PIN): {dict(Counter(statuses))}")
    if seen:
        print(
            f"race: {len(seen)} executions from its metrics lines, at most {most} at once; "
            f"first start {time.strftime('%H:%M:%S', time.localtime(seen[0][0] / 1000))}"
            f".{int(seen[0][0] % 1000):03d}, span {max(e for _, e, _ in seen) - seen[0][0]:.0f} ms, "
            f"handler time {sum(e - s for s, e, _ in seen):.0f} ms in all"
            + (f"; {processes} processes of the function" if processes is not None else "")
        )
    ok = len(seen) == args.calls and most >= 2 and statuses.count(204) == args.calls
    if not ok:
        print(
            f"race: FAILED: {len(seen)} of {args.calls} executions found in {args.log}, at most {most} at once "
            "(the router serves this function one request at a time?)",
            file=sys.stderr,
        )
    print(f"race: {int(ok)} passed, {int(not ok)} failed")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
