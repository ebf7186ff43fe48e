"""`make faults`: every flow, many times, while scripts/fault_proxy.py injects
AWS-shaped faults between the functions and the emulator; after each call,
invariants checked from the store (pwctl, on the emulator directly) and the
captured mail. Run by scripts/faults.sh, which starts the stack.

Checked:
  - every answer is documented for its route (openapi/, or SPEC for P7 and
    the RPC paths) and in its family's error shape; never a bare 502;
  - nothing half-written: a token consumed ⇔ the password set; a PIN failure
    counted ⇔ the answer said so; data deleted ⇔ its audit event and a 410;
  - the user's sequence equals the newest audit event, the trail gapless;
  - no duplicate notice for one change (per user and kind, at most one mail
    per audit event of that kind);
  - the exact-once races (20 confirms of one link, 50 wrong PINs, 20 uses of
    one Z code, a right device OTP sent 17 times beside 3 wrong PINs) still
    exact with faults on, and raced: the function's executions, read from
    its metrics lines in the stack's log, overlapped (make dev runs several
    processes of each function);
  - P5 with a device OTP: a right code is never counted as wrong, its replay
    is refused (422 otp-already-used) and not counted, and the data is never
    deleted without four genuinely wrong proofs;
  - each placed scenario's faults fired, each on the operation it names.

Ends with `faults: N requests, K faults injected, V violations`.
"""

import argparse
import itertools
import json
import os
import random
import re
import subprocess
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import base64

import requests
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from local_env import ADMIN_SCOPE, create_user, mint_token, read_env_file, totp  # noqa: E402
from race_overlap import executions, most_at_once  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
_passwords = itertools.count()


def new_password():
    # next() on a count is atomic: the races call it from many threads.
    return f"fault tolerant passphrase {next(_passwords)} {uuid.uuid4().hex[:6]}"

# Statuses of the routes no OpenAPI document describes: ZITADEL's RPC paths.
UNDOCUMENTED = {
    # Connect unary: the gRPC codes of Z1/Z2 by Connect's HTTP mapping.
    ("POST", "/zitadel.user.v2.UserService/PasswordReset"): {200, 400, 401, 403, 404, 409, 429, 500, 503},
    ("POST", "/zitadel.user.v2.UserService/SetPassword"): {200, 400, 401, 403, 404, 409, 429, 500, 503},
}
# Mail subjects (en) of the notices, by the audit event they follow.
NOTICES = {
    "Your password was set": "user.password.set",
    "Your password was changed": "user.password.changed",
    "Your password was reset": "user.password.reset",
    "Your saved payment methods were removed": "user.critical_data.deleted",
}
# Each: the faults of one kind, on every operation they fit, at this rate.
FAULT_MIX = [
    ("dynamodb", "TransactWriteItems", "conflict"),
    ("dynamodb", "*", "throughput"),
    ("dynamodb", "*", "throttle"),
    ("dynamodb", "*", "internal"),
    ("dynamodb", "*", "reset"),
    ("dynamodb", "*", "reset-after"),
    ("dynamodb", "*", "delay"),
    ("ses", "SendEmail", "throttle"),
    ("ses", "SendEmail", "rejected"),
    ("ses", "SendEmail", "internal"),
    ("ses", "SendEmail", "reset-after"),
    ("ses", "SendEmail", "delay"),
]


def nth(service, op, *faults):
    """Rules that inject `faults` into the first matching calls, in order."""
    return [{"service": service, "operation": op, "fault": f, "nth": 1} for f in faults]


