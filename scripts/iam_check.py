"""Every recorded AWS call against its function's IAM policy, as IAM decides.

The local runs (the integration tests, `make dev` in the end-to-end stage, the
fault runs) send every AWS call through a recording proxy
(scripts/fault_proxy.py --record): each function signs with its own access
key id (its crate name, the template's `Binary`), so each recorded call names
its function, its operation and the tables of each of its items (SES: the
sender's domain; Secrets Manager: the secret's name). This script evaluates
each call, for every stage of samconfig.toml, against that function's role in
the template *after* the SAM transform (scripts/stack_template.py):

- the action and the resource ARN, with `*`/`?` wildcards, NotAction and
  NotResource; an explicit Deny wins over any Allow; nothing allowed is denied;
- a TransactWriteItems needs each item's own action on each item's table
  (PutItem, UpdateItem, DeleteItem, ConditionCheckItem), a TransactGetItems
  GetItem on each; BatchGetItem and BatchWriteItem their own action on each
  table they name (what DynamoDB's IAM reference lists for each operation);
- SES v2 SendEmail needs ses:SendEmail on the sender's identity (and on the
  configuration set, if the call names one). The local sender's domain stands
  for the stage's MailFrom domain, the local table names for the stage's
  tables (through the table variables the functions read);
- a Secrets Manager call (GetSecretValue) needs its action on the secret's
  ARN, which ends in six random characters after the name
  (`…:secret:password-service/<stage>/pepper-AbCdEf`). The local secret names
  stand for the stage's through the `*_SECRET_ID` variables: local.env's
  value of one is the local name of the secret the template names there.

The other direction: every action a function's role allows, on each resource
it names, must be used by some recorded call of that function, unless the
template says why not under `GrantsWithoutRecordedCalls` in its Metadata (the
template's own for every function, a function's for that function). And
each function may use `logs:` actions on its own log group only.

Exit status 1 if any call is denied, any grant unused, or the logs rule
broken. The last line: `iam: N calls checked, D denied, U unused grants`.
"""

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

import stack_template
from stack_template import Stack, action_matches, resource_matches

ROOT = Path(__file__).resolve().parent.parent

# The AWS-managed policies SAM attaches to every function's role (its basic
# execution role; X-Ray with `Tracing: Active`), as AWS publishes them.
MANAGED_POLICIES = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": [
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "*",
        }
    ],
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess": [
        {
            "Effect": "Allow",
            "Action": [
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
                "xray:GetSamplingStatisticSummaries",
            ],
            "Resource": "*",
        }
    ],
}
# A transaction's item kinds and the IAM action each needs.
ITEM_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}
EXEMPTIONS_KEY = "GrantsWithoutRecordedCalls"


def as_list(value):
    return value if isinstance(value, list) else [value]


def statement_applies(statement, action, arn):
    if "Condition" in statement:
        raise SystemExit(f"iam: a statement with a Condition is not evaluated here: {statement}")
    if "Action" in statement:
        acts = any(action_matches(p, action) for p in as_list(statement["Action"]))
    else:
        acts = not any(action_matches(p, action) for p in as_list(statement["NotAction"]))
    if "Resource" in statement:
        on = any(resource_matches(p, arn) for p in as_list(statement["Resource"]))
    else:
        on = not any(resource_matches(p, arn) for p in as_list(statement["NotResource"]))
    return acts and on


def decide(statements, action, arn):
    """IAM's evaluation of identity policies: explicit Deny, then Allow, else implicit deny."""
    if any(s["Effect"] == "Deny" and statement_applies(s, action, arn) for s in statements):
        return "explicit deny"
    if any(s["Effect"] == "Allow" and statement_applies(s, action, arn) for s in statements):
        return "allow"
    return "implicit deny"


