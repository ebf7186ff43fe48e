"""The local AWS emulator: moto's DynamoDB, SES v2 and Secrets Manager, served
single-threaded.

moto's own `moto_server` is threaded, and its threaded server is not atomic
for concurrent conditional writes (a 3-limit counter let 4 to 6 writes through
in 22 of 100 rounds); serving the same WSGI app on one thread was exact in 60
of 60. So: `serve` runs it with werkzeug, threaded=False.

The server answers one path of its own, `GET /_emulator/sent-mail[?to=ADDRESS]`:
the mail SES accepted, oldest first, as a JSON list of {to, from, subject,
body} (the HTML part where a mail has one, which is all moto keeps). moto's
`/moto-api/data.json` holds the same mail, but serialises every model instance
moto ever made (each version of each DynamoDB item) to get there: late in a
test run it took 9-20 s, and the one thread served nothing else meanwhile.

`setup` creates what the functions expect, from the same sources the deployed
stack uses: every table of template.yaml (keys, indexes, TTL), named by the
table variables of the env file, the SES identity of MAIL_FROM's domain
(moto rejects unverified senders), and each secret of
scripts/local-secrets.env (KEY=value) under the name the env file gives in
KEY_SECRET_ID; a secret that exists gets the file's value as its new
version, so setup may run again on a running emulator.
"""

import json
import sys
import time
import urllib.request
from pathlib import Path

from local_env import read_env_file
from subcommands import Subcommands

ROOT = Path(__file__).resolve().parent.parent
LOCAL_SECRETS = ROOT / "scripts" / "local-secrets.env"


SENT_MAIL_PATH = "/_emulator/sent-mail"


def serve(args):
    from moto.server import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import run_simple

    app = with_sent_mail(DomainDispatcherApplication(create_backend_app))
    run_simple(args.host, args.port, app, threaded=False, use_reloader=False)


def with_sent_mail(app):
    """`app`, and SENT_MAIL_PATH answered from moto's SES backends."""
    from urllib.parse import parse_qs

    def application(environ, start_response):
        if environ.get("PATH_INFO") != SENT_MAIL_PATH:
            return app(environ, start_response)
        to = parse_qs(environ.get("QUERY_STRING", "")).get("to", [None])[0]
        body = json.dumps(sent_mail(to)).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    return application


def sent_mail(to=None):
    from moto.ses.models import Message, ses_backends

    mail = []
    # dict.values: the backend dictionaries' own lookups would create an
    # account's or a region's backend on first access.
    for account in dict.values(ses_backends):
        for backend in dict.values(account):
            for message in backend.sent_messages:
                if not isinstance(message, Message):
                    continue  # raw or templated mail: the service sends neither
                recipients = message.destinations.get("ToAddresses", [])
                if to is None or to in recipients:
                    mail.append({"to": recipients, "from": message.source, "subject": message.subject,
                                 "body": message.body})
    return mail


class CfnLoader(__import__("yaml").SafeLoader):
    """Reads CloudFormation short-form tags (!Ref, !Sub, ...) as {Tag: value}."""


def _cfn_tag(loader, tag_suffix, node):
    import yaml

    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    name = "Ref" if tag_suffix == "Ref" else "Fn::" + tag_suffix
    return {name: value}


CfnLoader.add_multi_constructor("!", _cfn_tag)


def template_tables():
    """(env variable, table properties) for each table the functions are told of."""
    import yaml

    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=CfnLoader)
    resources = template["Resources"]
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    tables = []
    for variable, value in variables.items():
        if isinstance(value, dict) and "Ref" in value:
            resource = resources.get(value["Ref"], {})
            if resource.get("Type") == "AWS::DynamoDB::Table":
                tables.append((variable, resource["Properties"]))
    return tables


def setup(args):
    import boto3

    env = read_env_file(args.env_file)
    session = boto3.session.Session(
        aws_access_key_id="local", aws_secret_access_key="local", region_name=env.get("AWS_REGION", "eu-central-1")
    )
    dynamodb = session.client("dynamodb", endpoint_url=args.endpoint)
    existing = set(dynamodb.list_tables()["TableNames"])
    for variable, props in template_tables():
        name = env[variable]
        if name in existing:
            continue
        request = {
            "TableName": name,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": "PAY_PER_REQUEST",
        }
        if props.get("GlobalSecondaryIndexes"):
            request["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        dynamodb.create_table(**request)
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
            )
    sesv2 = session.client("sesv2", endpoint_url=args.endpoint)
    sesv2.create_email_identity(EmailIdentity=env["MAIL_FROM"].rsplit("@", 1)[1])
    secretsmanager = session.client("secretsmanager", endpoint_url=args.endpoint)
    for key, value in read_env_file(LOCAL_SECRETS).items():
        name = env.get(f"{key}_SECRET_ID")
        if not name:
            sys.exit(f"{args.env_file} names no {key}_SECRET_ID for {LOCAL_SECRETS.name}'s {key}")
        try:
            secretsmanager.create_secret(Name=name, SecretString=value)
        except secretsmanager.exceptions.ResourceExistsException:
            secretsmanager.put_secret_value(SecretId=name, SecretString=value)


def wait(args):
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(args.endpoint + "/moto-api/", timeout=1)
            return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"the emulator at {args.endpoint} did not answer within {args.seconds} s")


def main():
    commands = Subcommands(__doc__)
    p = commands.add("serve", serve, help="serve DynamoDB, SES v2 and Secrets Manager on one thread")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p = commands.add("wait", wait, help="wait until the emulator answers")
    p.add_argument("--endpoint", required=True)
    p.add_argument("--seconds", type=float, default=30)
    p = commands.add("setup", setup, help="create the template's tables, the SES identity and the local secrets")
    p.add_argument("--endpoint", required=True)
    p.add_argument("--env-file", default=str(ROOT / "local.env"))
    commands.run()


if __name__ == "__main__":
    main()