# Faults placed where they hurt most, each once per run, before the random mix.
SCENARIOS = [
    # A wrong PIN's transaction: the first attempt lands late, after the SDK
    # gave up on it and the retries met 500s (the outcome unknown).
    ("p5", nth("dynamodb", "TransactWriteItems", "delay", "internal", "internal")),
    # The answer to an applied transaction lost: the SDK's retry under the
    # same ClientRequestToken must not apply it twice.
    ("p1_p2", nth("dynamodb", "TransactWriteItems", "reset-after")),
    ("p5", nth("dynamodb", "TransactWriteItems", "reset-after")),
    ("z_rest", nth("dynamodb", "TransactWriteItems", "reset-after", "reset-after")),
    ("o1", nth("dynamodb", "TransactWriteItems", "conflict", "conflict")),
    # The first attempt lands late, behind a conflict the store resubmits
    # after (P7 DELETE answered 404 for a device it had removed).
    ("o1", nth("dynamodb", "TransactWriteItems", "delay", "conflict", "delay")),
    ("p4", nth("dynamodb", "TransactWriteItems", "delay", "conflict", "delay")),
    ("p4", nth("dynamodb", "TransactWriteItems", "conflict", "conflict", "conflict", "conflict")),
    # Rate-limit counters and single writes (no idempotency token).
    ("o1", nth("dynamodb", "UpdateItem", "reset-after")),
    ("p1_p2", nth("dynamodb", "UpdateItem", "reset-after")),
    ("z_rpc", nth("dynamodb", "*", "throttle", "throughput", "reset")),
    # P7's calls read the user and the wrong-password counter in one
    # BatchGetItem (never a GetItem).
    ("p7", nth("dynamodb", "BatchGetItem", "delay", "delay", "delay")),
    ("p6", nth("dynamodb", "*", "internal", "internal", "internal")),
    # A notice's SendEmail: applied but the answer lost, late, refused.
    ("p1_p2", nth("ses", "SendEmail", "reset-after")),
    ("p4", nth("ses", "SendEmail", "delay")),
    ("z_rest", nth("ses", "SendEmail", "throttle")),
    # P6 mails no notice: the refused notice goes to P7's enrolment.
    ("p7", nth("ses", "SendEmail", "rejected")),
    # A right device OTP (none wrong before it, or two): its accept is a
    # transaction under one ClientRequestToken. Applied but the answer lost,
    # late past the attempt timeout, met by a conflict: the code is accepted
    # once (204), never counted as wrong, and its replay is refused uncounted.
    ("p5_otp_first", nth("dynamodb", "TransactWriteItems", "reset-after")),
    ("p5_otp_first", nth("dynamodb", "TransactWriteItems", "delay")),
    ("p5_otp_first", nth("dynamodb", "TransactWriteItems", "conflict")),
    ("p5_otp_after_two", nth("dynamodb", "TransactWriteItems", "reset-after")),
    ("p5_otp_after_two", nth("dynamodb", "TransactWriteItems", "delay")),
    ("p5_otp_after_two", nth("dynamodb", "TransactWriteItems", "conflict")),
]

# The function each race calls: its executions must overlap.
RACED = {
    "race_confirms": "set-password-confirm",
    "race_pins": "password-reset-callback",
    "race_code": "change-password",
    "race_otp": "password-reset-callback",
}


def documented_statuses():
    routes = dict(UNDOCUMENTED)
    for document in (ROOT / "openapi").glob("*.yaml"):
        for path, operations in yaml.safe_load(document.read_text())["paths"].items():
            for method, operation in operations.items():
                if isinstance(operation, dict) and "responses" in operation:
                    routes[(method.upper(), path)] = {int(s) for s in operation["responses"]}
    return routes


