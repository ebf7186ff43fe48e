"""Reads local.env, the local stack's settings, as cargo-lambda does: KEY=VALUE
lines, comments skipped, surrounding quotes removed; and mints bearer tokens
from them (HS256, as `pwctl token` does) without a process per token."""

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path


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
