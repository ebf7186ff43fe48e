"""Drives a client generated from openapi/p-user-api.yaml (openapi-python-client)
against the local stack, as a client team would: the set-password flow by
emailed link (P1 → email → P2), a PIN (P6) and the recovery callback (P5).
Each step prints the status and the parsed answer; a step that answers
otherwise than documented fails the script. Run by scripts/client-demo.sh.

Environment: DEMO_BASE_URL (the stack), and pwctl reachable with cargo.
"""

import os
import re
import sys
import uuid

from p_user_api_client import AuthenticatedClient, Client
from p_user_api_client.api.pin_recovery import prove_password_reset_callback, set_pin
from p_user_api_client.api.set_password import confirm_set_password, request_set_password_link
from p_user_api_client.models import (
    ConfirmationPending,
    PinChange,
    PinInvalidDocument,
    CallbackProof,
    SetPasswordConfirmation,
    TokenInvalidDocument,
    UnauthorizedDocument,
)

from local_env import create_user, pwctl_command

BASE_URL = os.environ["DEMO_BASE_URL"]
PASSWORD = "correct horse battery staple"
pwctl = pwctl_command("cargo", "run", "-q", "--bin", "pwctl", "--")


def step(name, response, status, model):
    parsed = response.parsed
    ok = response.status_code == status and isinstance(parsed, model)
    print(f"{'ok ' if ok else 'FAIL'} {name}: {response.status_code} {type(parsed).__name__}")
    if not ok:
        print(response.content.decode(errors="replace"))
        sys.exit(1)
    return parsed


def main():
    email = f"client.demo.{uuid.uuid4().hex[:8]}@example.com"
    user_id = create_user(pwctl, email)
    user = AuthenticatedClient(base_url=BASE_URL, token=pwctl("token", user_id).strip())
    anonymous = Client(base_url=BASE_URL)

    pending = step("P1 request a link", request_set_password_link.sync_detailed(client=user), 202, ConfirmationPending)
    print(f"     meta.status={pending.meta.status} linkExpiresAt={pending.meta.link_expires_at.isoformat()}")

    link = re.findall(r"token=([A-Za-z0-9_-]+)", pwctl("mail", "list", "--to", email))[-1]
    confirmation = SetPasswordConfirmation(token=link, password=PASSWORD)
    step("P2 set the password", confirm_set_password.sync_detailed(client=anonymous, body=confirmation), 204, type(None))
    spent = step(
        "P2 the same link again",
        confirm_set_password.sync_detailed(client=anonymous, body=confirmation),
        410,
        TokenInvalidDocument,
    )
    print(f"     errors[0].code={spent.errors[0].code.value} source.pointer={spent.errors[0].source.pointer}")

    step("P6 set a PIN", set_pin.sync_detailed(client=user, body=PinChange(pin="1357", password=PASSWORD)), 204, type(None))
    wrong = step(
        "P5 a wrong PIN",
        prove_password_reset_callback.sync_detailed(client=user, body=CallbackProof(pin="0000")),
        422,
        PinInvalidDocument,
    )
    print(f"     errors[0].code={wrong.errors[0].code.value} meta.remainingAttempts={wrong.errors[0].meta.remaining_attempts}")
    step(
        "P5 the right PIN",
        prove_password_reset_callback.sync_detailed(client=user, body=CallbackProof(pin="1357")),
        204,
        type(None),
    )
    refused = step("P1 without a token", request_set_password_link.sync_detailed(client=anonymous), 401, UnauthorizedDocument)
    print(f"     errors[0].code={refused.errors[0].code.value}")
    print("The generated client works against the local stack.")


if __name__ == "__main__":
    main()
