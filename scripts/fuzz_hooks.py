"""Schemathesis hooks for scripts/fuzz.sh: a valid bearer token on every
request that needs one, and the ids of real users in the path often enough
that the fuzzer reaches past the access checks.

fuzz.sh creates the users and passes them in FUZZ_USERS (JSON: role → id);
the token settings come from the stack's env file (FUZZ_ENV_FILE). Tokens are
minted per request (HS256, as `pwctl token` does), so a password change made
by one fuzzed request (which ends older sessions) does not turn every later
request into a 401.
"""

import json
import itertools
import os
import sys
from pathlib import Path

import schemathesis
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))
from local_env import ADMIN_SCOPE, mint_token, read_env_file  # noqa: E402

SETTINGS = read_env_file(os.environ["FUZZ_ENV_FILE"])
# Role → ids of users in the state that role needs (fuzz.sh creates a few of
# each, so that one user's rate limits and PIN lockout leave the others open).
USERS = json.loads(os.environ["FUZZ_USERS"])
ADMINS = [f"fuzz-admin-{n}" for n in range(20)]

# Family P acts on the caller: each operation has users of its own.
P_ROLES = {
    ("PUT", "/user/password"): "p1",
    ("PUT", "/user/password/reset"): "p4",
    ("POST", "/callbacks/password-reset"): "p5",
    ("PUT", "/user/pin"): "p6",
    ("POST", "/user/otp"): "p7",
    ("PUT", "/user/otp"): "p7",
    ("DELETE", "/user/otp"): "p7",
}
# The path parameter of families Z and O and the users it should often name.
PATH_USERS = {"userId": USERS["z"], "user_id": USERS["o"]}
_turn = itertools.count()


def caller(case):
    """(subject, scope) of the token for this case: a user of the operation's
    role in turn for family P; for Z the user the path names (for a
    generated id, the first Z user, a stranger to it); for O one admin of
    many in turn."""
    key = (case.operation.method.upper(), case.operation.path)
    if key in P_ROLES:
        users = USERS[P_ROLES[key]]
        return users[next(_turn) % len(users)], None
    if "userId" in (case.path_parameters or {}):
        named = case.path_parameters["userId"]
        return (named if named in USERS["z"] else USERS["z"][0]), None
    if "user_id" in (case.path_parameters or {}):
        return ADMINS[next(_turn) % len(ADMINS)], ADMIN_SCOPE
    return None


@schemathesis.auth(refresh_interval=None)
class FreshBearerToken:
    """A token for the operation's caller, minted for each request."""

    def get(self, case, context):
        return True

    def set(self, case, data, context):
        who = caller(case)
        if who is not None:
            case.headers = case.headers or {}
            case.headers["Authorization"] = "Bearer " + mint_token(SETTINGS, *who)


@schemathesis.hook
def flatmap_path_parameters(context, path_parameters):
    """Most cases name one of the real users instead of the generated id."""
    choices = [path_parameters]
    for name, user_ids in PATH_USERS.items():
        if name in (path_parameters or {}):
            choices += [{**path_parameters, name: user_id} for user_id in user_ids]
    return st.sampled_from(choices)


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
