"""Capacity and cost model: per million of each flow, Lambda GB-seconds at the
template's memory, DynamoDB on-demand request units, SES messages, and the
list price; then the concurrency a stage needs at 100 password changes per
second and which limit binds first.

    python3 scripts/capacity.py          (make bench prints it)

Inputs:
1. the figures file ($CARGO_TARGET_DIR/bench/handler-figures.json, or
   BENCH_FIGURES, written by scripts/outcomes.py): per flow the MEASURED
   DynamoDB round trips, argon2 runs and emails (from the functions' metrics
   lines); src "measured". Its "assumptions" and "prices", where present,
   replace the defaults below key by key.
2. $CARGO_TARGET_DIR/bench/argon2.json (scripts/argon2_speed.py): ms of CPU
   per hash at a full vCPU, measured here.
3. OPERATIONS below: which DynamoDB operations each flow makes, read from the
   code (shared/src/flows/, shared/src/store/dynamodb/), for the request
   units, which the metrics lines do not carry. A flow whose measured round
   trips differ from its list is marked "code≠" and named in a warning: the
   list is then stale. Without a figures file every count comes from the
   lists (src "code").

Units: a strongly consistent read of an item up to 4 KB is 1 RRU (GetItem,
and each key of a BatchGetItem; a key not found is assumed to cost the same
minimum); a write of an item up to 1 KB is 1 WRU (UpdateItem, DeleteItem,
including a conditional write that fails); each item of TransactWriteItems
is 2 WRU, ConditionCheck included. Every item here is under 1 KB.
"""

import re
import sys

from bench_common import ROOT, bench_dir, figures_path, read_json

# The operations several flows make, each costed once: (operation, RRU, WRU).
GET_USER = ("GetItem user", 1, 0)
GET_TOKEN = ("GetItem token", 1, 0)
TAKE_EMAIL_UNIT = ("UpdateItem take email unit", 0, 1)
GET_USER_AND_PIN_COUNTER = ("BatchGetItem user + PIN counter", 2, 0)
GET_USER_AND_WRONG_SECRETS = ("BatchGetItem user + wrong-secret count", 2, 0)
GET_USER_CODE_AND_WRONG_SECRETS = ("BatchGetItem user, code, wrong-secret count", 3, 0)
WRITE_USER_AUDIT = ("TransactWriteItems user, audit", 0, 4)
WRITE_CHECK_USER_AUDIT = ("TransactWriteItems check, user, audit", 0, 6)

