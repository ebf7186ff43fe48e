"""What `sam local` needs besides a container runtime, derived from the
repository's own files so that nothing is written twice:

`template`  template.yaml with each function's CodeUri pointed at the binary
            cargo lambda built for this host. Everything else (routes,
            environment, memory, timeouts) is the template's own. `sam build`
            would do the same, but its Rust builder copies through
            target/lambda/<binary>, where the arm64 deployment build lives.
`env-vars`  the --env-vars file: local.env's values for every variable the
            template declares, with the emulator and link addresses moved to
            where this run serves them. sam local passes a function only the
            variables the template declares; one the template declares but
            local.env lacks is blanked, since its AWS value (a parameter
            store reference, a stack parameter) means nothing here. The
            secrets' names (*_SECRET_ID) are local.env's: the emulator holds
            those secrets (scripts/emulator.py setup).

Runs with SAM CLI's own Python (.local/sam), whose YAML reader understands
CloudFormation's short-form tags.
"""

import json
import re
import sys
from pathlib import Path

from samcli.yamlhelper import yaml_dump, yaml_parse

sys.path.insert(0, str(Path(__file__).resolve().parent))
from local_env import read_env_file  # noqa: E402
from subcommands import Subcommands  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def load_template():
    return yaml_parse((ROOT / "template.yaml").read_text())


def functions(template):
    return {
        name: resource
        for name, resource in template["Resources"].items()
        if resource.get("Type") == "AWS::Serverless::Function"
    }


def write_template(args):
    template = load_template()
    for name, function in functions(template).items():
        binary = function["Metadata"]["BuildProperties"]["Binary"]
        bootstrap = Path(args.lambda_dir) / binary / "bootstrap"
        if not bootstrap.is_file():
            sys.exit(f"{name}: {bootstrap} is missing; build it with cargo lambda first")
        function["Properties"]["CodeUri"] = str(bootstrap.parent.resolve())
        # Built already: no BuildMethod, so SAM uses CodeUri as it is.
        del function["Metadata"]
    Path(args.out).write_text(yaml_dump(template))


def declared_variables(template):
    names = set(template["Globals"]["Function"]["Environment"]["Variables"])
    for function in functions(template).values():
        names |= set(function["Properties"].get("Environment", {}).get("Variables", {}))
    return names


def write_env_vars(args):
    local = read_env_file(ROOT / "local.env")
    values = {}
    for name in sorted(declared_variables(load_template())):
        value = local.get(name, "")
        if name.startswith("AWS_ENDPOINT_URL_"):
            value = args.emulator_url
        elif name in ("SET_PASSWORD_URL", "RESET_CODE_URL_TEMPLATE"):
            # The links in the emails lead to this run's API, as dev.sh does.
            value = re.sub(r"^http://127\.0\.0\.1:\d+", args.api_url, value)
        values[name] = value
    Path(args.out).write_text(json.dumps({"Parameters": values}, indent=2) + "\n")
    unused = sorted(set(local) - set(values) - {"AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"})
    if unused:
        print(f"local.env values not declared in template.yaml, so not passed by sam local: {', '.join(unused)}")


def main():
    commands = Subcommands(__doc__)
    p = commands.add("template", write_template, help="template.yaml with CodeUri pointed at built binaries")
    p.add_argument("--lambda-dir", required=True, help="cargo lambda's output: <dir>/<binary>/bootstrap")
    p.add_argument("--out", required=True)
    p = commands.add("env-vars", write_env_vars, help="the --env-vars file, from local.env")
    p.add_argument("--emulator-url", required=True, help="the emulator as the containers reach it")
    p.add_argument("--api-url", required=True, help="where this run serves the API")
    p.add_argument("--out", required=True)
    commands.run()


if __name__ == "__main__":
    main()
