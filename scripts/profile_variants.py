"""Release-profile variants side by side: binary size and cold start.

Builds a few functions and the hello-world baseline under each variant of
the release profile, each into a target directory of its own (the first
build of a variant compiles every dependency: ~10-15 min on 2 cores), then
starts them in interleaved rounds as scripts/cold_start.py does (one
unauthenticated event per process, the local Runtime API), so machine load
affects all variants alike.

    python3 scripts/profile_variants.py [--rounds N] [--only NAME,...] [--variants shipped,s,z,no-pie] [--saved NAME=DIR]

--saved adds binaries built earlier (e.g. a copy of target/release from
before a change), started in the same rounds, not rebuilt.

Variants:
    shipped  the release profile as Cargo.toml has it (built where `make bench` builds)
    s        opt-level "s"
    z        opt-level "z"
    3        opt-level 3
    no-pie   the shipped profile, linked as a position-dependent executable:
             no load-time relocations, and no address randomisation of the
             program image
"""

import argparse
import os
import subprocess
import sys

from bench_common import ROOT, event, median, target_dir
from cold_start import BASELINE, RUNTIME_PORT, RuntimeServer, service_environment, unauthenticated_event, \
    lambda_environment

DEFAULT_FUNCTIONS = ["change-password", "password-reset-callback", "set-password-request", "set-password-page"]
VARIANTS = {
    "shipped": {},
    "s": {"CARGO_PROFILE_RELEASE_OPT_LEVEL": "s"},
    "z": {"CARGO_PROFILE_RELEASE_OPT_LEVEL": "z"},
    "3": {"CARGO_PROFILE_RELEASE_OPT_LEVEL": "3"},
    "no-pie": {"RUSTFLAGS": "-C relocation-model=static"},
}
# Built for an explicit target, so that RUSTFLAGS reach the program and not
# the build's proc-macros (which must stay position-independent).
HOST = "x86_64-unknown-linux-gnu"
EXPLICIT_TARGET = {"no-pie"}


def variant_dir(variant):
    """The shipped profile builds where `make bench` does; the others apart."""
    return target_dir() if variant == "shipped" else target_dir() / "profiles" / variant


def build(variant, names):
    env = {**os.environ, **VARIANTS[variant], "CARGO_TARGET_DIR": str(variant_dir(variant))}
    command = ["cargo", "build", "--release", "--quiet"] + [a for n in [BASELINE, *names] for a in ("--bin", n)]
    if variant in EXPLICIT_TARGET:
        command += ["--target", HOST]
    print(f"building {variant} into {variant_dir(variant)}", flush=True)
    subprocess.run(command, cwd=ROOT, env=env, check=True)
    return variant_dir(variant) / (f"{HOST}/release" if variant in EXPLICIT_TARGET else "release")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="cold starts per binary and variant (interleaved)")
    parser.add_argument("--only", help="comma-separated function crates (default: %s)" % ",".join(DEFAULT_FUNCTIONS))
    parser.add_argument("--variants", default="shipped,s,z,no-pie", help="comma-separated, of: " + ", ".join(VARIANTS))
    parser.add_argument("--saved", action="append", default=[], metavar="NAME=DIR",
                        help="binaries already built in DIR, compared as variant NAME")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else DEFAULT_FUNCTIONS
    variants = args.variants.split(",")
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        sys.exit(f"unknown variants: {unknown}")

    releases = {variant: build(variant, names) for variant in variants}
    for saved in args.saved:
        name, _, directory = saved.partition("=")
        releases[name] = ROOT / directory
        variants.append(name)
    server = RuntimeServer(RUNTIME_PORT)
    env = service_environment()
    base_env = lambda_environment({"PATH": os.environ["PATH"]})
    subjects = [(BASELINE, base_env)] + [(name, env) for name in names]
    samples = {(v, n): {"ms": [], "cpu_ms": [], "faults": []} for v in variants for n, _ in subjects}
    print(f"cold start: {args.rounds} interleaved rounds of {len(subjects)} binaries × {len(variants)} variants",
          flush=True)
    for round_number in range(args.rounds):
        # Every other round in reverse: a binary started right after another
        # runs measurably faster (~5 %), so no variant keeps one place.
        order = variants if round_number % 2 == 0 else variants[::-1]
        for name, subject_env in subjects:
            for variant in order:
                payload = event("GET", "/") if name == BASELINE else unauthenticated_event(name)
                run = server.run(releases[variant] / name, subject_env, lambda i, p=payload: p, count=1, timeout=30)
                if run.error:
                    sys.exit(f"{variant} {name}: {run.error}")
                sample = samples[(variant, name)]
                sample["ms"].append((run.first_answer_at - run.started) * 1000)
                sample["cpu_ms"].append(run.cpu_ms)
                sample["faults"].append(run.minor_faults)
    server.shutdown()

    shipped_hello = median(samples[(variants[0], BASELINE)]["ms"])
    print(f"medians; × hello = against the {variants[0]!r} hello-world ({shipped_hello:.2f} ms) in the same rounds")
    print(f"{'function':24} {'variant':8} {'MiB':>6} {'cold ms':>8} {'× hello':>8} {'CPU ms':>7} {'faults':>7}")
    for name, _ in subjects:
        for variant in variants:
            sample = samples[(variant, name)]
            size = (releases[variant] / name).stat().st_size / 2**20
            cold = median(sample["ms"])
            print(f"{name:24} {variant:8} {size:6.2f} {cold:8.2f} {cold / shipped_hello:8.2f} "
                  f"{median(sample['cpu_ms']):7.2f} {median(sample['faults']):7.0f}")


if __name__ == "__main__":
    main()
