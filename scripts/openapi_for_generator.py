"""Writes a copy of an OpenAPI document whose request bodies keep only their
first media type, for openapi-python-client 0.29.1: it emits code that does
not import (`Unset` undefined) for a required body with several media types
(its open issue #1451). Family P's bodies are the same schema under
`application/vnd.api+json` and `application/json`, so nothing is lost; drop
this step once the generator is fixed.

Usage: python scripts/openapi_for_generator.py IN.yaml OUT.yaml
"""

import sys

import yaml


def main(source, target):
    with open(source) as f:
        document = yaml.safe_load(f)
    bodies = [
        operation["requestBody"]
        for item in document.get("paths", {}).values()
        for operation in item.values()
        if isinstance(operation, dict) and "content" in operation.get("requestBody", {})
    ]
    bodies += document.get("components", {}).get("requestBodies", {}).values()
    for body in bodies:
        first = next(iter(body["content"]))
        body["content"] = {first: body["content"][first]}
    with open(target, "w") as f:
        yaml.safe_dump(document, f, sort_keys=False, allow_unicode=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
