"""DynamoDB round trips, argon2 runs and warm handler time per outcome of every
function, read from the metrics line each invocation writes.

Each outcome is driven through the function's release binary on the local
Lambda Runtime API of scripts/cold_start.py, with the store and the mailer on
the emulator (BENCH_EMULATOR_PORT, default 4750): one process per outcome
serves one warm-up event and then --events events (default 50). Every
invocation writes one EMF line (shared/src/metrics.rs) with
`dynamodb_round_trips`, `argon2_ms`, `argon2Runs`, `email_sent` and
`handlerMs`; the figures are taken from those lines, not from the code:

- RT, argon2, mails: per event; one value when all events agree, else
  "min–max";
- p50 / p99 ms: the handler's time minus its argon2 time (the store and the
  mailer on the emulator; the emulator, moto on one thread, is slower than
  DynamoDB and SES and is the larger part of these times).

Rate limits are raised except where the outcome is the limit itself. The
emulator is emptied between groups of outcomes (moto slows down as it keeps
every request).

    python3 scripts/outcomes.py [--events N] [--only FUNCTION,...]

Writes $CARGO_TARGET_DIR/bench/handler-figures.json, which
scripts/bench_table.py and scripts/capacity.py read.
"""

import argparse
import base64
import collections
import json
import re
import secrets
import sys
import tempfile
import time

from bench_common import event, figures_path, median, percentile, routes
from local_env import ADMIN_SCOPE, create_user, mint_token, pwctl_command, totp
from cold_start import EMULATOR_PORT, RAISED_LIMITS, RUNTIME_PORT, Emulator, RuntimeServer, build, service_environment

PASSWORD = "amber-harbor-lighthouse-7"
PIN, WRONG_PIN = "2468", "1357"
RPC = "/zitadel.user.v2.UserService/"


def chained(i):
    """Password number i of a chain: event i sets chained(i + 1)."""
    return f"quiet-meadow-tractor-{i}-bench"


def answer_body(answer):
    body = (answer or {}).get("body") or ""
    if (answer or {}).get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    try:
        return json.loads(body)
    except ValueError:
        return None


