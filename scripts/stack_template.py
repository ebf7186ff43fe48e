"""template.yaml as CloudFormation receives it for each stage of samconfig.toml.

`transformed(stage)` expands the template with the SAM translator (the
library CloudFormation's `AWS::Serverless` transform runs), with the stage's
parameter overrides, region and stack name from samconfig.toml and each
function's code as `sam package` would point at it (an S3 object).
`Stack(stage)` then gives the values a deployed stack's intrinsic functions
would have (`Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::If`, ...), with the physical
names CloudFormation would generate replaced by stable stand-ins, so IAM
policies can be read as the ARNs they grant on.

Used by scripts/iam_check.py and scripts/rehearse.py.
"""

import copy
import logging
import os
import re
import shlex
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
# An account id for ARNs: IAM's decisions here never depend on which.
ACCOUNT = "123456789012"
NO_VALUE = object()
# The translator logs its feature toggles and metrics at WARNING.
logging.getLogger("samtranslator").setLevel(logging.ERROR)


def samconfig():
    return tomllib.loads((ROOT / "samconfig.toml").read_text())


def stages():
    """The stages samconfig.toml deploys, in its order."""
    return [name for name, env in samconfig().items() if isinstance(env, dict) and "deploy" in env]


def stage_settings(stage):
    """(stack name, region, parameter overrides) of a stage."""
    deploy = samconfig()[stage]["deploy"]["parameters"]
    overrides = dict(item.split("=", 1) for item in shlex.split(deploy.get("parameter_overrides", "")))
    return deploy["stack_name"], deploy["region"], overrides


def source_template():
    from samtranslator.yaml_helper import yaml_parse

    return yaml_parse(TEMPLATE.read_text())


class _NoManagedPolicyLookups:
    """The template names managed policies by ARN only: nothing to look up."""

    def load(self):
        return {}


def transformed(stage, template=None):
    """The stage's template (template.yaml's unless given) after the SAM
    transform: plain CloudFormation. Each function's code is an S3 object
    here, as `sam package` leaves it."""
    from samtranslator.translator.transform import transform

    _, region, overrides = stage_settings(stage)
    template = source_template() if template is None else template
    for name, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = f"s3://rehearsal-artifacts/{name}"
    os.environ["AWS_DEFAULT_REGION"] = region
    return transform(template, dict(overrides), _NoManagedPolicyLookups())


def _wildcard(pattern, value, ignore_case):
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE if ignore_case else 0) is not None


def action_matches(pattern, action):
    return _wildcard(pattern, action, ignore_case=True)


def resource_matches(pattern, arn):
    return _wildcard(pattern, arn, ignore_case=False)


class Stack:
    """A stage's transformed template with its intrinsic functions evaluated."""

    def __init__(self, stage):
        self.stage = stage
        self.name, self.region, overrides = stage_settings(stage)
        self.template = transformed(stage)
        self.resources = self.template["Resources"]
        self.parameters = {
            name: str(spec.get("Default", "")) for name, spec in self.template.get("Parameters", {}).items()
        }
        self.parameters.update(overrides)
        self.pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": "aws",
            "AWS::StackName": self.name,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{ACCOUNT}:stack/{self.name}/rehearsal",
        }
        self.conditions = {}
        for name, condition in self.template.get("Conditions", {}).items():
            self.conditions[name] = self._condition(condition)

    # -- physical names and attributes a deployed stack would have
    def physical(self, logical):
        resource = self.resources[logical]
        kind, props = resource["Type"], resource.get("Properties", {})
        named = {
            "AWS::Logs::LogGroup": "LogGroupName",
            "AWS::Lambda::Function": "FunctionName",
            "AWS::DynamoDB::Table": "TableName",
        }.get(kind)
        if named and named in props:
            return self.value(props[named])
        if kind == "AWS::SNS::Topic":
            return f"arn:aws:sns:{self.region}:{ACCOUNT}:{self.name}-{logical}"
        if kind == "AWS::KMS::Key":
            return f"key-{logical.lower()}"
        return f"{self.name}-{logical}-REHEARSAL"

    def attribute(self, logical, attribute):
        kind = self.resources[logical]["Type"]
        name = self.physical(logical)
        arns = {
            "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{self.region}:{ACCOUNT}:table/{name}",
            "AWS::Logs::LogGroup": f"arn:aws:logs:{self.region}:{ACCOUNT}:log-group:{name}:*",
            "AWS::Lambda::Function": f"arn:aws:lambda:{self.region}:{ACCOUNT}:function:{name}",
            "AWS::IAM::Role": f"arn:aws:iam::{ACCOUNT}:role/{name}",
            "AWS::KMS::Key": f"arn:aws:kms:{self.region}:{ACCOUNT}:key/{name}",
            "AWS::CloudWatch::Alarm": f"arn:aws:cloudwatch:{self.region}:{ACCOUNT}:alarm:{name}",
            "AWS::SNS::Topic": name,
        }
        if attribute in ("Arn", "TopicArn") and kind in arns:
            return arns[kind]
        return f"{name}.{attribute}"

    # -- intrinsic functions
    def _condition(self, node):
        if isinstance(node, dict) and len(node) == 1:
            (key, arg), = node.items()
            if key == "Fn::Equals":
                return self.value(arg[0]) == self.value(arg[1])
            if key == "Fn::Not":
                return not self._condition(arg[0])
            if key == "Fn::And":
                return all(self._condition(a) for a in arg)
            if key == "Fn::Or":
                return any(self._condition(a) for a in arg)
            if key == "Condition":
                return self.conditions[arg]
        raise ValueError(f"unsupported condition {node!r}")

    def _ref(self, name):
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        return self.physical(name)

    def _sub(self, text, variables):
        def replace(match):
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and name.split(".", 1)[0] in self.resources:
                return str(self.attribute(*name.split(".", 1)))
            return str(self._ref(name))

        return re.sub(r"\$\{([^}]+)\}", replace, text)

    def value(self, node):
        if isinstance(node, list):
            return [v for v in (self.value(n) for n in node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, arg), = node.items()
            if key == "Ref":
                return self._ref(arg)
            if key == "Fn::GetAtt":
                logical, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.attribute(logical, attribute)
            if key == "Fn::Sub":
                if isinstance(arg, list):
                    variables = {k: self.value(v) for k, v in arg[1].items()}
                    return self._sub(arg[0], variables)
                return self._sub(arg, {})
            if key == "Fn::Join":
                return str(arg[0]).join(str(v) for v in self.value(arg[1]))
            if key == "Fn::Select":
                return self.value(arg[1])[int(self.value(arg[0]))]
            if key == "Fn::Split":
                return str(self.value(arg[1])).split(arg[0])
            if key == "Fn::If":
                return self.value(arg[1] if self.conditions[arg[0]] else arg[2])
        out = {}
        for key, value in node.items():
            value = self.value(value)
            if value is not NO_VALUE:
                out[key] = value
        return out

    def resolved(self, logical):
        """A resource with its intrinsic functions evaluated."""
        return self.value(copy.deepcopy(self.resources[logical]))

    def of_type(self, kind):
        return [name for name, r in self.resources.items() if r["Type"] == kind]