class Function:
    """A function of one stage's stack: its binary, role statements, log group."""

    def __init__(self, stack, logical):
        self.logical = logical
        resolved = stack.resolved(logical)
        props = resolved["Properties"]
        self.binary = resolved.get("Metadata", {}).get("BuildProperties", {}).get("Binary", logical)
        role_name = stack.resources[logical]["Properties"]["Role"]["Fn::GetAtt"][0]
        role = stack.resolved(role_name)["Properties"]
        self.statements = []
        for policy in role.get("Policies", []):
            self.statements += as_list(policy["PolicyDocument"]["Statement"])
        for arn in role.get("ManagedPolicyArns", []):
            if arn not in MANAGED_POLICIES:
                raise SystemExit(f"iam: {logical}: managed policy {arn} is not known here")
            self.statements += MANAGED_POLICIES[arn]
        log_group = props.get("LoggingConfig", {}).get("LogGroup") or f"/aws/lambda/{stack.physical(logical)}"
        self.log_group_arn = f"arn:aws:logs:{stack.region}:{stack_template.ACCOUNT}:log-group:{log_group}"
        self.exemptions = stack.template.get("Metadata", {}).get(EXEMPTIONS_KEY, {}) | resolved.get(
            "Metadata", {}
        ).get(EXEMPTIONS_KEY, {})

    def grants(self):
        """(where, action pattern, resource pattern) of every Allow."""
        for i, statement in enumerate(self.statements):
            if statement["Effect"] != "Allow" or "Action" not in statement or "Resource" not in statement:
                continue
            for action in as_list(statement["Action"]):
                for j, resource in enumerate(as_list(statement["Resource"])):
                    yield (i, j), action, resource


def local_settings():
    sys.path.insert(0, str(ROOT / "scripts"))
    from local_env import read_env_file

    return read_env_file(str(ROOT / "local.env"))


def stack_secrets(stack):
    """Each `*_SECRET_ID` variable a function is given → (the stage's secret
    name, the name as the template writes it)."""
    secrets = {}
    for logical in stack.of_type("AWS::Lambda::Function"):
        variables = stack.resources[logical]["Properties"].get("Environment", {}).get("Variables", {})
        for variable, value in variables.items():
            if variable.endswith("_SECRET_ID"):
                written = value.get("Fn::Sub", value) if isinstance(value, dict) else value
                secrets[variable] = (stack.value(value), written)
    return secrets


def secret_arn(stack, name, suffix):
    """A secret's ARN: its name, a dash and six random characters (`suffix`)."""
    return f"arn:aws:secretsmanager:{stack.region}:{stack_template.ACCOUNT}:secret:{name}-{suffix}"