# Each flow's success path unless named otherwise. ops: (operation, RRU, WRU).
# "round trips" counts DynamoDB calls only; SES calls are "emails".
OPERATIONS = {
    "P1 request a set-password link": {
        "function": "set-password-request", "argon2_runs": 0, "emails": 1,
        "ops": [GET_USER, TAKE_EMAIL_UNIT,
                ("TransactWriteItems token + user pointer (first link; +2 WRU replacing one)", 0, 4)],
    },
    "P2 set the first password": {
        "function": "set-password-confirm", "argon2_runs": 1, "emails": 1,
        # The token names its user (sequence, email, locale): no user read,
        # and the invalid-link limit is taken only for an invalid link.
        "ops": [GET_TOKEN, ("TransactWriteItems token, reset code, user, audit", 0, 8)],
    },
    "P2 unknown or used link (410)": {
        "function": "set-password-confirm", "argon2_runs": 0, "emails": 0,
        "ops": [GET_TOKEN, ("UpdateItem take invalid-link unit", 0, 1)],
    },
    "P3 set-password page": {"function": "set-password-page", "argon2_runs": 0, "emails": 0, "ops": []},
    "P4 reset with the right PIN": {
        "function": "password-reset-with-pin", "argon2_runs": 2, "emails": 1,
        "ops": [GET_USER_AND_PIN_COUNTER, WRITE_USER_AUDIT],
    },
    "P5 callback, right PIN": {
        "function": "password-reset-callback", "argon2_runs": 0, "emails": 0,
        "ops": [GET_USER_AND_PIN_COUNTER],
    },
    "P5 callback, wrong PIN (422)": {
        "function": "password-reset-callback", "argon2_runs": 0, "emails": 0,
        "ops": [GET_USER_AND_PIN_COUNTER, ("TransactWriteItems PIN counter", 0, 2)],
    },
    "P6 set a PIN (user with a password)": {
        "function": "set-pin", "argon2_runs": 1, "emails": 0,
        "ops": [GET_USER_AND_WRONG_SECRETS, WRITE_CHECK_USER_AUDIT],
    },
    "P7 start an enrolment": {
        "function": "user-otp", "argon2_runs": 1, "emails": 1,
        "ops": [GET_USER_AND_WRONG_SECRETS, ("TransactWriteItems enrolment, check, user, audit", 0, 8)],
    },
    "P7 activate the device": {
        "function": "user-otp", "argon2_runs": 0, "emails": 1,
        "ops": [("BatchGetItem user + enrolment", 2, 0), ("TransactWriteItems enrolment, user, audit", 0, 6)],
    },
    "Z1 reset code by email": {
        "function": "password-reset-code", "argon2_runs": 0, "emails": 1,
        "ops": [GET_USER, TAKE_EMAIL_UNIT, ("TransactWriteItems code, user, audit", 0, 6)],
    },
    "Z2 change with the current password": {
        "function": "change-password", "argon2_runs": 2, "emails": 1, "password_change": True,
        "ops": [GET_USER_CODE_AND_WRONG_SECRETS, WRITE_CHECK_USER_AUDIT],
    },
    "Z2 change with a reset code": {
        "function": "change-password", "argon2_runs": 2, "emails": 1, "password_change": True,
        "ops": [GET_USER_CODE_AND_WRONG_SECRETS, ("TransactWriteItems check, user, audit, code", 0, 8)],
    },
    "Z2 wrong current password": {
        "function": "change-password", "argon2_runs": 1, "emails": 0,
        "ops": [GET_USER_CODE_AND_WRONG_SECRETS, ("TransactWriteItems count", 0, 2)],
    },
    "O1 admin reset": {
        "function": "admin-reset-password", "argon2_runs": 2, "emails": 1, "password_change": True,
        "ops": [("UpdateItem take admin unit", 0, 1), GET_USER, WRITE_USER_AUDIT],
    },
}

# Marked assumptions: not measurable without AWS. The figures file may set them.
ASSUMPTIONS = {
    "dynamodb_ms_per_round_trip": 6.0,   # in-region, single-digit ms; transactions are slower
    "ses_ms_per_email": 30.0,            # SendEmail round trip
    "handler_ms_besides": 3.0,           # JSON, JWT verification, rendering, at 512 MB
    "graviton2_argon2_factor": 1.0,      # arm64 ms / this machine's x86-64 ms: NOT measured
    "argon2_ms_full_vcpu_default": 27.0, # used when argon2.json is missing (issue 16's figure)
    "full_vcpu_mb": 1769,                # Lambda: one full vCPU at 1,769 MB
    "changes_per_second": 100,
    "account_concurrency": 1000,         # default quota per region
    "partition_wcu_per_second": 1000,    # DynamoDB per-partition write limit
    "ses_rate_sandbox": 1,               # messages per second in the SES sandbox
    "ses_rate_production_start": 14,     # a common starting rate after production access (account-specific)
}

# List prices, USD, as read on 2026-11-29 in stored copies of the pages named
# (the pages carry no date of their own); verify before use: AWS changes them.
PRICES = {
    "region": "eu-central-1 (Frankfurt)",
    "read_on": "2026-11-29",
    "lambda_arm_gb_second": 0.0000133334,
    "lambda_requests_per_million": 0.20,
    "dynamodb_wru_per_million": 0.7625,
    "dynamodb_rru_per_million": 0.1525,
    "ses_per_thousand_emails": 0.10,
    "waf_per_million_requests": 0.60,
    "waf_web_acl_per_month": 5.00,
    "waf_rule_per_month": 1.00,
    "sources": [
        "Lambda: aws.amazon.com/lambda/pricing (Arm, first tier $0.0000133334/GB-s, $0.20 per 1M requests); "
        "eu-central-1 is not among the regions priced differently from the base in artillery 2.0.28's "
        "lib/platform/aws-lambda/prices.js",
        "DynamoDB on-demand, eu-central-1: $0.7625 per million WRU, $0.1525 per million RRU (after the "
        "November 2024 halving; us-east-1 $0.625/$0.125 confirmed in stored copies, Frankfurt NOT confirmed "
        "in a stored AWS page — check aws.amazon.com/dynamodb/pricing/on-demand before relying on it)",
        "SES: $0.10 per 1,000 outbound emails (aws.amazon.com/ses/pricing); sending quotas: "
        "docs.aws.amazon.com/ses/latest/dg/quotas.html (sandbox 1/s, 200/day; production per account)",
        "WAF: $5 per web ACL and $1 per rule or AWS managed rule group per month, $0.60 per million "
        "requests inspected, the same in every region (aws.amazon.com/waf/pricing, as summarised by "
        "AWS's own blog and pricing guides; the baseline managed groups used here carry no extra fee)",
    ],
}


