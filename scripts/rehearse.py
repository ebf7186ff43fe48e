"""The parts of `make rehearse` in Python (scripts/rehearse.sh runs them).

  static     what CloudFormation and AWS would enforce and the emulator does
             not model, checked on each stage's transformed template
             (scripts/stack_template.py): the API has exactly the configured
             stage, with JSON access logs into a log group with retention;
             every alarm publishes to a topic whose key is the stack's own,
             rotated, and usable by CloudWatch; someone is subscribed; the
             users and audit tables cannot be deleted; the web ACL in front of
             the stage, each rule with its scope and action printed, its rate
             rules' scopes matching exactly the routes that send mail or check
             a secret, its blocks answering 429 (Retry-After) or 413 in the
             families' shape, its log redacting tokens (check_waf); no secret
             in any function's configuration, each function's secret names
             matched by a GetSecretValue grant on those secrets alone, none
             for the page (check_secrets).
  emulated   a stage's copy of the built template (.aws-sam/build) without
             what the emulator cannot create: the API (moto ignores a REST
             API's `Body`, so its deployment fails for want of methods), with
             it the functions' API events; the alarms and the dashboard (moto
             does not model AWS::CloudWatch::Alarm); the alarm mail
             subscription (moto's CloudFormation skips AWS::SNS::Subscription);
             the web ACL, its association and logging (moto's CloudFormation
             has no AWS::WAFv2 resources).
             Transformed here: moto does not run the SAM transform on a
             change set.
  bootstrap  the stack `sam deploy` keeps its artifacts bucket in
             (`aws-sam-cli-managed-default`), which moto cannot create
             through a change set.
  verify     each stage's stack is complete and holds every resource of the
             emulated template.
"""

import json
import sys

from iam_check import Function, as_list
from stack_template import ACCOUNT, Stack, action_matches, stages
from subcommands import Subcommands

EMULATOR_LACKS = (
    "AWS::Serverless::Api",
    "AWS::CloudWatch::Alarm",
    "AWS::CloudWatch::Dashboard",
    "AWS::SNS::Subscription",
    "AWS::WAFv2::WebACL",
    "AWS::WAFv2::WebACLAssociation",
    "AWS::WAFv2::LoggingConfiguration",
)

# The routes each rate rule of the web ACL must scope to (SPEC section 3's
# limits, at the edge): those that send mail, those that check a secret; and
# every route but the set-password link's (a live link is never refused by a
# rate limit, and its users may share one address).
MAIL_ROUTES = {"/user/password", "/v2/users/{userId}/password_reset", "/zitadel.user.v2.UserService/PasswordReset"}
SECRET_ROUTES = {
    "/user/password/reset",
    "/callbacks/password-reset",
    "/user/pin",
    "/user/otp",
    "/v2/users/{userId}/password",
    "/zitadel.user.v2.UserService/SetPassword",
}
LINK_ROUTES = {"/user/password/confirm", "/user/password/set"}

# Secrets reach the functions by name only (`*_SECRET_ID`), read at run time:
# a value resolved into the configuration is plain text to anyone who may
# read the function's settings, and a rotation would need a deploy.
DYNAMIC_SECRETS = ("{{resolve:secretsmanager", "{{resolve:ssm-secure")
# Variables the code would take a secret's value from; none holds one on a
# stage (JWT_HS256_SECRET is the local stack's, declared empty for sam local).
SECRET_VALUE_VARIABLES = ("PEPPER", "OTP_ENCRYPTION_KEY", "JWT_HS256_SECRET")
# The page (P3) reads and writes nothing: it is given no secret.
PAGE_BINARY = "set-password-page"


