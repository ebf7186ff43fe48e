"""The parts of `make rehearse` in Python (scripts/rehearse.sh runs them).

  static     what CloudFormation and AWS would enforce and the emulator does
             not model, checked on each stage's transformed template
             (scripts/stack_template.py): the API has exactly the configured
             stage, with JSON access logs into a log group with retention;
             every alarm publishes to a topic whose key is the stack's own,
             rotated, and usable by CloudWatch; someone is subscribed; the
             users and audit tables cannot be deleted.
  emulated   a stage's copy of the built template (.aws-sam/build) without
             what the emulator cannot create: the API (moto ignores a REST
             API's `Body`, so its deployment fails for want of methods), with
             it the functions' API events; the alarms and the dashboard (moto
             does not model AWS::CloudWatch::Alarm); the alarm mail
             subscription (moto's CloudFormation skips AWS::SNS::Subscription).
             Transformed here: moto does not run the SAM transform on a
             change set.
  bootstrap  the stack `sam deploy` keeps its artifacts bucket in
             (`aws-sam-cli-managed-default`), which moto cannot create
             through a change set.
  verify     each stage's stack is complete and holds every resource of the
             emulated template.
"""

import argparse
import json
import sys

from stack_template import Stack, stages

EMULATOR_LACKS = (
    "AWS::Serverless::Api",
    "AWS::CloudWatch::Alarm",
    "AWS::CloudWatch::Dashboard",
    "AWS::SNS::Subscription",
)


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
                f"/{args.stack}/" in g["logGroupName"] for g in client("logs").describe_log_groups()["logGroups"]
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(required=True)
    p = commands.add_parser("static")
    p.set_defaults(run=static)
    p = commands.add_parser("emulated")
    p.add_argument("stage")
    p.add_argument("source")
    p.add_argument("target")
    p.set_defaults(run=emulated)
    for name, run in (("bootstrap", bootstrap), ("verify", verify)):
        p = commands.add_parser(name)
        p.add_argument("--endpoint", required=True)
        p.add_argument("--region", required=True)
        if name == "verify":
            p.add_argument("--stack", required=True)
            p.add_argument("--template", required=True)
        p.set_defaults(run=run)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
