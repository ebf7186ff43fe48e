"""Cold start of a Lambda bootstrap, measured without AWS.

A small Lambda Runtime API serves one API Gateway event on
`GET /2018-06-01/runtime/invocation/next`; the bootstrap is started with
AWS_LAMBDA_RUNTIME_API pointing at it, and the time from process start to the
`POST …/response` is one cold start. Functions are compared with a hello-world
lambda_http binary (tests/src/bin/baseline-lambda.rs) in the same run,
interleaved, so machine load affects both alike.

    python3 scripts/cold_start.py [ROUNDS]      (make bench)

Release binaries come from `cargo build --release`. The service's functions
are invoked with an event that needs no network (P1 without a token → 401), so
the figure is start-up plus one request; P2 with an empty body → 400.
"""

import json
import os
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from local_env import read_env_file

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests/fixtures/apigw-rest-proxy-request.json"


def event(method, path, body=None):
    e = json.loads(FIXTURE.read_text())
    e["httpMethod"] = e["requestContext"]["httpMethod"] = method
    e["path"] = e["resource"] = e["requestContext"]["resourcePath"] = path
    e["body"] = body
    return json.dumps(e).encode()


class Runtime(BaseHTTPRequestHandler):
    """One invocation per server: the event once, then record the response."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        server = self.server
        if server.served:
            time.sleep(30)  # the process is killed long before
            return
        server.served = True
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", "bench-1")
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 10_000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-central-1:123456789012:function:bench")
        self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
        self.send_header("Content-Length", str(len(server.event)))
        self.end_headers()
        self.wfile.write(server.event)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        self.server.answered_at = time.perf_counter()
        self.server.answer = (self.path, body)
        self.server.done.set()
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()


def cold_start(binary, payload, env):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Runtime)
    server.served, server.event, server.done, server.answer = False, payload, threading.Event(), None
    threading.Thread(target=server.serve_forever, daemon=True).start()
    full_env = dict(env)
    full_env.update(
        AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{server.server_address[1]}",
        AWS_LAMBDA_FUNCTION_NAME="bench",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE="512",
        AWS_LAMBDA_FUNCTION_VERSION="1",
        AWS_LAMBDA_LOG_STREAM_NAME="bench",
        AWS_LAMBDA_LOG_GROUP_NAME="bench",
        RUST_LOG="warn",
    )
    started = time.perf_counter()
    process = subprocess.Popen([str(binary)], env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not server.done.wait(10):
            sys.exit(f"{binary.name} did not answer within 10 s")
        elapsed_ms = (server.answered_at - started) * 1000
    finally:
        process.kill()
        process.wait()
        server.shutdown()
    path, body = server.answer
    if not path.endswith("/response"):
        sys.exit(f"{binary.name} reported an error: {path} {body[:200]!r}")
    return elapsed_ms, json.loads(body).get("statusCode")


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    subprocess.run(
        ["cargo", "build", "--release", "--quiet", "--bin", "baseline-lambda",
         "--bin", "set-password-request", "--bin", "set-password-confirm"],
        cwd=ROOT, check=True,
    )
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release"
    env = {"PATH": os.environ["PATH"], **read_env_file(ROOT / "local.env")}
    subjects = [
        ("baseline-lambda", event("GET", "/"), {"PATH": os.environ["PATH"]}),
        ("set-password-request", event("PUT", "/user/password"), env),
        ("set-password-confirm", event("POST", "/user/password/confirm", "{}"), env),
    ]
    times = {name: [] for name, _, _ in subjects}
    statuses = {}
    for _ in range(rounds):
        for name, payload, subject_env in subjects:
            ms, status = cold_start(target / name, payload, subject_env)
            times[name].append(ms)
            statuses[name] = status
    base = statistics.median(times["baseline-lambda"])
    print(f"cold start, process start → response posted; {rounds} interleaved rounds, release build")
    for name, _, _ in subjects:
        t = sorted(times[name])
        median = statistics.median(t)
        print(
            f"{name:>22}: median {median:6.2f} ms, p90 {t[int(len(t) * 0.9) - 1]:6.2f} ms, "
            f"{median / base:4.2f}x baseline (answered {statuses[name]}), "
            f"binary {(target / name).stat().st_size / 1_048_576:.1f} MiB"
        )


if __name__ == "__main__":
    main()
