"""Reads local.env, the local stack's settings, as cargo-lambda does: KEY=VALUE
lines, comments skipped, surrounding quotes removed; mints bearer tokens
from them (HS256, as `pwctl token` does) without a process per token; and
creates users with pwctl, the operator CLI."""

import base64
import hashlib
import hmac
import json
import subprocess
import time
from pathlib import Path

# The scope an admin's token carries for O1. The service's own value is a
# constant (shared/src/auth.rs, SCOPE_RESET_PASSWORD), not a setting, so
# local.env does not carry it.
ADMIN_SCOPE = "users:resetPassword"


def read_env_file(path):
    values = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            values[key.strip()] = value
    return values


def totp(secret_base32, at=None):
    """The code an authenticator app shows for `secret_base32` (RFC 6238:
    HMAC-SHA1, 30 s steps, 6 digits, as SPEC P5 names it)."""
    key = base64.b32decode(secret_base32 + "=" * (-len(secret_base32) % 8))
    counter = int((time.time() if at is None else at) // 30)
    mac = hmac.new(key, counter.to_bytes(8, "big"), hashlib.sha1).digest()
    offset = mac[-1] & 15
    return f"{(int.from_bytes(mac[offset:offset + 4], 'big') & 0x7FFFFFFF) % 1_000_000:06d}"


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint_token(settings, subject, scope=None, ttl=600, issued_at=None):
    """A JWT for `subject` signed with the stack's HS256 secret, as `pwctl
    token` mints it (iss, aud, sub, iat, exp, scope); issued now by default."""
    now = int(time.time()) if issued_at is None else issued_at
    claims = {
        "iss": settings["JWT_ISSUER"],
        "aud": settings["JWT_AUDIENCE"],
        "sub": subject,
        "iat": now,
        "exp": now + ttl,
    }
    if scope:
        claims["scope"] = scope
    signing_input = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + _b64(json.dumps(claims).encode())
    key = settings["JWT_HS256_SECRET"].encode()
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64(signature)


def pwctl_command(*command, env=None):
    """A function that runs pwctl as `command` (its binary, or `cargo run …
    --`) with the arguments it is given and returns pwctl's standard output;
    a failure raises CalledProcessError. `env` replaces the environment."""

    def pwctl(*args):
        return subprocess.run([*command, *args], env=env, check=True, capture_output=True, text=True).stdout

    return pwctl


def create_user(pwctl, email, *options):
    """The id of a user created by `pwctl user create --email EMAIL OPTIONS…`
    (e.g. "--password", "…", "--pin", "2468"), run by the caller's `pwctl`: a
    function of pwctl's arguments that returns its standard output, and
    raises where pwctl failed."""
    return json.loads(pwctl("user", "create", "--email", email, *options))["userId"]


# Settings the environment may give `make dev` beyond local.env's keys.
EXTRA_SETTINGS = ("JWT_JWKS_URL", "JWT_JWKS", "JWT_JWKS_REFRESH_SECONDS", "JWT_LEEWAY_SECONDS",
                  "REQUIRED_LINKED_IDENTITY", "SECRETS_REFRESH_SECONDS")
EXTRA_PREFIXES = ("RATE_LIMIT_",)


def dev_env(source, api_port, aws_port, environ):
    """local.env as `make dev` gives it to the functions: the emulator and the
    links on the stack's ports, and every setting the environment gives
    (`JWT_ISSUER=… JWT_JWKS_URL=… make dev`) over local.env's value; an empty
    one unsets it. The AWS endpoints and credentials come from the ports and
    local.env only: a test run's exports must not point the stack elsewhere."""
    values = read_env_file(source)
    for key in list(values):
        if key.startswith("AWS_ENDPOINT_URL_"):
            values[key] = f"http://127.0.0.1:{aws_port}"
        elif key in ("SET_PASSWORD_URL", "RESET_CODE_URL_TEMPLATE"):
            values[key] = values[key].replace("127.0.0.1:9000/", f"127.0.0.1:{api_port}/")
    # `make faults` tests the functions with AWS's own timeouts.
    if environ.get("FUNCTIONS_TIMEOUT_BUDGET"):
        values["AWS_TIMEOUT_BUDGET"] = environ["FUNCTIONS_TIMEOUT_BUDGET"]
    for key, value in environ.items():
        if key.startswith("AWS_"):
            continue
        if key in values or key in EXTRA_SETTINGS or key.startswith(EXTRA_PREFIXES):
            values[key] = value
    # Single quotes: dotenv readers take the value literally (JSON, '=' signs).
    return "".join(f"{key}='{value}'\n" for key, value in values.items())


if __name__ == "__main__":
    import os
    import sys

    if len(sys.argv) != 6 or sys.argv[1] != "dev-env":
        sys.exit("usage: local_env.py dev-env SOURCE TARGET API_PORT AWS_PORT")
    _, _, source, target, api_port, aws_port = sys.argv
    Path(target).write_text(dev_env(source, api_port, aws_port, os.environ))
