"""What the benchmark scripts share: where things are, which functions exist
(read from functions/ and the watch router, never from a list), API Gateway
events, and HS256 tokens as the local issuer mints them.

Standard library only, so `make bench` runs on the system Python.
"""

import json
import os
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests/fixtures/apigw-rest-proxy-request.json"


def target_dir():
    return Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))


def bench_dir():
    """Where measurements are written for the table and the capacity model."""
    path = target_dir() / "bench"
    path.mkdir(parents=True, exist_ok=True)
    return path


def figures_path():
    """The optional figures file another step (the in-process harness) writes:
    round trips, argon2 runs and warm handler times per outcome."""
    return Path(os.environ.get("BENCH_FIGURES", bench_dir() / "handler-figures.json"))


def read_json(path):
    path = Path(path)
    return json.loads(path.read_text()) if path.exists() else None


def routes():
    """function crate → (method, path template), from the watch router in Cargo.toml."""
    router = tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["metadata"]["lambda"]["watch"]["router"]
    found = {}
    for path, target in router.items():
        entries = [{"method": "GET", "function": target}] if isinstance(target, str) else target
        for entry in entries:
            found.setdefault(entry["function"], (entry.get("method", "GET"), path))
    return found


def function_crates():
    """Every crate under functions/, by package name (= binary name)."""
    names = []
    for manifest in sorted((ROOT / "functions").glob("*/Cargo.toml")):
        names.append(tomllib.loads(manifest.read_text())["package"]["name"])
    return names


def event(method, template, params=None, headers=None, body=None, query=None, source_ip="203.0.113.10"):
    """A REST API (v1) proxy event for `template` (e.g. /v2/users/{userId}/password)."""
    params = params or {}
    path = template
    for name, value in params.items():
        path = path.replace("{" + name + "}", value)
    e = json.loads(FIXTURE.read_text())
    e["httpMethod"] = e["requestContext"]["httpMethod"] = method
    e["path"] = path
    e["resource"] = e["requestContext"]["resourcePath"] = template
    e["requestContext"]["path"] = "/dev" + path
    e["requestContext"]["identity"]["sourceIp"] = source_ip
    e["pathParameters"] = params or None
    e["queryStringParameters"] = query or None
    e["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} if query else None
    for name, value in (headers or {}).items():
        e["headers"][name] = value
        e["multiValueHeaders"][name] = [value]
    if body is not None:
        e["body"] = body if isinstance(body, str) else json.dumps(body)
        e["headers"]["Content-Type"] = "application/json"
        e["multiValueHeaders"]["Content-Type"] = ["application/json"]
    return json.dumps(e).encode()


def rss_kib(pid):
    """Resident set size of a process, KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def median(values):
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return float("nan")
    return ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2


def percentile(values, fraction):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]
