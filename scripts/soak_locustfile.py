"""`make soak`'s load (Locust): each simulated client owns one user of the
service (created with pwctl when it starts) and calls every endpoint in a
realistic mix: mostly proofs and changes of a known password or PIN, some
set-password links and pages, admin resets and family Z's REST and RPC paths.
Each client keeps its user's current password, so its calls are the ones a
real client would make; rate limits still answer 429 where the mix exceeds
them (each counted by status). At the end it prints the requests, the
statuses and p50/p99 latency, and writes them as JSON to SOAK_SUMMARY.

Environment: SOAK_ENV_FILE (the stack's settings, for tokens), SOAK_PWCTL
(the pwctl binary, pointed at the emulator), SOAK_SUMMARY.
"""

import base64
import json
import os
import random
import sys
import uuid
from collections import Counter
from pathlib import Path

from locust import HttpUser, between, events, task

sys.path.insert(0, str(Path(__file__).resolve().parent))
from local_env import ADMIN_SCOPE, create_user, mint_token, pwctl_command, read_env_file, totp  # noqa: E402

SETTINGS = read_env_file(os.environ["SOAK_ENV_FILE"])
pwctl = pwctl_command(os.environ["SOAK_PWCTL"])
STATUSES = Counter()
LATENCIES_MS = []


def new_password():
    return f"soak passphrase {uuid.uuid4().hex[:10]}"


@events.request.add_listener
def count(request_type, name, response_time, response, exception, **kwargs):
    STATUSES[getattr(response, "status_code", 0) if exception is None or response is not None else 0] += 1
    LATENCIES_MS.append(response_time)


@events.test_stop.add_listener
def summary(environment, **kwargs):
    latencies = sorted(LATENCIES_MS)
    total = len(latencies)

    def percentile(p):
        return round(latencies[min(total - 1, int(p * total))], 1) if total else None

    result = {
        "requests": total,
        "statuses": {str(k): v for k, v in sorted(STATUSES.items())},
        "p50_ms": percentile(0.50),
        "p99_ms": percentile(0.99),
    }
    Path(os.environ["SOAK_SUMMARY"]).write_text(json.dumps(result))


class Client(HttpUser):
    wait_time = between(0.2, 1.0)

    def on_start(self):
        self.email = f"soak.{uuid.uuid4().hex[:12]}@example.com"
        self.password = new_password()
        self.user_id = create_user(
            pwctl, self.email, "--password", self.password, "--pin", "1357", "--payment-method", "tok_visa_4242"
        )
        # A user without a password, for set-password links.
        self.linkless = create_user(pwctl, f"soak.{uuid.uuid4().hex[:12]}@example.com")

    def bearer(self, subject=None, scope=None):
        return {"Authorization": "Bearer " + mint_token(SETTINGS, subject or self.user_id, scope)}

    def admin(self):
        # One of many admins (a support team), each under its own limit of
        # 30 resets a minute.
        return self.bearer(f"soak-admin-{random.randrange(100)}", ADMIN_SCOPE)

    def changed(self, response, password):
        if response.status_code in (200, 204):
            self.password = password

    @task(10)
    def prove_pin(self):
        self.client.post(
            "/callbacks/password-reset", json={"pin": "1357"}, headers=self.bearer(), name="P5 right PIN"
        )

    @task(6)
    def set_pin(self):
        self.client.put(
            "/user/pin", json={"pin": "1357", "password": self.password}, headers=self.bearer(), name="P6 set PIN"
        )

    @task(4)
    def reset_with_pin(self):
        password = new_password()
        response = self.client.put(
            "/user/password/reset", params={"pin": "1357"}, json={"password": password},
            headers=self.bearer(), name="P4 reset with PIN",
        )
        self.changed(response, password)

    @task(4)
    def z_code_and_set(self):
        answer = self.client.post(
            f"/v2/users/{self.user_id}/password_reset", json={"returnCode": {}},
            headers=self.admin(), name="Z1 code (REST)",
        )
        if answer.status_code != 200:
            return
        password = new_password()
        response = self.client.post(
            f"/v2/users/{self.user_id}/password",
            json={"newPassword": {"password": password}, "verificationCode": answer.json()["verificationCode"]},
            headers=self.bearer(), name="Z2 set with code (REST)",
        )
        self.changed(response, password)

    @task(4)
    def z_rpc_change(self):
        password = new_password()
        response = self.client.post(
            "/zitadel.user.v2.UserService/SetPassword",
            json={"userId": self.user_id, "newPassword": {"password": password}, "currentPassword": self.password},
            headers=self.bearer(), name="Z2 SetPassword (Connect)",
        )
        self.changed(response, password)

    @task(2)
    def z_rpc_code(self):
        self.client.post(
            "/zitadel.user.v2.UserService/PasswordReset", json={"userId": self.user_id, "returnCode": {}},
            headers=self.admin(), name="Z1 PasswordReset (Connect)",
        )

    @task(3)
    def admin_reset(self):
        password = new_password()
        response = self.client.post(
            f"/v1/users/{self.user_id}/reset-password", json={"new_password": password},
            headers=self.admin(), name="O1 admin reset",
        )
        self.changed(response, password)

    @task(2)
    def otp(self):
        enrol = self.client.post(
            "/user/otp", json={"password": self.password}, headers=self.bearer(), name="P7 enrol OTP"
        )
        if enrol.status_code != 201:
            return
        body = enrol.json()
        secret = body.get("secret") or body.get("data", {}).get("attributes", {}).get("secret")
        self.client.put("/user/otp", json={"code": totp(secret)}, headers=self.bearer(), name="P7 activate OTP")
        self.client.delete(
            "/user/otp", json={"password": self.password}, headers=self.bearer(), name="P7 remove OTP"
        )

    @task(2)
    def set_password_link(self):
        self.client.put("/user/password", headers=self.bearer(self.linkless), name="P1 request link")

    @task(3)
    def page_and_stale_link(self):
        token = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
        self.client.get("/user/password/set", params={"token": token}, name="P3 page")
        self.client.post(
            "/user/password/confirm", json={"token": token, "password": new_password()}, name="P2 unknown link"
        )

    @task(1)
    def wrong_pin(self):
        # Rare: a wrong PIN; the right one next clears it (before the fourth).
        self.client.post(
            "/callbacks/password-reset", json={"pin": "0000"}, headers=self.bearer(), name="P5 wrong PIN"
        )
        self.client.post(
            "/callbacks/password-reset", json={"pin": "1357"}, headers=self.bearer(), name="P5 right PIN"
        )
