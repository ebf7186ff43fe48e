"""Cold start and warm memory of every Lambda bootstrap, measured without AWS.

A local Lambda Runtime API serves events on
`GET /2018-06-01/runtime/invocation/next` and takes answers on
`POST …/response`; each bootstrap is started with AWS_LAMBDA_RUNTIME_API
pointing at it (one path prefix per process, so a run can never see another's
requests).

Cold start: one event per process, exec → the answer posted, for every crate
under functions/ and for a hello-world lambda_http binary
(tests/src/bin/baseline-lambda.rs) in the same rounds, interleaved (every
other round reversed), so machine load affects all alike; reported as a
ratio to the hello-world. The event
needs no network: a request without a token (401), or the function's
cheapest refusal (400).

Warm memory: one process serves 1,000 events; RSS is read (/proc) when the
runtime asks for the 2nd event (after the first invocation) and for the
1,001st (after the last). Where the function has a scenario below, the events
are valid requests against the emulator (on BENCH_EMULATOR_PORT, default
4750, emptied before each function), so the store, the mailer and argon2 are
exercised; otherwise the unauthenticated event. Rate limits are raised for these processes (the same
user is served 1,000 times) and each event carries a token minted when it is
served, as a client that signs in again would.

    python3 scripts/cold_start.py [--rounds N] [--warm N] [--only NAME,...]

Writes $CARGO_TARGET_DIR/bench/startup.json for scripts/bench_table.py.
"""

import argparse
import collections
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench_common import (
    ROOT, bench_dir, event, function_crates, median, percentile, routes, rss_kib, target_dir,
)
from local_env import ADMIN_SCOPE, create_user, mint_token, pwctl_command, read_env_file

RUNTIME_PORT = int(os.environ.get("BENCH_RUNTIME_PORT", "4751"))
EMULATOR_PORT = int(os.environ.get("BENCH_EMULATOR_PORT", "4750"))
BASELINE = "baseline-lambda"
RAISED_LIMITS = {
    "RATE_LIMIT_EMAILS_PER_HOUR": "1000000",
    "RATE_LIMIT_WRONG_SECRETS_PER_HOUR": "1000000",
    "RATE_LIMIT_ADMIN_RESETS_PER_MINUTE": "1000000",
    "RATE_LIMIT_INVALID_LINKS_PER_HOUR": "1000000",
}


# --- the Runtime API ---------------------------------------------------------

class Run:
    """One bootstrap process: the events it is given and what it answered."""

    def __init__(self, make_event, count):
        self.make_event, self.count = make_event, count
        self.served = 0
        self.pid = None
        self.started = self.first_request_at = self.first_answer_at = None
        self.sent_at = None
        self.latencies_ms = []
        self.statuses = collections.Counter()
        self.answers = []  # the Lambda proxy responses, in order
        self.rss_after_first_kib = self.rss_after_last_kib = None
        self.cpu_ms = self.minor_faults = None
        self.error = None
        self.done = threading.Event()
        self.finished = threading.Event()


