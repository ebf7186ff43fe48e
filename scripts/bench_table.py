"""The benchmark table: one row per function crate under functions/, from the
measurements the other steps wrote to $CARGO_TARGET_DIR/bench/.

    python3 scripts/bench_table.py [--markdown]

Columns and where they come from:
- x86-64 MiB: target/release/<fn> (cargo build --release: stripped, LTO).
- arm64 MiB: target/lambda/<fn>/bootstrap when it is an aarch64 build
  (cargo lambda build --release --arm64); "—" when not built.
- init ms, cold ms, × hello: startup.json (scripts/cold_start.py), medians of
  exec → first GET …/invocation/next and exec → first answer posted, and the
  latter's ratio to the hello-world lambda_http binary of the same run; CPU ×
  hello: the same ratio for the process's CPU time (user + system), which
  other load on the machine moves much less than wall time.
- RSS 1st / RSS 1000th: startup.json's warm run (RSS after the first and the
  last event served to one process), and their ratio.
- RT, argon2, p50, p99 per outcome: NOT measured by these scripts. They come
  from the figures file (handler-figures.json, or BENCH_FIGURES), which the
  in-process harness is to write after the restructuring:

    {"source": "how it was measured",
     "functions": {"change-password": {"outcomes": {
        "200 current password": {"round_trips": 2, "argon2_runs": 2, "p50_ms": 1.9, "p99_ms": 4.0}}}}}

  Until then those columns show "—".
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


def rows():
    startup = read_json(bench_dir() / "startup.json") or {}
    figures = read_json(figures_path()) or {}
    cold, warm = startup.get("cold", {}), startup.get("warm", {})
    for name in function_crates():
        c, w = cold.get(name, {}), warm.get(name, {})
        first, last = w.get("rss_after_first_kib"), w.get("rss_after_last_kib")
        binary = target_dir() / "release" / name
        main = {
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
        outcomes = figures.get("functions", {}).get(name, {}).get("outcomes", {})
        if not outcomes:
            yield {**main, "outcome": "—", "rt": "—", "a2": "—", "p50": "—", "p99": "—"}
        for i, (outcome, o) in enumerate(outcomes.items()):
            base = main if i == 0 else {k: "" for k in main}
            yield {**base, "outcome": outcome, "rt": cell(o.get("round_trips"), "d"),
                   "a2": cell(o.get("argon2_runs"), "d"), "p50": cell(o.get("p50_ms"), ".1f"),
                   "p99": cell(o.get("p99_ms"), ".1f")}


COLUMNS = [
    ("function", "function", "<"), ("x86", "x86-64 MiB", ">"), ("arm64", "arm64 MiB", ">"),
    ("init", "init ms", ">"), ("cold", "cold ms", ">"), ("ratio", "× hello", ">"), ("cpux", "CPU × hello", ">"), ("rss1", "RSS 1st MiB", ">"),
    ("rssN", "RSS last MiB", ">"), ("growth", "last/1st", ">"), ("outcome", "outcome (harness)", "<"),
    ("rt", "RT", ">"), ("a2", "argon2", ">"), ("p50", "p50 ms", ">"), ("p99", "p99 ms", ">"),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    startup = read_json(bench_dir() / "startup.json") or {}
    figures = read_json(figures_path())
    table = list(rows())
    if args.markdown:
        print("| " + " | ".join(title for _, title, _ in COLUMNS) + " |")
        print("|" + "|".join("---:" if align == ">" else "---" for _, _, align in COLUMNS) + "|")
        for row in table:
            print("| " + " | ".join(row[key] for key, _, _ in COLUMNS) + " |")
    else:
        widths = {key: max(len(title), *(len(r[key]) for r in table)) for key, title, _ in COLUMNS}
        print("  ".join(f"{title:{align}{widths[key]}}" for key, title, align in COLUMNS))
        for row in table:
            print("  ".join(f"{row[key]:{align}{widths[key]}}" for key, _, align in COLUMNS))
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
    source = figures.get("source", "no source given") if figures else None
    print(f"RT / argon2 / p50 / p99 per outcome: "
          f"{'from ' + str(figures_path()) + ' (' + source + ')' if figures else 'not measured yet — the in-process harness writes ' + os.fspath(figures_path())}")


if __name__ == "__main__":
    main()
