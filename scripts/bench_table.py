"""The benchmark tables, from the measurements the other steps wrote to
$CARGO_TARGET_DIR/bench/: one row per function crate under functions/, then
one row per outcome of each.

    python3 scripts/bench_table.py [--markdown]

Per function:
- x86-64 MiB: target/release/<fn> (cargo build --release: stripped, LTO).
- arm64 MiB: target/lambda/<fn>/bootstrap when it is an aarch64 build
  (cargo lambda build --release --arm64); "—" when not built.
- init ms, cold ms, × hello: startup.json (scripts/cold_start.py), medians of
  exec → first GET …/invocation/next and exec → first answer posted, and the
  latter's ratio to the hello-world lambda_http binary of the same run; CPU ×
  hello: the same ratio for the process's CPU time (user + system), which
  other load on the machine moves much less than wall time.
- RSS 1st / RSS last: startup.json's warm run (RSS after the first and the
  last event served to one process), and their ratio.

Per outcome (handler-figures.json, or BENCH_FIGURES; scripts/outcomes.py):
- answers: the statuses of the measured events (n of them);
- RT, argon2, mails: DynamoDB round trips, argon2 runs and emails sent per
  event, from each invocation's metrics line ("a–b" when events differed);
- p50 / p99 ms: the handler's time minus its argon2 time, warm, with the
  store and the mailer on the emulator.
"""

import argparse
import os

from bench_common import bench_dir, figures_path, function_crates, read_json, target_dir

AARCH64 = 0xB7  # ELF e_machine


def arm64_size(name):
    path = target_dir() / "lambda" / name / "bootstrap"
    if not path.exists():
        return None
    with open(path, "rb") as f:
        header = f.read(20)
    if header[:4] != b"\x7fELF" or int.from_bytes(header[18:20], "little") != AARCH64:
        return None
    return path.stat().st_size


def mib(n):
    return "—" if n is None else f"{n / 1_048_576:.1f}"


def cell(value, fmt):
    return "—" if value is None else format(value, fmt)


def function_rows():
    startup = read_json(bench_dir() / "startup.json") or {}
    cold, warm = startup.get("cold", {}), startup.get("warm", {})
    for name in function_crates():
        c, w = cold.get(name, {}), warm.get(name, {})
        first, last = w.get("rss_after_first_kib"), w.get("rss_after_last_kib")
        binary = target_dir() / "release" / name
        yield {
            "function": name,
            "x86": mib(binary.stat().st_size if binary.exists() else None),
            "arm64": mib(arm64_size(name)),
            "init": cell(c.get("init_median_ms"), ".2f"),
            "cold": cell(c.get("median_ms"), ".2f"),
            "ratio": cell(c.get("ratio"), ".2f"),
            "cpux": cell(c.get("cpu_ratio"), ".2f"),
            "rss1": cell(first and first / 1024, ".1f"),
            "rssN": cell(last and last / 1024, ".1f"),
            "growth": cell(first and last and last / first, ".2f"),
        }


def spread(value):
    if value is None:
        return "—"
    return str(value["min"]) if value["min"] == value["max"] else f"{value['min']}–{value['max']}"


def outcome_rows():
    figures = read_json(figures_path()) or {}
    measured = figures.get("functions", {})
    for name in function_crates():
        outcomes = measured.get(name, {}).get("outcomes", {})
        if not outcomes:
            yield {"function": name, "outcome": "—", "answers": "—", "rt": "—", "a2": "—", "mail": "—",
                   "p50": "—", "p99": "—"}
        for i, (outcome, o) in enumerate(outcomes.items()):
            answers = ", ".join(f"{n}× {s}" for s, n in sorted(o.get("statuses", {}).items()))
            yield {"function": name if i == 0 else "", "outcome": outcome, "answers": answers,
                   "rt": spread(o.get("round_trips")), "a2": spread(o.get("argon2_runs")),
                   "mail": spread(o.get("emails")), "p50": cell(o.get("p50_ms"), ".2f"),
                   "p99": cell(o.get("p99_ms"), ".2f")}


FUNCTION_COLUMNS = [
    ("function", "function", "<"), ("x86", "x86-64 MiB", ">"), ("arm64", "arm64 MiB", ">"),
    ("init", "init ms", ">"), ("cold", "cold ms", ">"), ("ratio", "× hello", ">"), ("cpux", "CPU × hello", ">"),
    ("rss1", "RSS 1st MiB", ">"), ("rssN", "RSS last MiB", ">"), ("growth", "last/1st", ">"),
]
OUTCOME_COLUMNS = [
    ("function", "function", "<"), ("outcome", "outcome", "<"), ("answers", "answers", "<"),
    ("rt", "RT", ">"), ("a2", "argon2", ">"), ("mail", "mails", ">"), ("p50", "p50 ms", ">"), ("p99", "p99 ms", ">"),
]


def print_table(columns, table, markdown):
    if markdown:
        print("| " + " | ".join(title for _, title, _ in columns) + " |")
        print("|" + "|".join("---:" if align == ">" else "---" for _, _, align in columns) + "|")
        for row in table:
            print("| " + " | ".join(row[key] for key, _, _ in columns) + " |")
    else:
        widths = {key: max(len(title), *(len(r[key]) for r in table)) for key, title, _ in columns}
        print("  ".join(f"{title:{align}{widths[key]}}" for key, title, align in columns))
        for row in table:
            print("  ".join(f"{row[key]:{align}{widths[key]}}" for key, _, align in columns))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    startup = read_json(bench_dir() / "startup.json") or {}
    figures = read_json(figures_path())
    print_table(FUNCTION_COLUMNS, list(function_rows()), args.markdown)
    cold = startup.get("cold", {}).get(startup.get("baseline", ""), {})
    if cold:
        print(f"\nhello-world lambda_http: {cold['median_ms']:.2f} ms median, "
              f"{cold['x86_64_bytes'] / 1_048_576:.1f} MiB; {startup['rounds']} interleaved rounds, "
              f"{startup['measured_at']}")
    warm = startup.get("warm", {})
    if warm:
        print(f"RSS: {startup['warm_invocations']} events to one process; scenario and answers per function:")
        for name, w in warm.items():
            latency = (f", stub-side latency p50 {w['warm_p50_ms']:.1f} ms / p99 {w['warm_p99_ms']:.1f} ms"
                       if w.get("warm_p50_ms") is not None else "")
            mails = f", {w['mails_sent']} mails" if w.get("mails_sent") is not None else ""
            print(f"  {name}: {w['scenario']} — answers {w['statuses']}{mails}{latency}")
    print()
    if figures:
        print(f"Per outcome ({figures.get('source', 'no source given')}; {figures.get('measured_at', '')}):")
    else:
        print(f"Per outcome: not measured yet (scripts/outcomes.py writes {os.fspath(figures_path())})")
    print_table(OUTCOME_COLUMNS, list(outcome_rows()), args.markdown)

if __name__ == "__main__":
    main()