def check_stage(stack):
    """Problems of one stage's transformed template, as text."""
    problems = []
    resources = stack.resources
    stage_name = stack.parameters["Stage"]

    # The API: exactly the configured stage (no SAM "Stage" beside it).
    api_stages = [stack.resolved(n)["Properties"] for n in stack.of_type("AWS::ApiGateway::Stage")]
    names = sorted(s.get("StageName") for s in api_stages)
    for name in stack.of_type("AWS::ApiGateway::Deployment"):
        if "StageName" in resources[name]["Properties"]:
            names.append(resources[name]["Properties"]["StageName"])
    if names != [stage_name]:
        problems.append(f"the API's stages are {names}, not [{stage_name!r}]")
    for props in api_stages:
        access = props.get("AccessLogSetting")
        if not access:
            problems.append("the API stage writes no access log")
            continue
        try:
            json.loads(access["Format"])
        except ValueError:
            problems.append("the access log format is not JSON")
        groups = [
            n
            for n in stack.of_type("AWS::Logs::LogGroup")
            if stack.attribute(n, "Arn") == access["DestinationArn"]
        ]
        if not groups or "RetentionInDays" not in resources[groups[0]]["Properties"]:
            problems.append("the access log goes to no log group of the stack with a retention")

    # Alarms reach a topic CloudWatch can publish to, and someone reads it.
    topics = {stack.attribute(n, "TopicArn"): n for n in stack.of_type("AWS::SNS::Topic")}
    for alarm in stack.of_type("AWS::CloudWatch::Alarm"):
        actions = stack.resolved(alarm)["Properties"].get("AlarmActions", [])
        if not actions or any(a not in topics for a in actions):
            problems.append(f"{alarm}: its actions are not the stack's topic")
    for arn, topic in topics.items():
        key = resources[topic]["Properties"].get("KmsMasterKeyId")
        logical = key.get("Ref") if isinstance(key, dict) else None
        if logical not in resources or resources[logical]["Type"] != "AWS::KMS::Key":
            problems.append(f"{topic}: not encrypted with a key of the stack ({key!r}); CloudWatch cannot use an AWS-managed key")
            continue
        props = stack.resolved(logical)["Properties"]
        if not props.get("EnableKeyRotation"):
            problems.append(f"{logical}: key rotation is off")
        granted = set()
        for statement in props["KeyPolicy"]["Statement"]:
            principal = statement.get("Principal", {})
            services = principal.get("Service", []) if isinstance(principal, dict) else []
            if statement["Effect"] == "Allow" and "cloudwatch.amazonaws.com" in (
                services if isinstance(services, list) else [services]
            ):
                actions = statement["Action"]
                granted |= set(actions if isinstance(actions, list) else [actions])
        if not {"kms:Decrypt", "kms:GenerateDataKey*"} <= granted:
            problems.append(f"{logical}: its policy does not let cloudwatch.amazonaws.com use it")
        subscribed = [
            n
            for n in stack.of_type("AWS::SNS::Subscription")
            if stack.resolved(n)["Properties"]["TopicArn"] == arn
        ]
        if not subscribed:
            problems.append(f"{topic}: nobody is subscribed (AlarmEmail is empty)")

    for table in ("UsersTable", "AuditTable"):
        if resources[table]["Properties"].get("DeletionProtectionEnabled") is not True:
            problems.append(f"{table}: no deletion protection")
    return problems + check_waf(stack) + check_secrets(stack)


def _describe(statement):
    """A rule's scope in words."""
    if "RateBasedStatement" in statement:
        rate = statement["RateBasedStatement"]
        down = rate.get("ScopeDownStatement", {})
        if "NotStatement" in down:
            scope = "every route but " + down["NotStatement"]["Statement"]["RegexMatchStatement"]["RegexString"]
        else:
            scope = down.get("RegexMatchStatement", {}).get("RegexString", "every route")
        return f"{rate['Limit']} per address per {rate.get('EvaluationWindowSec', 300)} s, {scope}"
    if "SizeConstraintStatement" in statement:
        size = statement["SizeConstraintStatement"]
        return f"body {size['ComparisonOperator']} {size['Size']} bytes"
    if "ManagedRuleGroupStatement" in statement:
        group = statement["ManagedRuleGroupStatement"]
        overrides = [o["Name"] for o in group.get("RuleActionOverrides", [])]
        return f"{group['VendorName']} {group['Name']}" + (f" ({', '.join(overrides)} counted)" if overrides else "")
    return json.dumps(statement)


