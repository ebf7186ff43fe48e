"""argon2id as the service hashes (m = 19456 KiB, t = 2, p = 1) against the C
reference (Debian's `argon2` CLI and its library, installed on first use).

Timed the same way twice, both as CPU time, because the machine is shared
and wall time here mostly measures the scheduler:

- one hash per process: the CLI (`echo -n pw | argon2 somesaltsomesalt -id
  -t 2 -k 19456 -p 1 -e`) and the service's hasher (`argon2_speed --once`),
  interleaved; CPU = the child's user + system time (wait4). This includes
  exec and the first touch of the 19 MiB buffer, for both.
- many hashes in one process, as a warm function runs them: the service's
  hasher (`argon2_speed N`, thread CPU time per hash) and the C library
  (libargon2.so.1, `argon2id_hash_raw`, through ctypes, thread CPU time per
  hash); the first hash of each is left out.

The CLI's hash is also checked with the service's verifier (same algorithm,
version and parameters).

    python3 scripts/argon2_speed.py [--runs N]        (make bench)
    python3 scripts/argon2_speed.py --variants        the shipped profile (3), all at s, s with argon2 at 3

Writes $CARGO_TARGET_DIR/bench/argon2.json.
"""

import argparse
import ctypes
import ctypes.util
import json
import os
import shutil
import subprocess
import time

from bench_common import ROOT, bench_dir, median

DEBIAN_ARGON2 = "0~20171227-0.3+deb12u1"
CLI = ["argon2", "somesaltsomesalt", "-id", "-t", "2", "-k", "19456", "-p", "1", "-e"]
PASSWORD = b"pw"

# (name, cargo --config overrides) for --variants. Under the release
# profile's `lto = true` the program is optimised at link time at the
# profile's own opt-level, so a package's opt-level alone changes little; the
# whole profile at 3 (as shipped) is what vectorises argon2's AVX2 branch.
VARIANTS = [
    ("shipped (all 3)", []),
    ("all s", [f"profile.{profile}.opt-level='s'" for profile in ("release", "bench")]),
    ("all s, argon2+blake2 3", [f"profile.{profile}.opt-level='s'" for profile in ("release", "bench")]
     + [f"profile.{profile}.package.{crate}.opt-level=3"
        for profile in ("release", "bench") for crate in ("argon2", "blake2")]),
]


def ensure_reference():
    """Debian's argon2 CLI and library (pinned), installed once."""
    if shutil.which("argon2") and ctypes.util.find_library("argon2"):
        return
    packages = [f"argon2={DEBIAN_ARGON2}", f"libargon2-1={DEBIAN_ARGON2}"]
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", *packages], check=True,
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def bench_binary(overrides=None):
    """Builds the argon2_speed bench (release profile) and returns its path."""
    command = ["cargo", "bench", "-p", "password-service", "--bench", "argon2_speed", "--no-run",
               "--message-format=json-render-diagnostics"]
    for override in overrides or []:
        command += ["--config", override]
    out = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        message = json.loads(line)
        if message.get("reason") == "compiler-artifact" and message["target"]["name"] == "argon2_speed":
            if message.get("executable"):
                return message["executable"]
    raise SystemExit("cargo did not report the argon2_speed executable")


def child_cpu_ms(command):
    """Runs `command` with the password on stdin; (CPU ms, wall ms, stdout)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    process.stdin.write(PASSWORD)
    process.stdin.close()
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = (time.perf_counter() - started) * 1000
    if process.returncode != 0:
        raise SystemExit(f"{command[0]} failed ({process.returncode})")
    return (usage.ru_utime + usage.ru_stime) * 1000, wall, output.decode().strip()


def per_process(commands, runs):
    """Interleaved runs of each command; name → list of CPU ms."""
    cpu = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            cpu[name].append(child_cpu_ms(command)[0])
    return cpu


def c_library_warm_ms(hashes):
    """Median thread CPU ms per hash of libargon2's argon2id_hash_raw, first left out."""
    library = ctypes.CDLL(ctypes.util.find_library("argon2"))
    hash_raw = library.argon2id_hash_raw
    hash_raw.argtypes = [ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_char_p, ctypes.c_size_t,
                         ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t]
    salt, output = b"somesaltsomesalt", ctypes.create_string_buffer(32)
    times = []
    for i in range(hashes):
        password = f"benchmark-password-{i}".encode()
        started = time.thread_time()
        if hash_raw(2, 19456, 1, password, len(password), salt, len(salt), output, 32) != 0:
            raise SystemExit("argon2id_hash_raw failed")
        times.append((time.thread_time() - started) * 1000)
    return median(times[1:])


