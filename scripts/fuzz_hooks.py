"""Schemathesis hooks for scripts/fuzz.sh: a valid bearer token on every
request that needs one, and the ids of real users in the path often enough
that the fuzzer reaches past the access checks.

fuzz.sh creates the users and passes them in FUZZ_USERS (JSON: role → id);
the token settings come from the stack's env file (FUZZ_ENV_FILE). Tokens are
minted per request (HS256, as `pwctl token` does), so a password change made
by one fuzzed request (which ends older sessions) does not turn every later
request into a 401.
"""

import base64
import hashlib
import hmac
import json
import os
import sys
import time
from pathlib import Path

import schemathesis
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))
from local_env import read_env_file  # noqa: E402

SETTINGS = read_env_file(os.environ["FUZZ_ENV_FILE"])
USERS = json.loads(os.environ["FUZZ_USERS"])
ADMIN_SUBJECT = "fuzz-admin"
ADMIN_SCOPE = "users:resetPassword"

# (method, path template) → (subject, scope) of the token that operation gets:
# family P acts on the caller, so each operation has a user of its own in the
# state it needs; family Z the user themself; family O an admin.
CALLERS = {
    ("PUT", "/user/password"): (USERS["p1"], None),
    ("PUT", "/user/password/reset"): (USERS["p4"], None),
    ("POST", "/callbacks/password-reset"): (USERS["p5"], None),
    ("PUT", "/user/pin"): (USERS["p6"], None),
    ("POST", "/v2/users/{userId}/password_reset"): (USERS["z"], None),
    ("POST", "/v2/users/{userId}/password"): (USERS["z"], None),
    ("POST", "/v1/users/{user_id}/reset-password"): (ADMIN_SUBJECT, ADMIN_SCOPE),
}

# The path parameter of each family and the user it should often name.
PATH_USERS = {"userId": USERS["z"], "user_id": USERS["o"]}


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint_token(subject, scope):
    now = int(time.time())
    claims = {
        "iss": SETTINGS["JWT_ISSUER"],
        "aud": SETTINGS["JWT_AUDIENCE"],
        "sub": subject,
        "iat": now,
        "exp": now + 600,
    }
    if scope:
        claims["scope"] = scope
    signing_input = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + _b64(json.dumps(claims).encode())
    key = SETTINGS["JWT_HS256_SECRET"].encode()
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64(signature)


@schemathesis.auth(refresh_interval=None)
class FreshBearerToken:
    """A token for the operation's caller, minted for each request."""

    def get(self, case, context):
        return CALLERS.get((case.operation.method.upper(), case.operation.path))

    def set(self, case, data, context):
        if data is None:
            return
        case.headers = case.headers or {}
        case.headers["Authorization"] = "Bearer " + mint_token(*data)


@schemathesis.hook
def flatmap_path_parameters(context, path_parameters):
    """Half the cases name the real user instead of a generated id."""
    if not path_parameters:
        return st.just(path_parameters)
    real = dict(path_parameters)
    for name, user_id in PATH_USERS.items():
        if name in real:
            real[name] = user_id
    return st.sampled_from([path_parameters, real])


@schemathesis.hook
def filter_body(context, body):
    """Leaves out bodies that are not UTF-8. The local router (`cargo lambda
    watch` 1.9.2) answers those itself with a 500 and never invokes the
    function (TOOLCHAIN.md, "Local router quirks"); the function answers 400."""
    if isinstance(body, (bytes, bytearray)):
        try:
            bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            return False
    return True
