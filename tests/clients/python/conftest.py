"""What every test of ZITADEL's Python SDK against this service needs: the
API's address, users and tokens made with pwctl (the operator CLI, over the
same configuration as the stack), and the SDK's clients.

Environment: API_URL (default http://127.0.0.1:9000); PWCTL, a built pwctl
binary (else `cargo run -q --bin pwctl --`); PWCTL_ENV_FILE, the settings
file of the stack under test (else pwctl's default, local.env)."""

import html
import json
import os
import secrets
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

# authlib, which the SDK imports, warns about its own module at import time
# (and forces its warnings on, so a filter does not hold): set it aside.
with warnings.catch_warnings(record=True):
    import zitadel_client
    from zitadel_client.auth.no_auth_authenticator import NoAuthAuthenticator

ROOT = Path(__file__).resolve().parents[3]
API_URL = os.environ.get("API_URL", "http://127.0.0.1:9000").rstrip("/")

# The admin scope and pwctl's user create have one home, with the scripts'.
# Appended, so that no script's module shadows a package the tests import.
sys.path.append(str(ROOT / "scripts"))
from local_env import ADMIN_SCOPE, create_user  # noqa: E402


def pwctl(*args):
    command = [os.environ["PWCTL"]] if os.environ.get("PWCTL") else ["cargo", "run", "-q", "--bin", "pwctl", "--"]
    if os.environ.get("PWCTL_ENV_FILE"):
        command += ["--env-file", os.environ["PWCTL_ENV_FILE"]]
    done = subprocess.run(command + list(args), cwd=ROOT, capture_output=True, text=True, check=True)
    return done.stdout.strip()


class User:
    """A user of the stack under test, with a password, and their SDK client."""

    def __init__(self, name, password):
        self.email = f"{name}.{secrets.token_hex(4)}@example.com"
        self.password = password
        self.id = create_user(pwctl, self.email, "--password", password)

    def token(self):
        # A fresh one each time: a password change ends the sessions of
        # tokens issued before it.
        return pwctl("token", self.id)

    def client(self):
        return zitadel_client.Zitadel.with_access_token(API_URL, self.token())

    def show(self):
        return json.loads(pwctl("user", "show", self.id))

    def mails(self):
        """The captured mail, each body as a mail client shows it: the
        emulator keeps the HTML part, whose links escape `&` as `&amp;`."""
        mails = json.loads(pwctl("mail", "list", "--to", self.email))
        return [{**mail, "body": html.unescape(mail["body"])} for mail in mails]


def fresh_password(label="new"):
    return f"{label} lantern orchard {secrets.token_hex(3)}"


@pytest.fixture
def user(request):
    return User(request.node.name.replace("_", "-")[:30], fresh_password("first"))


@pytest.fixture
def admin():
    """A caller with the admin scope; not a user of the service."""
    return zitadel_client.Zitadel.with_access_token(API_URL, pwctl("token", secrets.token_hex(12), "--scope", ADMIN_SCOPE))


@pytest.fixture
def anonymous():
    return zitadel_client.Zitadel(NoAuthAuthenticator(API_URL))