class RuntimeApi(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _run(self):
        prefix, _, rest = self.path.lstrip("/").partition("/")
        return self.server.runs.get(prefix), "/" + rest

    def _answer(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        run, path = self._run()
        if run is None or not path.endswith("/runtime/invocation/next"):
            return self._answer(404)
        if run.served == 1:
            run.rss_after_first_kib = rss_kib(run.pid)
        if run.served == run.count:
            run.rss_after_last_kib = rss_kib(run.pid)
            run.done.set()
            run.finished.wait(60)  # the process is killed meanwhile
            return
        if run.first_request_at is None:
            run.first_request_at = time.perf_counter()
        payload = run.make_event(run.served)
        run.served += 1
        headers = [
            ("Lambda-Runtime-Aws-Request-Id", f"bench-{run.served}"),
            ("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 10_000)),
            ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-central-1:123456789012:function:bench"),
            ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000"),
            ("Content-Type", "application/json"),
        ]
        run.sent_at = time.perf_counter()
        self._answer(200, payload, headers)

    def do_POST(self):
        run, path = self._run()
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        now = time.perf_counter()
        if run is None:
            return self._answer(404)
        if path.endswith("/response"):
            if run.first_answer_at is None:
                run.first_answer_at = now
            run.latencies_ms.append((now - run.sent_at) * 1000)
            try:
                answer = json.loads(body)
                run.statuses[answer.get("statusCode")] += 1
            except ValueError:
                answer = None
                run.statuses["unreadable"] += 1
            run.answers.append(answer)
        else:
            run.error = f"{path}: {body[:300]!r}"
            run.done.set()
        self._answer(202, headers=[("Content-Type", "application/json")])


class RuntimeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port):
        super().__init__(("127.0.0.1", port), RuntimeApi)
        self.runs = {}
        self.next_id = 0
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def run(self, binary, env, make_event, count=1, timeout=600, stdout=subprocess.DEVNULL):
        """Starts `binary`, serves it `count` events, and returns the Run;
        the process's output goes to `stdout` (a file, or discarded)."""
        self.next_id += 1
        prefix = f"run{self.next_id}"
        run = Run(make_event, count)
        self.runs[prefix] = run
        full_env = dict(env)
        full_env["AWS_LAMBDA_RUNTIME_API"] = f"http://127.0.0.1:{self.server_address[1]}/{prefix}"
        run.started = time.perf_counter()
        process = subprocess.Popen([str(binary)], env=full_env, stdout=stdout, stderr=subprocess.DEVNULL)
        run.pid = process.pid
        try:
            if not run.done.wait(timeout):
                run.error = run.error or f"no answer within {timeout} s"
        finally:
            process.kill()
            # CPU time and page faults of the whole process: unlike wall time,
            # barely moved by other load on the machine.
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
            run.cpu_ms = (usage.ru_utime + usage.ru_stime) * 1000
            run.minor_faults = usage.ru_minflt
            run.finished.set()
            del self.runs[prefix]
        return run


# --- what each function is sent ----------------------------------------------

def unauthenticated_event(name):
    """The cheapest request a function refuses without the network."""
    method, template = routes().get(name, ("GET", "/"))
    params = {p.strip("{}"): "5f0c0ffee0c0ffee0c0ffee0" for p in template.split("/") if p.startswith("{")}
    if name == "set-password-confirm":
        return event(method, template, params, body={})  # 400: no token, no password
    return event(method, template, params)  # 401 (or the page's 400 without a token)


def lambda_environment(env):
    return {
        **env,
        "AWS_SESSION_TOKEN": "local",
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "AWS_LAMBDA_LOG_GROUP_NAME": "bench",
        "LAMBDA_TASK_ROOT": "/var/task",
        "TZ": ":UTC",
    }


def service_environment():
    """local.env with the emulator on our port; logs at info, as deployed."""
    env = read_env_file(ROOT / "local.env")
    for key in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SESV2", "AWS_ENDPOINT_URL_SECRETS_MANAGER"):
        env[key] = f"http://127.0.0.1:{EMULATOR_PORT}"
    env["RUST_LOG"] = "info"
    env["PATH"] = os.environ["PATH"]
    return lambda_environment(env)


class Scenarios:
    """Valid requests against the emulator, one factory per function: event i
    of a run. Users are created with pwctl; passwords follow a chain so that
    request i knows the password request i-1 set."""

    PASSWORD = "amber-harbor-lighthouse-7"
    PIN = "2468"

    def __init__(self, env, pwctl):
        self.env = env
        self.pwctl = pwctl_command(str(pwctl), env=env)

    def _user(self, *options):
        return create_user(self.pwctl, f"bench-{time.time_ns()}@example.com", *options)

    def _bearer(self, subject, scope=None):
        return {"Authorization": f"Bearer {mint_token(self.env, subject, scope, ttl=3600)}"}

    @staticmethod
    def chained(i):
        return f"quiet-meadow-tractor-{i}-bench"

    def factory(self, name):
        """(description, make_event) for `name`, or None where there is no scenario."""
        method, template = routes().get(name, ("GET", "/"))
        if name == "set-password-request":
            user = self._user()
            return ("P1 link requested, mailed (202)",
                    lambda i: event(method, template, headers=self._bearer(user)))
        if name == "set-password-confirm":
            return ("P2 unknown link (410): token looked up, limit taken",
                    lambda i: event(method, template, body={"token": f"unknown-link-{i:040d}", "password": self.chained(i)}))
        if name == "set-password-page":
            return ("P3 page with a token (200)",
                    lambda i: event(method, template, headers={"Accept": "text/html"}, query={"token": "abc"}))
        if name == "password-reset-with-pin":
            user = self._user("--password", self.chained(0), "--pin", self.PIN)
            return ("P4 right PIN, new password (204): 2 argon2, write, notice",
                    lambda i: event(method, template, headers=self._bearer(user),
                                    body={"password": self.chained(i + 1), "pin": self.PIN}))
        if name == "password-reset-callback":
            user = self._user("--password", self.PASSWORD, "--pin", self.PIN, "--payment-method", "pm_bench")
            return ("P5 right PIN (204): one batch read",
                    lambda i: event(method, template, headers=self._bearer(user), body={"pin": self.PIN}))
        if name == "set-pin":
            user = self._user("--password", self.PASSWORD)
            return ("P6 PIN set with the password (204): 1 argon2",
                    lambda i: event(method, template, headers=self._bearer(user),
                                    body={"pin": self.PIN, "password": self.PASSWORD}))
        if name == "password-reset-code":
            user = self._user("--password", self.PASSWORD)
            return ("Z1 code mailed (200)",
                    lambda i: event(method, template, {"userId": user}, headers=self._bearer(user),
                                    body={"sendLink": {}}))
        if name == "change-password":
            user = self._user("--password", self.chained(0))
            return ("Z2 with the current password (200): 2 argon2, notice",
                    lambda i: event(method, template, {"userId": user}, headers=self._bearer(user),
                                    body={"newPassword": {"password": self.chained(i + 1)},
                                          "currentPassword": self.chained(i)}))
        if name == "user-otp":
            user = self._user("--password", self.PASSWORD)
            return ("P7 enrolment started with the password (201): 1 argon2, notice",
                    lambda i: event(method, template, headers=self._bearer(user), body={"password": self.PASSWORD}))
        if name == "admin-reset-password":
            user = self._user("--password", self.chained(0))
            return ("O1 admin reset (204): 2 argon2, notice",
                    lambda i: event(method, template, {"user_id": user},
                                    headers=self._bearer("admin-bench", ADMIN_SCOPE),
                                    body={"new_password": self.chained(i + 1)}))
        return None


# --- the emulator --------------------------------------------------------------

class Emulator:
    def __init__(self, port):
        self.port, self.process = port, None
        self.endpoint = f"http://127.0.0.1:{port}"
        self.python = ROOT / ".local/venv/bin/python"

    def __enter__(self):
        if not self.python.exists():
            subprocess.run([str(ROOT / "scripts/tools.sh")], check=True)
        log = open(bench_dir() / f"emulator-{self.port}.log", "w")
        self.process = subprocess.Popen(
            [str(self.python), "scripts/emulator.py", "serve", "--port", str(self.port)],
            cwd=ROOT, stdout=log, stderr=log,
        )
        for command in ("wait", "setup"):
            subprocess.run([str(self.python), "scripts/emulator.py", command, "--endpoint", self.endpoint],
                           cwd=ROOT, check=True)
        return self

    def __exit__(self, *exc):
        self.process.kill()
        self.process.wait()

    def reset(self):
        """Empties the emulator and sets it up again: moto keeps every request
        in memory and slows down after a few thousand."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=60).read()
        subprocess.run([str(self.python), "scripts/emulator.py", "setup", "--endpoint", self.endpoint],
                       cwd=ROOT, check=True)

    def sent_mail(self):
        """What SES has sent ({to, from, subject, body}, oldest first; scripts/emulator.py serves it)."""
        with urllib.request.urlopen(f"{self.endpoint}/_emulator/sent-mail", timeout=120) as answer:
            return json.loads(answer.read())

    def sent_messages(self):
        """How many mails SES has sent so far."""
        return len(self.sent_mail())


# --- the phases ----------------------------------------------------------------

def build(names):
    bins = [BASELINE, "pwctl", *names]
    command = ["cargo", "build", "--release", "--quiet"] + [a for n in bins for a in ("--bin", n)]
    subprocess.run(command, cwd=ROOT, check=True)
    return target_dir() / "release"


def cold_starts(server, release, names, rounds):
    env = service_environment()
    base_env = lambda_environment({"PATH": os.environ["PATH"]})
    subjects = [(BASELINE, event("GET", "/"), base_env)] + [(n, unauthenticated_event(n), env) for n in names]
    results = {name: {"ms": [], "init_ms": [], "cpu_ms": [], "faults": [], "statuses": collections.Counter(),
                      "rss_kib": []} for name, _, _ in subjects}
    for round_number in range(rounds):
        # Every other round runs the binaries in reverse order, so no binary
        # always follows the same neighbour (a ~5 % position effect was seen).
        ordered = subjects if round_number % 2 == 0 else subjects[::-1]
        for name, payload, subject_env in ordered:
            run = server.run(release / name, subject_env, lambda i, p=payload: p, count=1, timeout=30)
            if run.error:
                sys.exit(f"{name}: {run.error}")
            results[name]["ms"].append((run.first_answer_at - run.started) * 1000)
            results[name]["init_ms"].append((run.first_request_at - run.started) * 1000)
            results[name]["cpu_ms"].append(run.cpu_ms)
            results[name]["faults"].append(run.minor_faults)
            results[name]["statuses"].update(run.statuses)
            results[name]["rss_kib"].append(run.rss_after_first_kib)
    base = median(results[BASELINE]["ms"])
    base_cpu = median(results[BASELINE]["cpu_ms"])
    out = {}
    for name, r in results.items():
        out[name] = {
            "median_ms": median(r["ms"]),
            "p90_ms": percentile(r["ms"], 0.9),
            "ratio": median(r["ms"]) / base,
            "init_median_ms": median(r["init_ms"]),
            "cpu_median_ms": median(r["cpu_ms"]),
            "cpu_ratio": median(r["cpu_ms"]) / base_cpu,
            "minor_faults": median(r["faults"]),
            "statuses": {str(k): v for k, v in r["statuses"].items()},
            "rss_after_first_kib": median(r["rss_kib"]),
            "x86_64_bytes": (release / name).stat().st_size,
        }
    return out


def warm_memory(server, release, names, count, emulator):
    env = {**service_environment(), **RAISED_LIMITS}
    scenarios = Scenarios(env, release / "pwctl")
    out = {}
    for name in names:
        if emulator:
            emulator.reset()  # moto slows down as it keeps every request
        scenario = scenarios.factory(name) if emulator else None
        if scenario is None:
            scenario = ("unauthenticated request (no scenario)", lambda i, p=unauthenticated_event(name): p)
        description, make_event = scenario
        mails_before = emulator.sent_messages() if emulator else 0
        started = time.perf_counter()
        run = server.run(release / name, env, make_event, count=count, timeout=1800)
        elapsed = time.perf_counter() - started
        out[name] = {
            "scenario": description,
            "invocations": run.served,
            "statuses": {str(k): v for k, v in run.statuses.items()},
            "rss_after_first_kib": run.rss_after_first_kib,
            "rss_after_last_kib": run.rss_after_last_kib,
            "warm_p50_ms": median(run.latencies_ms[1:]),
            "warm_p99_ms": percentile(run.latencies_ms[1:], 0.99),
            "mails_sent": (emulator.sent_messages() - mails_before) if emulator else 0,
            "seconds": elapsed,
            "error": run.error,
        }
        r = out[name]
        print(f"  {name:>24}: {r['invocations']} events {r['statuses']} in {elapsed:.0f} s, RSS "
              f"{(r['rss_after_first_kib'] or 0) / 1024:.1f} → {(r['rss_after_last_kib'] or 0) / 1024:.1f} MiB"
              f"{'; ' + run.error if run.error else ''}", flush=True)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="cold starts per binary (interleaved)")
    parser.add_argument("--warm", type=int, default=1000, help="events served to one process for RSS (0: skip)")
    parser.add_argument("--only", help="comma-separated function crates (default: every crate under functions/)")
    parser.add_argument("--no-emulator", action="store_true", help="warm runs with the unauthenticated event only")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else function_crates()

    release = build(names)
    server = RuntimeServer(RUNTIME_PORT)
    print(f"cold start: {args.rounds} interleaved rounds of {len(names) + 1} binaries", flush=True)
    cold = cold_starts(server, release, names, args.rounds)
    warm = {}
    if args.warm:
        print(f"warm memory: {args.warm} events to one process per function", flush=True)
        if args.no_emulator:
            warm = warm_memory(server, release, names, args.warm, None)
        else:
            with Emulator(EMULATOR_PORT) as emulator:
                warm = warm_memory(server, release, names, args.warm, emulator)
    server.shutdown()

    result = {"measured_at": time.strftime("%Y-%m-%d %H:%M:%S %z"), "rounds": args.rounds,
              "warm_invocations": args.warm, "baseline": BASELINE, "cold": cold, "warm": warm}
    path = bench_dir() / "startup.json"
    path.write_text(json.dumps(result, indent=2))
    base = cold[BASELINE]["median_ms"]
    b = cold[BASELINE]
    print(f"hello-world lambda_http: median {base:.2f} ms (exec → first GET {b['init_median_ms']:.2f} ms); "
          f"CPU {b['cpu_median_ms']:.2f} ms, {b['minor_faults']:.0f} page faults")
    for name in names:
        c = cold[name]
        print(f"{name:>24}: median {c['median_ms']:6.2f} ms (exec → first GET {c['init_median_ms']:5.2f} ms), "
              f"p90 {c['p90_ms']:6.2f} ms, {c['ratio']:4.2f}x; CPU {c['cpu_median_ms']:.2f} ms "
              f"({c['cpu_ratio']:.2f}x), {c['minor_faults']:.0f} page faults (answered {c['statuses']})")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