def _routes():
    """The path of every API event of template.yaml."""
    from stack_template import source_template

    routes = set()
    for resource in source_template()["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            for event in resource["Properties"].get("Events", {}).values():
                if event["Type"] == "Api":
                    routes.add(event["Properties"]["Path"])
    return routes


def check_waf(stack):
    """The web ACL of a stage: printed rule by rule, and its problems."""
    import re

    stage = stack.parameters["Stage"]
    mode = stack.parameters.get("WafMode", "block")
    acls = stack.of_type("AWS::WAFv2::WebACL")
    if mode == "off":
        print(f"rehearsal: {stage}: web ACL off (WafMode)")
        return [] if not acls else ["WafMode is off but a web ACL is created"]
    if len(acls) != 1:
        return [f"{len(acls)} web ACLs, not one"]
    acl = stack.resolved(acls[0])["Properties"]
    problems = []
    if acl["Scope"] != "REGIONAL":
        problems.append("the web ACL is not REGIONAL (API Gateway's scope)")
    associations = [stack.resolved(n)["Properties"] for n in stack.of_type("AWS::WAFv2::WebACLAssociation")]
    stage_arn = f"arn:aws:apigateway:{stack.region}::/restapis/{stack.physical('Api')}/stages/{stack.physical('ApiStage')}"
    if [a["ResourceArn"] for a in associations] != [stage_arn]:
        problems.append(f"the web ACL is not associated with the API's stage: {associations}")
    bodies = acl.get("CustomResponseBodies", {})
    for body in bodies.values():
        document = json.loads(body["Content"])
        if not ({"code", "message", "errors"} <= set(document)):
            problems.append(f"a custom response body lacks the families' fields: {body['Content']}")
    routes = _routes()
    scoped = {}
    print(f"rehearsal: {stage}: web ACL {acl['Name']} ({acl['Scope']}, WafMode {mode}) on {stage_arn}:")
    for rule in sorted(acl["Rules"], key=lambda r: r["Priority"]):
        action = rule.get("Action") or rule.get("OverrideAction")
        verb = next(iter(action))
        response = action.get("Block", {}).get("CustomResponse")
        answer = f" {response['ResponseCode']}" if response else ""
        print(f"rehearsal: {stage}:   {rule['Priority']} {rule['Name']}: {_describe(rule['Statement'])} -> {verb}{answer}")
        expected = {"count": "Count"}.get(mode, "None" if "OverrideAction" in rule else "Block")
        if verb != expected:
            problems.append(f"rule {rule['Name']} acts {verb}, not {expected} (WafMode {mode})")
        if response:
            if response["CustomResponseBodyKey"] not in bodies:
                problems.append(f"rule {rule['Name']} answers a body the web ACL lacks")
            headers = {h["Name"] for h in response.get("ResponseHeaders", [])}
            if response["ResponseCode"] == 429 and "Retry-After" not in headers:
                problems.append(f"rule {rule['Name']} answers 429 without Retry-After")
        rate = rule["Statement"].get("RateBasedStatement")
        if rate:
            down = rate.get("ScopeDownStatement", {})
            negated = "NotStatement" in down
            regex = (down["NotStatement"]["Statement"] if negated else down).get("RegexMatchStatement", {}).get("RegexString")
            concrete = {r: r.replace("{userId}", "0123456789abcdef01234567") for r in routes}

            def scoped_to(path):
                if regex is None:
                    return True
                return bool(re.search(regex, path)) != negated

            scoped[rule["Name"]] = {
                route for route, path in concrete.items() if scoped_to(path) and scoped_to(f"/{stage}{path}")
            }
    for name, wanted in (
        ("mail-routes-per-address", MAIL_ROUTES),
        ("secret-routes-per-address", SECRET_ROUTES),
        ("all-routes-per-address", routes - LINK_ROUTES),
    ):
        if scoped.get(name) != wanted:
            problems.append(f"rule {name} scopes to {sorted(scoped.get(name, []))}, not {sorted(wanted)}")
    logging = [stack.resolved(n)["Properties"] for n in stack.of_type("AWS::WAFv2::LoggingConfiguration")]
    redacted = [f.get("SingleHeader", {}).get("Name", "").lower() for c in logging for f in c.get("RedactedFields", [])]
    if "authorization" not in redacted:
        problems.append("the web ACL's log does not redact the Authorization header")
    for config in logging:
        for arn in config["LogDestinationConfigs"]:
            groups = [n for n in stack.of_type("AWS::Logs::LogGroup") if stack.attribute(n, "Arn") == arn]
            props = stack.resolved(groups[0])["Properties"] if groups else {}
            if not props.get("LogGroupName", "").startswith("aws-waf-logs-") or "RetentionInDays" not in props:
                problems.append("the web ACL logs to no aws-waf-logs- group of the stack with a retention")
    return problems


def check_secrets(stack):
    """The secrets each function of a stage is given, printed, and the
    problems: a secret's value in a function's configuration, a secret name
    without GetSecretValue on that secret, any other Secrets Manager grant,
    a secret given to the page."""
    stage = stack.parameters["Stage"]
    problems = []
    for logical in stack.of_type("AWS::Lambda::Function"):
        raw = stack.resources[logical]["Properties"].get("Environment", {}).get("Variables", {})
        # Every branch of every Fn::If, not just this stage's.
        for variable, value in raw.items():
            if any(marker in json.dumps(value) for marker in DYNAMIC_SECRETS):
                problems.append(f"{logical}: {variable} is resolved from a secret store into the function's configuration")
        function = Function(stack, logical)
        variables = stack.resolved(logical)["Properties"].get("Environment", {}).get("Variables", {})
        for variable in SECRET_VALUE_VARIABLES:
            if variables.get(variable):
                problems.append(f"{logical}: {variable} holds a value in the function's configuration")
        ids = {v: name for v, name in variables.items() if v.endswith("_SECRET_ID")}
        if function.binary == PAGE_BINARY and ids:
            problems.append(f"{logical}: the page is given {', '.join(sorted(ids))}")
        wanted = {f"arn:aws:secretsmanager:{stack.region}:{ACCOUNT}:secret:{name}-??????" for name in ids.values()}
        granted = set()
        for statement in function.statements:
            if statement["Effect"] != "Allow":
                continue
            if "NotAction" in statement:
                problems.append(f"{logical}: an Allow with NotAction grants Secrets Manager actions")
                continue
            actions = [a for a in as_list(statement["Action"]) if action_matches(a, "secretsmanager:GetSecretValue")
                       or a.lower().startswith("secretsmanager:")]
            for action in actions:
                for resource in as_list(statement.get("Resource", "*")):
                    if action == "secretsmanager:GetSecretValue" and resource in wanted:
                        granted.add(resource)
                    else:
                        problems.append(f"{logical}: grants {action} on {resource}, not GetSecretValue on its own secrets")
        for arn in sorted(wanted - granted):
            problems.append(f"{logical}: no secretsmanager:GetSecretValue on {arn}, the secret it is given")
        if ids:
            given = ", ".join(f"{v}={name}" for v, name in sorted(ids.items()))
            print(f"rehearsal: {stage}: {function.binary} reads its secrets at run time: {given}")
    return problems


def static(args):
    failed = False
    for stage in stages():
        problems = check_stage(Stack(stage))
        for problem in problems:
            print(f"rehearsal: {stage}: {problem}")
        failed |= bool(problems)
        print(f"rehearsal: {stage}: template checks {'FAILED' if problems else 'ok'}")
    sys.exit(1 if failed else 0)


def emulated(args):
    from samtranslator.yaml_helper import yaml_parse
    import yaml

    from stack_template import transformed

    with open(args.source) as f:
        template = yaml_parse(f.read())
    resources = template["Resources"]
    dropped = {name for name, r in resources.items() if r["Type"] in EMULATOR_LACKS}
    for name in dropped:
        del resources[name]
    code = {}
    for name, resource in resources.items():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"].pop("Events", None)
            code[name] = resource["Properties"]["CodeUri"]

    def mentions(node):
        text = json.dumps(node)
        return any(f'"{name}"' in text or "${" + name in text for name in dropped)

    template["Outputs"] = {k: v for k, v in template.get("Outputs", {}).items() if not mentions(v)}
    # moto's CloudFormation does not run the SAM transform on a change set:
    # it gets the stage's template transformed here, by the same library.
    # `sam deploy` then uploads each function's built code as it would.
    stage_template = transformed(args.stage, template)
    for name, uri in code.items():
        stage_template["Resources"][name]["Properties"]["Code"] = uri
    with open(args.target, "w") as f:
        yaml.safe_dump(stage_template, f, sort_keys=False)
    print(f"rehearsal: {args.stage}: the emulator cannot create {', '.join(EMULATOR_LACKS)}: "
          f"{len(dropped)} resources left out of its copy, checked on the transformed template instead")


def bootstrap(args):
    import boto3

    cloudformation = boto3.client("cloudformation", endpoint_url=args.endpoint, region_name=args.region)
    template = {
        "Resources": {"SamCliSourceBucket": {"Type": "AWS::S3::Bucket"}},
        "Outputs": {"SourceBucket": {"Value": {"Ref": "SamCliSourceBucket"}}},
    }
    cloudformation.create_stack(
        StackName="aws-sam-cli-managed-default",
        TemplateBody=json.dumps(template),
        Tags=[{"Key": "ManagedStackSource", "Value": "AwsSamCli"}],
    )


def verify(args):
    """The stack is complete and the services hold what its template asks for
    (moto's own list of a change-set stack's resources is not reliable)."""
    import boto3
    from collections import Counter

    from samtranslator.yaml_helper import yaml_parse

    def client(service):
        return boto3.client(service, endpoint_url=args.endpoint, region_name=args.region)

    with open(args.template) as f:
        wanted = Counter(r["Type"] for r in yaml_parse(f.read())["Resources"].values())
    status = client("cloudformation").describe_stacks(StackName=args.stack)["Stacks"][0]["StackStatus"]
    prefix = f"{args.stack}-"
    found = Counter(
        {
            "AWS::Lambda::Function": sum(
                f["FunctionName"].startswith(prefix) for f in client("lambda").list_functions()["Functions"]
            ),
            "AWS::IAM::Role": sum(r["RoleName"].startswith(prefix) for r in client("iam").list_roles()["Roles"]),
            "AWS::DynamoDB::Table": sum(t.startswith(prefix) for t in client("dynamodb").list_tables()["TableNames"]),
            "AWS::Logs::LogGroup": sum(
                f"/{args.stack}/" in g["logGroupName"] or g["logGroupName"] == f"aws-waf-logs-{args.stack}"
                for g in client("logs").describe_log_groups()["logGroups"]
            ),
            "AWS::SNS::Topic": sum(f":{prefix}" in t["TopicArn"] for t in client("sns").list_topics()["Topics"]),
        }
    )
    problems = [f"{kind}: {found[kind]} of {wanted[kind]}" for kind in found if found[kind] != wanted[kind]]
    keys = {k["KeyId"] for k in client("kms").list_keys()["Keys"]}
    for topic in client("sns").list_topics()["Topics"]:
        if f":{prefix}" in topic["TopicArn"]:
            key = client("sns").get_topic_attributes(TopicArn=topic["TopicArn"])["Attributes"].get("KmsMasterKeyId")
            if key not in keys:
                problems.append(f"the topic's key {key!r} is not a key of the account")
    if status not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        problems.append(f"stack status {status}")
    created = ", ".join(f"{n} {k.split('::')[-1]}" for k, n in sorted(found.items()))
    print(f"rehearsal: {args.stack}: {status}; {created}" + "".join(f"; {p}" for p in problems))
    sys.exit(1 if problems else 0)


def main():
    commands = Subcommands(__doc__)
    commands.add("static", static)
    p = commands.add("emulated", emulated)
    p.add_argument("stage")
    p.add_argument("source")
    p.add_argument("target")
    for name, run in (("bootstrap", bootstrap), ("verify", verify)):
        p = commands.add(name, run)
        p.add_argument("--endpoint", required=True)
        p.add_argument("--region", required=True)
        if name == "verify":
            p.add_argument("--stack", required=True)
            p.add_argument("--template", required=True)
    commands.run()


if __name__ == "__main__":
    main()