def waf_rule_count():
    """The rules of the template's web ACL (each billed monthly)."""
    text = (ROOT / "template.yaml").read_text()
    acl = text.split("  WebAcl:\n", 1)[1].split("\n  WebAclAssociation:", 1)[0]
    return acl.count("\n        - Name: ")


def template_memory_mb():
    text = (ROOT / "template.yaml").read_text()
    globals_block = text.split("\nGlobals:", 1)[1].split("\nResources:", 1)[0]
    found = re.search(r"^\s+MemorySize:\s*(\d+)", globals_block, re.M)
    overrides = len(re.findall(r"^\s+MemorySize:", text.split("\nResources:", 1)[1], re.M))
    return int(found.group(1)), overrides


def flows(figures):
    """The flows, with the measured counts laid over those of the code."""
    given = (figures or {}).get("flows", {})
    out = {}
    for name, flow in OPERATIONS.items():
        row = {
            "function": flow["function"],
            "round_trips": len(flow["ops"]),
            "rru": sum(op[1] for op in flow["ops"]),
            "wru": sum(op[2] for op in flow["ops"]),
            "argon2_runs": flow["argon2_runs"],
            "emails": flow["emails"],
            "password_change": flow.get("password_change", False),
            "src": "code",
        }
        measured = {k: v for k, v in given.get(name, {}).items() if k in row}
        if measured:
            stale = measured.get("round_trips", row["round_trips"]) != row["round_trips"]
            if stale:
                print(f"warning: {name}: {measured['round_trips']} round trips measured, {row['round_trips']} "
                      f"operations listed in capacity.py: its request units are stale", file=sys.stderr)
            row.update(measured)
            row["src"] = "code≠" if stale else "measured"
        out[name] = row
    for name in given.keys() - OPERATIONS.keys():
        print(f"note: figures file names a flow the model does not know: {name}", file=sys.stderr)
    return out