def checks_of(call, stack, tables, local_mail_domain, secrets):
    """(action, ARN, what) IAM checks for one recorded call in a stage's stack;
    `what` names the resource as the template does."""
    region = f"{stack.region}:{stack_template.ACCOUNT}"
    if call["service"] == "dynamodb":
        for kind, table in call["items"]:
            logical = tables.get(table)
            name = stack.physical(logical) if logical else f"unknown-table:{table}"
            action = "dynamodb:" + ITEM_ACTIONS.get(kind, kind)
            yield action, f"arn:aws:dynamodb:{region}:table/{name}", logical or table
    elif call["service"] == "ses" and call["op"] == "SendEmail":
        domain = call.get("identity", "")
        if domain == local_mail_domain:
            domain = stack.parameters["MailFrom"].rpartition("@")[2]
        yield "ses:SendEmail", f"arn:aws:ses:{region}:identity/{domain}", "the MailFrom identity"
        if call.get("configuration_set"):
            name = call["configuration_set"]
            yield "ses:SendEmail", f"arn:aws:ses:{region}:configuration-set/{name}", name
    elif call["service"] == "secretsmanager":
        local = call.get("secret", "")
        name, written = secrets.get(local, (local, local))
        # A secret's full ARN, as a call by name resolves it.
        yield f"secretsmanager:{call['op']}", secret_arn(stack, name, "AbCdEf"), f"the secret {written}"
    else:
        yield f"{call['service']}:{call['op']}", "*", "*"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records", nargs="+", help="JSON-lines files written by fault_proxy.py --record")
    parser.add_argument("--summary", help="write the counts as JSON here (for scripts/rehearse.sh)")
    args = parser.parse_args()

    calls = []
    for path in args.records:
        if Path(path).exists():
            calls += [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]

    settings = local_settings()
    source = stack_template.source_template()
    table_variables = {
        variable: value["Ref"]
        for variable, value in source["Globals"]["Function"]["Environment"]["Variables"].items()
        if isinstance(value, dict) and source["Resources"].get(value.get("Ref"), {}).get("Type")
        == "AWS::DynamoDB::Table"
    }
    # Local table name → the template's table.
    tables = {settings[variable]: logical for variable, logical in table_variables.items() if variable in settings}
    local_mail_domain = settings["MAIL_FROM"].rpartition("@")[2]

    problems = []
    denied = 0
    checked = Counter()
    others = Counter()
    used = defaultdict(set)  # (stage, function) → {(action, arn)} allowed and called
    stacks = {stage: Stack(stage) for stage in stack_template.stages()}
    # Per stage, local secret name → (the stage's, the template's): local.env
    # gives the local name in the variable the template gives the stage's in.
    secrets = {
        stage: {settings[v]: names for v, names in stack_secrets(stack).items() if v in settings}
        for stage, stack in stacks.items()
    }
    functions = {
        stage: {f.binary: f for f in (Function(stack, n) for n in stack.of_type("AWS::Lambda::Function"))}
        for stage, stack in stacks.items()
    }
    denials = defaultdict(Counter)  # what was denied → {stage: calls}
    for call in calls:
        if call["key"] not in functions[next(iter(stacks))]:
            others[call["key"]] += 1
            continue
        checked[call["key"]] += 1
        call_denied = False
        for stage, stack in stacks.items():
            function = functions[stage][call["key"]]
            for action, arn, what in checks_of(call, stack, tables, local_mail_domain, secrets[stage]):
                decision = decide(function.statements, action, arn)
                if decision == "allow":
                    used[stage, function.binary].add((action, arn))
                else:
                    call_denied = True
                    denials[f"{function.logical}: {action} on {what}: {decision} (in {call['op']})"][stage] += 1
        denied += call_denied
    for text, by_stage in sorted(denials.items()):
        problems.append(f"DENIED {text}, {max(by_stage.values())} calls, in {', '.join(sorted(by_stage))}")

    unused = {}
    stale = set()
    logs_beyond = defaultdict(set)
    for stage, by_binary in functions.items():
        stack = stacks[stage]
        labels = {stack.attribute(t, "Arn"): t for t in stack.of_type("AWS::DynamoDB::Table")}
        mail_domain = stack.parameters["MailFrom"].rpartition("@")[2]
        labels[f"arn:aws:ses:{stack.region}:{stack_template.ACCOUNT}:identity/{mail_domain}"] = "the MailFrom identity"
        for name, written in stack_secrets(stack).values():
            labels[secret_arn(stack, name, "??????")] = f"the secret {written}"
        for binary, function in by_binary.items():
            calls_made = used[stage, binary]
            for where, action, resource in function.grants():
                if any(action_matches(action, a) and resource_matches(resource, r) for a, r in calls_made):
                    continue
                if any(action_matches(pattern, action) for pattern in function.exemptions):
                    continue
                # The same grant in every stage counts once.
                unused.setdefault((function.logical, action, where), labels.get(resource, resource))
            for pattern in function.exemptions:
                if any(action_matches(pattern, a) for a, _ in calls_made):
                    stale.add((function.logical, pattern))
            # Logs: the function's own log group (and its streams) only.
            own = function.log_group_arn
            other = own.rsplit(":log-group:", 1)[0] + ":log-group:/aws/lambda/another-function"
            for action in ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"):
                if decide(function.statements, action, other + ":log-stream:x") == "allow" or decide(
                    function.statements, action, other
                ) == "allow":
                    logs_beyond[function.logical].add(action)
    for logical, actions in sorted(logs_beyond.items()):
        problems.append(f"LOGS {logical}: {', '.join(sorted(actions))} allowed beyond its own log group")
    for (logical, action, _), resource in sorted(unused.items()):
        problems.append(f"UNUSED {logical}: {action} on {resource} (no recorded call uses it; say why under "
                        f"{EXEMPTIONS_KEY} in its Metadata, or drop it)")
    # An exemption a recorded call happened to use (a rare path the fault
    # run reached this time) is fine; noted so a stale one can be seen.
    for logical, pattern in sorted(stale):
        print(f"note: {logical}: {pattern} is under {EXEMPTIONS_KEY}, and recorded calls used it")

    for problem in problems:
        print(problem)
    print("calls checked per function: " + ", ".join(f"{k} {v}" for k, v in sorted(checked.items())))
    if others:
        print("not a function's (the tests' own setup and reads, the operator CLI; not checked): "
              + ", ".join(f"{k} {v}" for k, v in sorted(others.items())))
    total = sum(checked.values())
    summary = {"calls": total, "denied": denied, "unused": len(unused), "problems": len(problems),
               "per_function": dict(checked)}
    if args.summary:
        Path(args.summary).write_text(json.dumps(summary))
    print(f"iam: {total} calls checked, {denied} denied, {len(unused)} unused grants")
    if total == 0:
        print("iam: no calls recorded (run make test, which records them)")
        sys.exit(1)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