class Run:
    def __init__(self, args):
        self.base = args.api.rstrip("/")
        self.emulator = args.emulator.rstrip("/")
        self.proxy = args.proxy.rstrip("/")
        self.settings = read_env_file(args.env_file)
        self.routes = documented_statuses()
        self.http = requests.Session()
        self.http.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=64))
        self.requests = 0
        self.violations = []
        self.rate = args.rate
        self.users = {}  # id → email
        self.rules = []
        env = dict(os.environ)
        for service in ("DYNAMODB", "SESV2", "SECRETS_MANAGER"):
            env[f"AWS_ENDPOINT_URL_{service}"] = self.emulator
        self.pwctl_env = env
        self.pwctl_bin = args.pwctl
        self.dev_log = args.dev_log

    # -- the stack ------------------------------------------------------------

    def pwctl(self, *args):
        """pwctl on the emulator itself. Tried up to three times: the busy
        single-threaded emulator can outlast the SDK's attempt timeout, and
        moto ignores the retry's ClientRequestToken (a user created by the
        first attempt fails the retry's conditions)."""
        for _ in range(3):
            out = subprocess.run(
                [self.pwctl_bin, "--env-file", str(ROOT / "local.env"), *args],
                env=self.pwctl_env,
                capture_output=True,
                text=True,
            )
            if out.returncode == 0:
                return out.stdout
        raise RuntimeError(f"pwctl {args[0]} {args[1] if len(args) > 1 else ''}: {out.stderr.strip()}")

    def user(self, password=None, pin=None, payment=True, otp_secret=None):
        email = f"faults.{uuid.uuid4().hex[:12]}@example.com"
        options = []
        if password:
            options += ["--password", password]
        if pin:
            options += ["--pin", pin]
        if otp_secret:
            options += ["--otp-secret", otp_secret]
        if payment:
            options += ["--payment-method", "tok_visa_4242"]
        user_id = create_user(self.pwctl, email, *options)
        self.users[user_id] = email
        return user_id

    def show(self, user_id):
        return json.loads(self.pwctl("user", "show", user_id))

    def audit(self, user_id):
        return json.loads(self.pwctl("audit", user_id))

    def mails(self, **to):
        """What SES has sent ({to, from, subject, body}, oldest first): all of
        it, or `to=` one address's (scripts/emulator.py serves it)."""
        return self.http.get(f"{self.emulator}/_emulator/sent-mail", params=to, timeout=60).json()

    def mails_to(self, email):
        return self.mails(to=email)

    def random_faults(self):
        self.rules = [
            {"service": service, "operation": op, "fault": fault, "probability": self.rate}
            for service, op, fault in FAULT_MIX
        ]
        self.faults_on()

    def faults_on(self):
        self.http.put(f"{self.proxy}/__faults/rules", json=self.rules, timeout=10).raise_for_status()

    def pause(self):
        """No faults for a check; the rules keep their counts."""
        self.http.post(f"{self.proxy}/__faults/pause", timeout=10).raise_for_status()

    def resume(self):
        self.http.post(f"{self.proxy}/__faults/resume", timeout=10).raise_for_status()

    def faults_off(self):
        self.rules = []
        self.faults_on()

    def stats(self):
        return self.http.get(f"{self.proxy}/__faults/stats", timeout=10).json()

    def check_fired(self, name, rules):
        """A placed scenario tests nothing unless its faults fired where it
        says: each rule at least once, on its named operation (the proxy
        counts per rule since the rules were set)."""
        fired = self.stats()["rules"]
        for index, (rule, seen) in enumerate(zip(rules, fired)):
            if seen["fired"] < 1:
                self.violation(
                    f"scenario {name}: fault {index + 1} ({rule['fault']} on {rule['service']}:{rule['operation']}) "
                    "never fired: the flow no longer makes that call there"
                )

    # -- calls and their shapes -----------------------------------------------

    def call(self, method, path, route, user=None, scope=None, body=None, params=None, rpc=False):
        headers = {"Content-Type": "application/json"}
        if user:
            headers["Authorization"] = "Bearer " + mint_token(self.settings, user, scope)
        self.requests += 1
        try:
            answer = self.http.request(
                method, self.base + path, headers=headers, json=body, params=params, timeout=30
            )
        except requests.RequestException as error:
            self.violation(f"{method} {route}: no answer ({error})")
            return 0, {}
        self.check_shape(method, route, answer, rpc)
        try:
            parsed = answer.json() if answer.content else {}
        except ValueError:
            parsed = {}
        return answer.status_code, parsed

    def check_shape(self, method, route, answer, rpc):
        status = answer.status_code
        where = f"{method} {route} → {status}"
        if status not in self.routes[(method, route)]:
            self.violation(f"{where}: not a documented status: {answer.text[:200]}")
            return
        if status < 400:
            return
        media = answer.headers.get("Content-Type", "")
        try:
            body = answer.json()
        except ValueError:
            self.violation(f"{where}: not JSON ({media}): {answer.text[:200]}")
            return
        if rpc:
            ok = media.startswith("application/json") and isinstance(body.get("code"), str) and "message" in body
        elif route.startswith("/user") or route.startswith("/callbacks"):
            errors = body.get("errors") or [{}]
            ok = media.startswith("application/vnd.api+json") and all(
                e.get("status") == str(status) and e.get("code") and e.get("id") for e in errors
            )
        elif route.startswith("/v2/"):
            ok = media.startswith("application/json") and isinstance(body.get("code"), int) and "message" in body
        else:
            ok = media.startswith("application/json") and body.get("code") == status and "message" in body
        if not ok:
            self.violation(f"{where}: not the family's error shape ({media}): {answer.text[:200]}")

    def violation(self, text):
        self.violations.append(text)
        print(f"VIOLATION {text}", flush=True)

    # -- store invariants -----------------------------------------------------

    def trail(self, user_id):
        """(user, audit events oldest first), after checking sequence ⇔ trail."""
        user = self.show(user_id)
        events = sorted(self.audit(user_id), key=lambda e: e["sequence"])
        sequences = [e["sequence"] for e in events]
        if sequences and sequences != list(range(sequences[0], sequences[0] + len(sequences))):
            self.violation(f"user {user_id}: audit trail has gaps or repeats: {sequences}")
        if sequences and sequences[-1] != user["sequence"]:
            self.violation(f"user {user_id}: sequence {user['sequence']} but newest event {sequences[-1]}")
        return user, events

    def new_events(self, before, after):
        seen = {e["sequence"] for e in before}
        return [e["type"] for e in after if e["sequence"] not in seen]

    def expect_change(self, label, user_id, status, ok, before, event):
        """After a change call: its event appended iff the answer says done;
        an error answer (5xx) may stand for either, but never half of it."""
        user, after = self.trail(user_id)
        added = self.new_events(before, after)
        if status == ok and event not in added:
            self.violation(f"{label}: answered {status} but no {event} event (new: {added})")
        if status not in (ok,) and status < 500 and event in added:
            self.violation(f"{label}: answered {status} but {event} was recorded")
        if added.count(event) > 1:
            self.violation(f"{label}: {event} recorded {added.count(event)} times for one call")
        return user, after, added

    # -- the flows ------------------------------------------------------------

    def p1_p2(self):
        """P1 link by mail, P2 confirm: token consumed ⇔ password set."""
        user_id = self.user()
        email = self.users[user_id]
        status, _ = self.call("PUT", "/user/password", "/user/password", user=user_id)
        links = [m for m in self.mails_to(email) if "token=" in m["body"]]
        if status == 202 and not links:
            self.violation("P1: 202 but no link mailed")
        if status != 202 or not links:
            # The mail goes out before the link is stored: after an error the
            # mailed link may never have become live (set_password.rs).
            return
        token = re.findall(r"token=([A-Za-z0-9_-]+)", links[-1]["body"])[-1]
        _, before = self.trail(user_id)
        body = {"token": token, "password": new_password()}
        status, _ = self.call("POST", "/user/password/confirm", "/user/password/confirm", body=body)
        user, _, _ = self.expect_change("P2", user_id, status, 204, before, "user.password.set")
        # The link once more, faults off: spent iff the password is set.
        self.pause()
        again, _ = self.call("POST", "/user/password/confirm", "/user/password/confirm", body=body)
        self.resume()
        # 429: the invalid-link limit of this address, refusing only invalid links.
        if user["hasPassword"] and again not in (410, 409, 429):
            self.violation(f"P2: password set but the link answered {again} again (not consumed)")
        # P1 answered 202: the link was live, so a 410 for its first use is
        # never right, and when nothing was set the link must still work.
        if not user["hasPassword"] and status == 410:
            self.violation("P2: the first use of a fresh link answered 410 and no password was set")
        elif not user["hasPassword"] and again != 204:
            self.violation(
                f"P2: answered {status}, the password not set, and the link then answered {again} (consumed?)"
            )

    def p6(self):
        password = new_password()
        user_id = self.user(password=password)
        _, before = self.trail(user_id)
        status, _ = self.call("PUT", "/user/pin", "/user/pin", user=user_id, body={"pin": "2468", "password": password})
        user, _, _ = self.expect_change("P6", user_id, status, 204, before, "user.pin.set")
        if status == 204 and not user["pinSet"]:
            self.violation("P6: 204 but no PIN")

    def p5(self):
        """Wrong PINs up to the deletion, then the right one, or skip."""
        user_id = self.user(password=new_password(), pin="1357")
        for attempt in range(6):
            user, before = self.trail(user_id)
            counted = user["pinFailures"]
            status, body = self.call(
                "POST", "/callbacks/password-reset", "/callbacks/password-reset", user=user_id, body={"pin": "0000"}
            )
            after, events = self.trail(user_id)
            added = self.new_events(before, events)
            if status == 422:
                remaining = body["errors"][0]["meta"]["remainingAttempts"]
                if after["pinFailures"] != counted + 1 or remaining != 3 - after["pinFailures"]:
                    self.violation(
                        f"P5: 422 remaining {remaining}, failures {counted} → {after['pinFailures']}"
                    )
            elif status == 410:
                if after["criticalDataDeletedAt"] is None or after["paymentMethods"] != 0:
                    self.violation("P5: 410 but the data is not deleted")
                if user["criticalDataDeletedAt"] is None and "user.critical_data.deleted" not in added:
                    self.violation("P5: data deleted without its audit event")
            elif status >= 500:
                if after["pinFailures"] != counted and "user.critical_data.deleted" not in added:
                    self.violation(f"P5: {status} but the failure counted ({counted} → {after['pinFailures']})")
            if after["criticalDataDeletedAt"] is not None and user["criticalDataDeletedAt"] is None and status not in (
                410,
                501,
            ):
                self.violation(f"P5: data deleted but the answer was {status}")
            if status == 410:
                break
        right = self.user(pin="1357")
        _, before = self.trail(right)
        choice = random.choice([{"pin": "1357"}, {"skip": True}])
        status, _ = self.call("POST", "/callbacks/password-reset", "/callbacks/password-reset", user=right, body=choice)
        if "skip" in choice:
            self.expect_change("P5 skip", right, status, 204, before, "user.critical_data.deleted")
        else:
            after = self.show(right)
            if status not in (204,) and status < 500:
                self.violation(f"P5: the right PIN answered {status}")
            if after["pinFailures"] != 0 or after["criticalDataDeletedAt"] is not None:
                self.violation(
                    f"P5: the right PIN answered {status}, failures {after['pinFailures']}, "
                    f"deleted at {after['criticalDataDeletedAt']}"
                )
            if status == 204 and after["paymentMethods"] != 1:
                self.violation("P5: the right PIN answered 204 but the data is gone")

    def p5_otp(self, wrong=None):
        """A right device OTP after `wrong` (0–2) genuinely wrong PINs, then
        the same code again. A right code is never counted as wrong; the
        replay is refused (otp-already-used) and not counted; the data is
        never deleted (fewer than four wrong proofs)."""
        wrong = random.randint(0, 2) if wrong is None else wrong
        secret = base64.b32encode(os.urandom(20)).decode().rstrip("=")
        user_id = self.user(pin="1357", otp_secret=secret)
        self.pause()
        for _ in range(wrong):
            status, _ = self.call(
                "POST", "/callbacks/password-reset", "/callbacks/password-reset", user=user_id, body={"pin": "0000"}
            )
            if status != 422:
                self.violation(f"P5 OTP: a wrong PIN without faults answered {status}")
        self.resume()
        failures = self.show(user_id)["pinFailures"]
        code = totp(secret)
        status, body = self.call(
            "POST", "/callbacks/password-reset", "/callbacks/password-reset", user=user_id, body={"otp": code}
        )
        after = self.check_otp_answer("P5 OTP", user_id, status, body, failures, first_use=True)
        # After an error answer the accept may or may not have landed.
        accepted = status == 204 or after["pinFailures"] == 0 < failures
        # The replay without faults: a placed scenario's faults are for the
        # accept, and must not be taken by the replay's writes instead.
        self.pause()
        status, body = self.call(
            "POST", "/callbacks/password-reset", "/callbacks/password-reset", user=user_id, body={"otp": code}
        )
        self.resume()
        self.check_otp_answer("P5 OTP replayed", user_id, status, body, after["pinFailures"], first_use=False)
        if accepted and status == 204:
            self.violation("P5 OTP: a replay of an accepted code answered 204")

    def check_otp_answer(self, label, user_id, status, body, failures, first_use):
        """After a right code: 204 (a first use), 422 otp-already-used with
        the remaining attempts (a replay), or an error; never counted, never
        a deletion. `failures`: the counter before the call."""
        user, _ = self.trail(user_id)
        error = (body.get("errors") or [{}])[0] if status >= 400 else {}
        if status == 422 and error.get("code") == "otp-already-used":
            remaining = error.get("meta", {}).get("remainingAttempts")
            if first_use:
                self.violation(f"{label}: a first use answered as a replay")
            if remaining != 3 - user["pinFailures"]:
                self.violation(f"{label}: otp-already-used with remaining {remaining}, failures {user['pinFailures']}")
        elif status != 204 and status < 500:
            self.violation(f"{label}: a right code answered {status} {error.get('code')}")
        if status == 204 and user["pinFailures"] != 0:
            self.violation(f"{label}: 204 but {user['pinFailures']} failures left counted")
        if user["pinFailures"] > failures:
            self.violation(f"{label}: a right code was counted as wrong ({failures} → {user['pinFailures']})")
        if user["criticalDataDeletedAt"] is not None or user["paymentMethods"] != 1:
            self.violation(f"{label}: the data was deleted with fewer than four wrong proofs")
        return user

    def p4(self):
        password = new_password()
        user_id = self.user(password=password, pin="1357")
        _, before = self.trail(user_id)
        with_pin = random.random() < 0.5
        status, _ = self.call(
            "PUT",
            "/user/password/reset",
            "/user/password/reset",
            user=user_id,
            body={"password": new_password()},
            params={"pin": "1357"} if with_pin else None,
        )
        user, _, added = self.expect_change("P4", user_id, status, 204, before, "user.password.reset")
        deleted = "user.critical_data.deleted" in added
        if with_pin and deleted:
            self.violation("P4: the right PIN but the data was deleted")
        if not with_pin and ("user.password.reset" in added) != deleted:
            self.violation(f"P4 without a PIN: the reset and the deletion not together ({added})")

    def p7(self):
        password = new_password()
        user_id = self.user(password=password)
        _, before = self.trail(user_id)
        status, body = self.call("POST", "/user/otp", "/user/otp", user=user_id, body={"password": password})
        self.expect_change("P7 POST", user_id, status, 201, before, "user.otp.enrolment.started")
        if status != 201:
            return
        secret = body.get("secret") or body.get("data", {}).get("attributes", {}).get("secret")
        if not secret:
            self.violation(f"P7: 201 without a secret: {sorted(body)}")
            return
        _, before = self.trail(user_id)
        status, _ = self.call("PUT", "/user/otp", "/user/otp", user=user_id, body={"code": totp(secret)})
        user, _, _ = self.expect_change("P7 PUT", user_id, status, 204, before, "user.otp.activated")
        if status == 204 and not user["otpSet"]:
            self.violation("P7: activated but no device")
        _, before = self.trail(user_id)
        status, _ = self.call("DELETE", "/user/otp", "/user/otp", user=user_id, body={"password": password})
        self.expect_change("P7 DELETE", user_id, status, 204, before, "user.otp.removed")

    def z(self, rpc):
        """Z1 a code returned to an admin, Z2 the user sets a password with it."""
        user_id = self.user(password=new_password())
        if rpc:
            route = "/zitadel.user.v2.UserService/PasswordReset"
            status, body = self.call(
                "POST", route, route, user="faults-admin", scope=ADMIN_SCOPE,
                body={"userId": user_id, "returnCode": {}}, rpc=True,
            )
        else:
            route = "/v2/users/{userId}/password_reset"
            status, body = self.call(
                "POST", f"/v2/users/{user_id}/password_reset", route, user="faults-admin", scope=ADMIN_SCOPE,
                body={"returnCode": {}},
            )
        self.trail(user_id)
        code = body.get("verificationCode")
        if status != 200 or not code:
            return
        _, before = self.trail(user_id)
        change = {"newPassword": {"password": new_password()}, "verificationCode": code}
        if rpc:
            route = "/zitadel.user.v2.UserService/SetPassword"
            status, body = self.call("POST", route, route, user=user_id, body={"userId": user_id, **change}, rpc=True)
        else:
            route = "/v2/users/{userId}/password"
            status, body = self.call("POST", f"/v2/users/{user_id}/password", route, user=user_id, body=change)
        user, _, _ = self.expect_change("Z2", user_id, status, 200, before, "user.password.changed")
        if status == 200 and str(body.get("details", {}).get("sequence")) != str(user["sequence"]):
            self.violation(f"Z2: details.sequence {body.get('details')} but the user's is {user['sequence']}")

    def o1(self):
        user_id = self.user(password=new_password())
        _, before = self.trail(user_id)
        status, _ = self.call(
            "POST", f"/v1/users/{user_id}/reset-password", "/v1/users/{user_id}/reset-password",
            user=f"faults-admin-{random.randrange(1000)}", scope=ADMIN_SCOPE, body={"new_password": new_password()},
        )
        user, _, _ = self.expect_change("O1", user_id, status, 204, before, "user.password.reset")
        if status == 204 and not user["changeRequired"]:
            self.violation("O1: 204 but changeRequired not set")

    # -- the races, faults on -------------------------------------------------

    def concurrently(self, count, method, path, route, body, **kwargs):
        """The statuses of `count` calls at once; `body()` makes each body."""
        def one(_):
            return self.call(method, path, route, body=body(), **kwargs)[0]

        with ThreadPoolExecutor(max_workers=count) as pool:
            return list(pool.map(one, range(count)))

    def raced(self, name, race):
        """Runs a race and checks from the stack's log that the function's
        executions overlapped: a stack serving one call at a time would
        only prove sequential exactness."""
        since = time.time() * 1000
        race()
        until = time.time() * 1000
        if not self.dev_log:
            return
        function = RACED[name]
        for _ in range(25):  # the router relays the functions' output as it comes
            seen = executions(self.dev_log, function, since, until)
            most = most_at_once(seen)
            if most >= 2:
                break
            time.sleep(0.2)
        print(f"{name}: {len(seen)} executions of {function}, at most {most} at once", flush=True)
        if most < 2:
            self.violation(f"{name}: the executions of {function} never overlapped (served one at a time)")

    def race_otp(self):
        """A right device OTP sent 17 times at once beside 3 wrong PINs: at
        most one 204 (exactly one when none failed), the others refused as
        replays and not counted; three wrong proofs never delete the data."""
        secret = base64.b32encode(os.urandom(20)).decode().rstrip("=")
        user_id = self.user(pin="1357", otp_secret=secret)
        code = totp(secret)
        bodies = [{"otp": code}] * 17 + [{"pin": "0000"}] * 3
        random.shuffle(bodies)

        def one(body):
            return body, self.call(
                "POST", "/callbacks/password-reset", "/callbacks/password-reset", user=user_id, body=body
            )

        with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
            answers = list(pool.map(one, bodies))
        user, events = self.trail(user_id)
        otp = Counter()
        for body, (status, answer) in answers:
            code_ = (answer.get("errors") or [{}])[0].get("code") if status >= 400 else None
            if "otp" in body:
                otp[f"{status} {code_}" if code_ else str(status)] += 1
                if status not in (204,) and status < 500 and code_ != "otp-already-used":
                    self.violation(f"race of OTP replays: a right code answered {status} {code_}")
            elif status not in (422,) and status < 500:
                self.violation(f"race of OTP replays: a wrong PIN answered {status} {code_}")
        accepted = otp["204"]
        failed = sum(n for k, n in otp.items() if k[0] == "5")
        if accepted > 1 or (accepted == 0 and not failed):
            self.violation(f"race of OTP replays: {accepted} accepted of one right code: {dict(otp)}")
        if user["pinFailures"] > 3 or user["criticalDataDeletedAt"] is not None or user["paymentMethods"] != 1:
            self.violation(
                f"race of OTP replays: failures {user['pinFailures']}, deleted at {user['criticalDataDeletedAt']} "
                f"after three wrong PINs: {dict(otp)}"
            )
        if any(e["type"] == "user.critical_data.deleted" for e in events):
            self.violation("race of OTP replays: a deletion event after three wrong PINs")

    def race_confirms(self):
        user_id = self.user()
        self.pause()
        status, _ = self.call("PUT", "/user/password", "/user/password", user=user_id)
        self.resume()
        links = [m for m in self.mails_to(self.users[user_id]) if "token=" in m["body"]]
        if status != 202 or not links:
            self.violation(f"race: P1 without faults answered {status}")
            return
        token = re.findall(r"token=([A-Za-z0-9_-]+)", links[-1]["body"])[-1]
        answers = self.concurrently(
            20, "POST", "/user/password/confirm", "/user/password/confirm",
            lambda: {"token": token, "password": new_password()},
        )
        user, events = self.trail(user_id)
        sets = [e for e in events if e["type"] == "user.password.set"]
        if answers.count(204) > 1 or len(sets) > 1 or (answers.count(204) == 1 and len(sets) != 1):
            self.violation(f"race of 20 confirms: answers {Counter(answers)}, {len(sets)} password.set events")
        if any(a not in (204, 410, 429, 501) for a in answers):
            self.violation(f"race of 20 confirms: answers {Counter(answers)}")

    def race_pins(self):
        user_id = self.user(pin="1357")
        answers = self.concurrently(
            50, "POST", "/callbacks/password-reset", "/callbacks/password-reset", lambda: {"pin": "0000"}, user=user_id
        )
        user, events = self.trail(user_id)
        deletions = [e for e in events if e["type"] == "user.critical_data.deleted"]
        wrong = answers.count(422)
        if wrong > 3 or len(deletions) > 1 or any(a not in (422, 410, 501) for a in answers):
            self.violation(f"race of 50 wrong PINs: answers {Counter(answers)}, {len(deletions)} deletions")
        if deletions and (wrong != 3 or user["paymentMethods"] != 0):
            self.violation(f"race of 50 wrong PINs: deleted after {wrong} 'wrong' answers: {Counter(answers)}")
        if 410 in answers and not deletions:
            self.violation("race of 50 wrong PINs: 410 but nothing deleted")

    def race_code(self):
        user_id = self.user(password=new_password())
        self.pause()
        status, body = self.call(
            "POST", f"/v2/users/{user_id}/password_reset", "/v2/users/{userId}/password_reset",
            user="faults-admin", scope=ADMIN_SCOPE, body={"returnCode": {}},
        )
        self.resume()
        code = body.get("verificationCode")
        if status != 200 or not code:
            self.violation(f"race: Z1 without faults answered {status}")
            return
        answers = self.concurrently(
            20, "POST", f"/v2/users/{user_id}/password", "/v2/users/{userId}/password",
            lambda: {"newPassword": {"password": new_password()}, "verificationCode": code}, user=user_id,
        )
        _, events = self.trail(user_id)
        changes = [e for e in events if e["type"] == "user.password.changed"]
        if answers.count(200) > 1 or len(changes) > 1 or (answers.count(200) == 1 and len(changes) != 1):
            self.violation(f"race of 20 code uses: answers {Counter(answers)}, {len(changes)} changes")

    # -- mail -----------------------------------------------------------------

    def check_notices(self):
        """At most one notice per change: per user and kind, no more mails
        than audit events of that kind."""
        sent = Counter()
        for mail in self.mails():
            kind = NOTICES.get(mail["subject"])
            for to in mail["to"]:
                if kind:
                    sent[(to, kind)] += 1
        by_email = {email: user_id for user_id, email in self.users.items()}
        for (to, kind), count in sent.items():
            if to not in by_email:
                continue
            events = [e for e in self.audit(by_email[to]) if e["type"] == kind]
            if count > len(events):
                self.violation(f"{to}: {count} '{kind}' notices for {len(events)} changes")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--api", required=True)
    parser.add_argument("--emulator", required=True)
    parser.add_argument("--proxy", required=True)
    parser.add_argument("--env-file", required=True)
    parser.add_argument("--pwctl", required=True)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--races", type=int, default=2, help="rounds of the three races")
    parser.add_argument("--rate", type=float, default=0.02, help="probability of each kind of fault")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--only", help="comma-separated flows to run (names as in FLOWS), to chase one")
    parser.add_argument("--dev-log", help="the stack's log (make dev's output), to see the races overlap")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(10**6)
    random.seed(seed)
    run = Run(args)
    started = time.time()
    run.http.post(f"{run.proxy}/__faults/stats", timeout=10)
    flows = {
        "p1_p2": run.p1_p2,
        "p6": run.p6,
        "p5": run.p5,
        "p4": run.p4,
        "p7": run.p7,
        "z_rest": lambda: run.z(False),
        "z_rpc": lambda: run.z(True),
        "o1": run.o1,
        "p5_otp": run.p5_otp,
    }
    races = {
        "race_confirms": run.race_confirms,
        "race_pins": run.race_pins,
        "race_code": run.race_code,
        "race_otp": run.race_otp,
    }
    placed = dict(flows, p5_otp_first=lambda: run.p5_otp(0), p5_otp_after_two=lambda: run.p5_otp(2))
    scenarios = SCENARIOS
    if args.only:
        names = args.only.split(",")
        flows = {n: f for n, f in flows.items() if n in names}
        races = {n: f for n, f in races.items() if n in names}
        scenarios = [s for s in SCENARIOS if s[0] in names or s[0].startswith("p5_otp_") and "p5_otp" in names]
    for name, rules in scenarios:
        run.rules = rules
        run.faults_on()
        placed[name]()
        run.check_fired(name, rules)
    print(f"scenarios: {len(scenarios)}, {run.requests} requests, {len(run.violations)} violations", flush=True)
    run.random_faults()
    for round_ in range(args.rounds):
        for flow in flows.values():
            flow()
        if round_ < args.races:
            for name, race in races.items():
                run.raced(name, race)
        print(f"round {round_ + 1}/{args.rounds}: {run.requests} requests, {len(run.violations)} violations", flush=True)
    run.faults_off()
    run.check_notices()
    stats = run.stats()
    injected = sum(stats["injected"].values())
    print(f"seed {seed}; {time.time() - started:.0f} s; injected: {json.dumps(stats['injected'], sort_keys=True)}")
    print(f"faults: {run.requests} requests, {injected} faults injected, {len(run.violations)} violations")
    sys.exit(0 if injected > 0 and not run.violations else 1)


if __name__ == "__main__":
    main()
