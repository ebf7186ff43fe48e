"""Checks that the OpenAPI documents describe exactly the API the template
deploys: the set of (method, path) of `openapi/*.yaml` equals that of
template.yaml's `Events: Api` (each function's Path and Method), and no
operation appears in two documents. Prints both sides on a mismatch.

Usage: python scripts/openapi_routes.py   (from any directory)
"""

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


class TemplateLoader(yaml.SafeLoader):
    """Reads CloudFormation's short forms (`!Ref`, `!Sub`, …) as plain values."""


def _any_tag(loader, _suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)


TemplateLoader.add_multi_constructor("!", _any_tag)


def template_routes():
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=TemplateLoader)
    routes = set()
    for resource in template["Resources"].values():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event in (resource["Properties"].get("Events") or {}).values():
            if event.get("Type") == "Api":
                routes.add((event["Properties"]["Method"].upper(), event["Properties"]["Path"]))
    return routes


def document_routes():
    """(method, path) → the documents that describe it."""
    routes = {}
    for document in sorted((ROOT / "openapi").glob("*.yaml")):
        spec = yaml.safe_load(document.read_text())
        for path, item in spec.get("paths", {}).items():
            for method in HTTP_METHODS & item.keys():
                routes.setdefault((method.upper(), path), []).append(document.name)
    return routes


def main():
    in_template = template_routes()
    documented = document_routes()
    problems = []
    for route, documents in sorted(documented.items()):
        if len(documents) > 1:
            problems.append(f"{route[0]} {route[1]} is in {', '.join(documents)}")
    for method, path in sorted(in_template - documented.keys()):
        problems.append(f"{method} {path} is deployed (template.yaml) but in no document")
    for method, path in sorted(documented.keys() - in_template):
        problems.append(f"{method} {path} is documented but not deployed (template.yaml)")
    if problems:
        print("openapi routes: the documents and template.yaml differ:", *problems, sep="\n  ")
        return 1
    print(f"openapi routes: the documents describe exactly the template's {len(in_template)} routes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
