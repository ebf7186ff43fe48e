"""Reads local.env, the local stack's settings, as cargo-lambda does: KEY=VALUE
lines, comments skipped, surrounding quotes removed."""

from pathlib import Path


def read_env_file(path):
    values = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            values[key.strip()] = value
    return values