def main():
    figures = read_json(figures_path())
    assumptions = {**ASSUMPTIONS, **(figures or {}).get("assumptions", {})}
    prices = {**PRICES, **(figures or {}).get("prices", {})}
    memory, overrides = template_memory_mb()
    argon2 = read_json(bench_dir() / "argon2.json")
    if argon2:
        argon2_full = argon2["warm_cpu_ms"]["service (PasswordHasher)"]
        argon2_src = f"measured here {argon2['measured_at']} (x86-64, warm)"
    else:
        argon2_full = assumptions["argon2_ms_full_vcpu_default"]
        argon2_src = "default (run scripts/argon2_speed.py)"
    cpu_share = min(1.0, memory / assumptions["full_vcpu_mb"])
    argon2_lambda = argon2_full * assumptions["graviton2_argon2_factor"] / cpu_share

    print(f"Capacity and cost per million requests — {prices['region']}, MemorySize {memory} MB "
          f"(template Globals{'; ' + str(overrides) + ' per-function overrides ignored' if overrides else ''})")
    print(f"argon2: {argon2_full:.1f} ms at a full vCPU ({argon2_src}); at {memory} MB Lambda gives "
          f"{cpu_share:.2f} vCPU → {argon2_lambda:.0f} ms per hash "
          f"(Graviton2 factor {assumptions['graviton2_argon2_factor']}, assumed)")
    print(f"duration = argon2 runs × {argon2_lambda:.0f} ms + round trips × "
          f"{assumptions['dynamodb_ms_per_round_trip']:.0f} ms + emails × {assumptions['ses_ms_per_email']:.0f} ms + "
          f"{assumptions['handler_ms_besides']:.0f} ms (latencies assumed, not measured)")
    print()
    header = (f"{'flow':<38} {'src':<8} {'RT':>2} {'RRU':>3} {'WRU':>3} {'a2':>2} {'mail':>4} {'ms':>5} "
              f"{'GB-s/M':>8} {'$Lambda':>8} {'$DDB':>6} {'$SES':>6} {'$/M':>7}")
    print(header)
    print("-" * len(header))
    rows = flows(figures)
    durations = {}
    for name, f in rows.items():
        ms = (f["argon2_runs"] * argon2_lambda + f["round_trips"] * assumptions["dynamodb_ms_per_round_trip"]
              + f["emails"] * assumptions["ses_ms_per_email"] + assumptions["handler_ms_besides"])
        durations[name] = ms
        gb_s = memory / 1024 * ms / 1000 * 1e6
        lambda_usd = gb_s * prices["lambda_arm_gb_second"] + prices["lambda_requests_per_million"]
        ddb_usd = f["rru"] * prices["dynamodb_rru_per_million"] + f["wru"] * prices["dynamodb_wru_per_million"]
        ses_usd = f["emails"] * 1000 * prices["ses_per_thousand_emails"]
        total = lambda_usd + ddb_usd + ses_usd
        print(f"{name:<38} {f['src']:<8} {f['round_trips']:>2} {f['rru']:>3} {f['wru']:>3} {f['argon2_runs']:>2} "
              f"{f['emails']:>4} {ms:>5.0f} {gb_s:>8.0f} {lambda_usd:>8.2f} {ddb_usd:>6.2f} {ses_usd:>6.2f} "
              f"{total:>7.2f}")
    print("RT: DynamoDB round trips; a2: argon2 runs; $ per million requests of the flow. Not counted: API Gateway,")
    print("CloudWatch Logs, X-Ray, data transfer, cold-start init time, free tiers.")
    print()

    rate = assumptions["changes_per_second"]
    print(f"At {rate} password changes per second (Little's law: concurrency = rate × duration):")
    for name, f in rows.items():
        if not f["password_change"]:
            continue
        concurrency = rate * durations[name] / 1000
        print(f"  {name:<38} {durations[name]:>5.0f} ms → {concurrency:5.1f} concurrent executions "
              f"({concurrency / assumptions['account_concurrency']:.1%} of the account's "
              f"{assumptions['account_concurrency']})")
    worst_wru_on_user = max(
        (f["wru"] for f in rows.values() if f["password_change"]), default=0)
    user_item_wru = 2  # the user item's own share of each change's transaction
    print(f"  DynamoDB: a change writes the user's item once (transactional: {user_item_wru} WRU) and "
          f"{worst_wru_on_user} WRU in all; even if all {rate}/s were one user, that item's partition would take "
          f"{rate * user_item_wru} WCU/s of its {assumptions['partition_wcu_per_second']} "
          f"(and the user's sequence check serialises the writes long before).")
    print(f"  SES: each change mails a notice → {rate} messages/s; the sandbox allows "
          f"{assumptions['ses_rate_sandbox']}/s, a new production account typically "
          f"{assumptions['ses_rate_production_start']}/s (per account; ask for a raise).")
    slowest_change = max(durations[n] for n, f in rows.items() if f["password_change"])
    print(f"  Binds first: the SES sending rate ({rate}/s needed vs ~{assumptions['ses_rate_production_start']}/s); "
          f"then the account's concurrency at ~{assumptions['account_concurrency'] * 1000 / slowest_change:.0f} "
          f"changes/s (slowest change flow, all other traffic left out). Notices over the rate fail and are "
          f"logged, not retried (Services::notify).")
    print()
    waf_rules = waf_rule_count()
    fixed = prices["waf_web_acl_per_month"] + waf_rules * prices["waf_rule_per_month"]
    print(f"The web ACL in front of each stage (WafMode block or count; template.yaml, {waf_rules} rules): "
          f"${prices['waf_per_million_requests']:.2f} per million requests, every route alike, blocked ones "
          f"included, plus ${fixed:.2f} a month per stage (at 10 M requests a month "
          f"${prices['waf_per_million_requests'] + fixed / 10:.2f} per million). Its log lines go to CloudWatch "
          f"Logs beside the functions' (not counted).")
    print()
    print(f"Prices (USD, list prices as read on {prices['read_on']}; verify before use):")
    for source in prices["sources"]:
        print(f"  - {source}")


if __name__ == "__main__":
    main()