def service_warm(binary, hashes):
    out = subprocess.run([binary, str(hashes)], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def compare(runs, hashes):
    ensure_reference()
    binary = bench_binary()
    cli_phc = child_cpu_ms(CLI)[2]
    verified = subprocess.run([binary, "--verify", cli_phc], input=PASSWORD, capture_output=True).returncode == 0
    cpu = per_process({"C reference (argon2 CLI)": CLI, "service (argon2_speed --once)": [binary, "--once"]}, runs)
    # Warm figures, interleaved too: C library, service, twice.
    c_warm, service = [], []
    for _ in range(2):
        c_warm.append(c_library_warm_ms(hashes))
        service.append(service_warm(binary, hashes))
    result = {
        "measured_at": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "parameters": "argon2id v=19 m=19456 KiB t=2 p=1, 32-byte output",
        "reference": f"Debian argon2 / libargon2-1 {DEBIAN_ARGON2}",
        "cli_hash_verified_by_service": verified,
        "per_process_runs": runs,
        "per_process_cpu_ms": {name: median(v) for name, v in cpu.items()},
        "warm_hashes_per_process": hashes,
        "warm_cpu_ms": {
            "C reference (libargon2, ctypes)": median(c_warm),
            "service (PasswordHasher)": median([s["warm_cpu_ms_median"] for s in service]),
        },
        "service_first_hash_cpu_ms": median([s["first_cpu_ms"] for s in service]),
    }
    (bench_dir() / "argon2.json").write_text(json.dumps(result, indent=2))
    print(f"argon2id m=19456 KiB, t=2, p=1 — CPU ms per hash (median); C reference = {result['reference']}")
    print(f"  one hash per process ({runs} interleaved runs each, exec and 19 MiB first touch included):")
    for name, value in result["per_process_cpu_ms"].items():
        print(f"    {name:<36} {value:6.1f} ms")
    print(f"  warm, {hashes} hashes in one process (first left out), twice each:")
    for name, value in result["warm_cpu_ms"].items():
        print(f"    {name:<36} {value:6.1f} ms")
    print(f"  the CLI's hash verifies with the service's hasher: {verified}")
    return result


def variants(runs, hashes):
    """Builds the bench with each opt-level variant and times them interleaved."""
    ensure_reference()
    binaries = {}
    for name, overrides in VARIANTS:
        built = bench_binary(overrides)
        copy = bench_dir() / ("argon2_speed-" + "".join(c if c.isalnum() else "-" for c in name))
        shutil.copy2(built, copy)
        binaries[name] = str(copy)
    warm = {name: [] for name in binaries}
    for _ in range(3):
        for name, binary in binaries.items():
            warm[name].append(service_warm(binary, hashes)["warm_cpu_ms_median"])
    once = per_process({name: [b, "--once"] for name, b in binaries.items()}, runs)
    c_warm = c_library_warm_ms(hashes)
    print(f"release-profile variants, CPU ms per hash (median); C library warm: {c_warm:.1f} ms")
    print(f"  {'variant':<22} {'warm, in process':>17} {'one per process':>16}")
    for name in binaries:
        print(f"  {name:<22} {median(warm[name]):>17.1f} {median(once[name]):>16.1f}")
    path = bench_dir() / "argon2-variants.json"
    path.write_text(json.dumps({"c_library_warm_cpu_ms": c_warm,
                                "warm_cpu_ms": {n: median(v) for n, v in warm.items()},
                                "per_process_cpu_ms": {n: median(v) for n, v in once.items()}}, indent=2))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="processes per side, one hash each")
    parser.add_argument("--hashes", type=int, default=30, help="hashes per process, warm")
    parser.add_argument("--variants", action="store_true", help="compare the release profile's opt-levels")
    args = parser.parse_args()
    if args.variants:
        variants(args.runs, args.hashes)
    else:
        compare(args.runs, args.hashes)


if __name__ == "__main__":
    main()