class Bench:
    def __init__(self, server, release, emulator, events):
        self.server, self.release, self.emulator, self.events = server, release, emulator, events
        self.env = {**service_environment(), **RAISED_LIMITS}
        self.pwctl = pwctl_command(str(release / "pwctl"), env=self.env)
        self.figures = collections.defaultdict(dict)
        self.flows = {}

    # --- arranging ---------------------------------------------------------

    def user(self, *options):
        email = f"bench-{time.time_ns()}@example.com"
        return create_user(self.pwctl, email, *options), email

    def users(self, count, *args):
        return [self.user(*args) for _ in range(count)]

    def bearer(self, subject, scope=None):
        return {"Authorization": f"Bearer {mint_token(self.env, subject, scope, ttl=3600)}"}

    def admin(self):
        return self.bearer("admin-bench", ADMIN_SCOPE)

    def request(self, function, body=None, user_id=None, headers=None, query=None, path=None, method=None):
        """An event for `function`'s route (or `path`), the path parameter set to `user_id`."""
        route_method, template = routes()[function]
        template = path or template
        params = {p.strip("{}"): user_id for p in template.split("/") if p.startswith("{")}
        return event(method or route_method, template, params, headers=headers, body=body, query=query)

    # --- measuring ---------------------------------------------------------

    def measure(self, function, outcome, make_event, expect, flow=None, count=None, env=None):
        """Serves `function` a warm-up event and `count` (default --events)
        more, each made by make_event(i) when served; returns the Run."""
        count = self.events if count is None else count
        with tempfile.TemporaryFile("w+") as log:
            run = self.server.run(self.release / function, {**self.env, **(env or {})}, make_event,
                                  count=count + 1, timeout=900, stdout=log)
            log.seek(0)
            lines = {}
            for line in log:
                if '"_aws"' in line:
                    document = json.loads(line)
                    lines[document.get("requestId")] = document
        if run.error:
            sys.exit(f"{function}, {outcome}: {run.error}")
        measured = [lines.get(f"bench-{n}") for n in range(2, count + 2)]
        missing = sum(1 for m in measured if m is None)
        measured = [m for m in measured if m is not None]
        statuses = collections.Counter(str(m.get("status")) for m in measured)

        def spread(key):
            values = [int(m.get(key, 0)) for m in measured]
            return {"min": min(values), "max": max(values)} if values else None

        own_ms = [m["handlerMs"] - m.get("argon2_ms", 0.0) for m in measured]
        figure = {
            "expected_status": expect,
            "statuses": dict(statuses),
            "events": len(measured),
            "round_trips": spread("dynamodb_round_trips"),
            "argon2_runs": spread("argon2Runs"),
            "emails": spread("email_sent"),
            "p50_ms": median(own_ms),
            "p99_ms": percentile(own_ms, 0.99),
            "argon2_ms_median": median([m.get("argon2_ms", 0.0) for m in measured]),
        }
        self.figures[function][outcome] = figure
        if flow:
            self.flows[flow] = {key: figure[key]["max"] for key in ("round_trips", "argon2_runs", "emails")}
        unexpected = {s: n for s, n in statuses.items() if s != str(expect)}
        rt, a2 = figure["round_trips"], figure["argon2_runs"]
        print(f"  {function:>24}  {outcome:<44} {dict(statuses)} RT {rt['min']}–{rt['max']} "
              f"argon2 {a2['min']}–{a2['max']} p50 {figure['p50_ms']:.2f} ms p99 {figure['p99_ms']:.2f} ms"
              f"{'  UNEXPECTED ' + str(unexpected) if unexpected else ''}"
              f"{'  ' + str(missing) + ' lines missing' if missing else ''}", flush=True)
        return run

    def unauthenticated(self, function, body=None):
        self.measure(function, "401 no token", lambda i: self.request(function, body=body, user_id="0" * 24), 401)

    # --- the outcomes, in groups (the emulator is emptied before each) -----

    def p1_p2_p3(self):
        n = self.events + 1
        fresh = self.users(n)
        run = self.measure("set-password-request", "202 link mailed",
                           lambda i: self.request("set-password-request", headers=self.bearer(fresh[i][0])),
                           202, flow="P1 request a set-password link")
        links = self.links({email for _, email in fresh})
        with_password, _ = self.user("--password", PASSWORD)
        self.measure("set-password-request", "409 password already set",
                     lambda i: self.request("set-password-request", headers=self.bearer(with_password)), 409)
        limited, _ = self.user()
        self.measure("set-password-request", "429 email limit (1 per hour here)",
                     lambda i: self.request("set-password-request", headers=self.bearer(limited)), 429,
                     env={"RATE_LIMIT_EMAILS_PER_HOUR": "1"})
        self.unauthenticated("set-password-request")
        tokens = [links[email] for _, email in fresh]
        assert len(tokens) == n == run.served, "a link per user"
        self.measure("set-password-confirm", "204 first password set",
                     lambda i: self.request("set-password-confirm", body={"token": tokens[i], "password": chained(i)}),
                     204, flow="P2 set the first password")
        self.measure("set-password-confirm", "410 unknown or used link",
                     lambda i: self.request("set-password-confirm", body={"token": tokens[i], "password": chained(i)}),
                     410, flow="P2 unknown or used link (410)")
        self.measure("set-password-page", "200 page", lambda i: self.request(
            "set-password-page", headers={"Accept": "text/html"}, query={"token": tokens[i]}), 200,
            flow="P3 set-password page")

    def links(self, emails):
        """The newest set-password link mailed to each address."""
        found = {}
        for message in self.emulator.sent_mail():
            for to in message["to"]:
                if to in emails:
                    match = re.search(r"token=([A-Za-z0-9_-]+)", message["body"])
                    if match:
                        found[to] = match.group(1)
        return found

    def p4(self):
        user, _ = self.user("--password", chained(0), "--pin", PIN, "--payment-method", "pm_bench")
        self.measure("password-reset-with-pin", "204 right PIN", lambda i: self.request(
            "password-reset-with-pin", headers=self.bearer(user), body={"password": chained(i + 1), "pin": PIN}),
            204, flow="P4 reset with the right PIN")
        users = self.users((self.events + 3) // 3, "--password", PASSWORD, "--pin", PIN)
        self.measure("password-reset-with-pin", "403 wrong PIN (3 per user)", lambda i: self.request(
            "password-reset-with-pin", headers=self.bearer(users[i // 3][0]),
            body={"password": chained(i), "pin": WRONG_PIN}), 403)
        plain, _ = self.user("--password", chained(0), "--payment-method", "pm_bench")
        self.measure("password-reset-with-pin", "204 no PIN: payment methods deleted", lambda i: self.request(
            "password-reset-with-pin", headers=self.bearer(plain), body={"password": chained(i + 1)}), 204)
        self.unauthenticated("password-reset-with-pin", body={"password": PASSWORD})

    def p5(self):
        user, _ = self.user("--password", PASSWORD, "--pin", PIN, "--payment-method", "pm_bench")
        self.measure("password-reset-callback", "204 right PIN", lambda i: self.request(
            "password-reset-callback", headers=self.bearer(user), body={"pin": PIN}), 204,
            flow="P5 callback, right PIN")
        # Three wrong PINs per user; the next one deletes the user's data.
        users = self.users((self.events + 3) // 3, "--pin", PIN, "--payment-method", "pm_bench")
        self.measure("password-reset-callback", "422 wrong PIN (3 per user)", lambda i: self.request(
            "password-reset-callback", headers=self.bearer(users[i // 3][0]), body={"pin": WRONG_PIN}), 422,
            flow="P5 callback, wrong PIN (422)")
        armed = users[:(self.events + 1) // 3]  # those given all three
        if len(armed) > 1:
            self.measure("password-reset-callback", "410 4th wrong PIN: data deleted", lambda i: self.request(
                "password-reset-callback", headers=self.bearer(armed[i][0]), body={"pin": WRONG_PIN}), 410,
                count=len(armed) - 1)
            self.measure("password-reset-callback", "410 locked (after the deletion)", lambda i: self.request(
                "password-reset-callback", headers=self.bearer(armed[0][0]), body={"pin": PIN}), 410)
        seeds = [base64.b32encode(secrets.token_bytes(20)).decode() for _ in range(self.events + 1)]
        otp_users = [self.user("--otp-secret", seed, "--payment-method", "pm_bench")[0] for seed in seeds]
        self.measure("password-reset-callback", "204 right device OTP", lambda i: self.request(
            "password-reset-callback", headers=self.bearer(otp_users[i]), body={"otp": totp(seeds[i])}), 204)
        skipper, _ = self.user("--pin", PIN, "--payment-method", "pm_bench")
        self.measure("password-reset-callback", "204 skip: data deleted", lambda i: self.request(
            "password-reset-callback", headers=self.bearer(skipper), body={"skip": True}), 204)
        self.unauthenticated("password-reset-callback", body={"pin": PIN})

    def p6_p7(self):
        user, _ = self.user("--password", PASSWORD)
        self.measure("set-pin", "204 PIN set with the password", lambda i: self.request(
            "set-pin", headers=self.bearer(user), body={"pin": PIN, "password": PASSWORD}), 204,
            flow="P6 set a PIN (user with a password)")
        self.measure("set-pin", "403 wrong password", lambda i: self.request(
            "set-pin", headers=self.bearer(user), body={"pin": PIN, "password": "not-" + PASSWORD}), 403)
        self.unauthenticated("set-pin", body={"pin": PIN})
        users = self.users(self.events + 1, "--password", PASSWORD)
        run = self.measure("user-otp", "201 enrolment started (with the password)", lambda i: self.request(
            "user-otp", headers=self.bearer(users[i][0]), body={"password": PASSWORD}), 201, flow="P7 start an enrolment")
        seeds = [(answer_body(a) or {}).get("data", {}).get("attributes", {}).get("secret") for a in run.answers]
        self.measure("user-otp", "204 device activated", lambda i: self.request(
            "user-otp", method="PUT", headers=self.bearer(users[i][0]), body={"code": totp(seeds[i] or "A")}), 204,
            flow="P7 activate the device")
        self.measure("user-otp", "204 device removed (with the password)", lambda i: self.request(
            "user-otp", method="DELETE", headers=self.bearer(users[i][0]), body={"password": PASSWORD}), 204)
        self.unauthenticated("user-otp", body={"password": PASSWORD})

    def z1_z2(self):
        user, _ = self.user("--password", PASSWORD)
        self.measure("password-reset-code", "200 code mailed (REST)", lambda i: self.request(
            "password-reset-code", user_id=user, headers=self.bearer(user), body={"sendLink": {}}), 200,
            flow="Z1 reset code by email")
        self.measure("password-reset-code", "200 code mailed (RPC PasswordReset, Connect JSON)",
                     lambda i: self.request("password-reset-code", path=RPC + "PasswordReset", method="POST",
                                            headers=self.bearer(user), body={"userId": user, "sendLink": {}}), 200)
        users = self.users(self.events + 1)
        run = self.measure("password-reset-code", "200 code returned to an admin", lambda i: self.request(
            "password-reset-code", user_id=users[i][0], headers=self.admin(), body={"returnCode": {}}), 200)
        codes = [(answer_body(a) or {}).get("verificationCode") for a in run.answers]
        self.unauthenticated("password-reset-code", body={"sendLink": {}})

        owner, _ = self.user("--password", chained(0))
        self.measure("change-password", "200 with the current password (REST)", lambda i: self.request(
            "change-password", user_id=owner, headers=self.bearer(owner),
            body={"newPassword": {"password": chained(i + 1)}, "currentPassword": chained(i)}), 200,
            flow="Z2 change with the current password")
        rpc_owner, _ = self.user("--password", chained(0))
        self.measure("change-password", "200 with the current password (RPC SetPassword)",
                     lambda i: self.request("change-password", path=RPC + "SetPassword", method="POST",
                                            headers=self.bearer(rpc_owner),
                                            body={"userId": rpc_owner, "newPassword": {"password": chained(i + 1)},
                                                  "currentPassword": chained(i)}), 200)
        self.measure("change-password", "200 with a reset code", lambda i: self.request(
            "change-password", user_id=users[i][0], headers=self.bearer(users[i][0]),
            body={"newPassword": {"password": chained(i)}, "verificationCode": codes[i] or "X"}), 200,
            flow="Z2 change with a reset code")
        self.measure("change-password", "200 by an admin, no proof", lambda i: self.request(
            "change-password", user_id=owner, headers=self.admin(),
            body={"newPassword": {"password": chained(1000 + i)}}), 200)
        self.measure("change-password", "400 wrong current password", lambda i: self.request(
            "change-password", user_id=owner, headers=self.bearer(owner),
            body={"newPassword": {"password": chained(i)}, "currentPassword": "not-the-password"}), 400,
            flow="Z2 wrong current password")
        self.unauthenticated("change-password", body={"newPassword": {"password": PASSWORD}})

    def o1(self):
        user, _ = self.user("--password", chained(0))
        self.measure("admin-reset-password", "204 reset by an admin", lambda i: self.request(
            "admin-reset-password", user_id=user, headers=self.admin(), body={"new_password": chained(i + 1)}), 204,
            flow="O1 admin reset")
        self.unauthenticated("admin-reset-password", body={"new_password": PASSWORD})

    GROUPS = {
        "p1_p2_p3": ("set-password-request", "set-password-confirm", "set-password-page"),
        "p4": ("password-reset-with-pin",),
        "p5": ("password-reset-callback",),
        "p6_p7": ("set-pin", "user-otp"),
        "z1_z2": ("password-reset-code", "change-password"),
        "o1": ("admin-reset-password",),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50, help="measured events per outcome (after one warm-up)")
    parser.add_argument("--only", help="comma-separated function crates (default: all)")
    args = parser.parse_args()
    wanted = set(args.only.split(",")) if args.only else None

    groups = [g for g, functions in Bench.GROUPS.items() if wanted is None or wanted & set(functions)]
    names = sorted({f for g in groups for f in Bench.GROUPS[g]})
    release = build(names)
    server = RuntimeServer(RUNTIME_PORT)
    started = time.perf_counter()
    with Emulator(EMULATOR_PORT) as emulator:
        bench = Bench(server, release, emulator, args.events)
        for group in groups:
            emulator.reset()
            getattr(bench, group)()
    server.shutdown()

    path = figures_path()
    previous = json.loads(path.read_text()) if path.exists() and wanted else {}
    functions = previous.get("functions", {})
    for function, outcomes in bench.figures.items():
        functions[function] = {"outcomes": outcomes}
    result = {
        "source": (f"scripts/outcomes.py, {args.events} events per outcome after a warm-up, EMF lines of the release "
                   f"binaries, store and mailer on the emulator; p50/p99 = handler time minus argon2 time"),
        "measured_at": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "events": args.events,
        "functions": functions,
        "flows": {**previous.get("flows", {}), **bench.flows},
    }
    path.write_text(json.dumps(result, indent=2))
    print(f"written to {path} ({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
