"""`${VAR}` / `${VAR:-default}` substitution in every string value of a parsed YAML document."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from fleet_manager.plant.errors import Problems

# `$$` is a literal dollar; `${NAME}` must be set; `${NAME:-default}` falls back when unset or empty.
_TOKEN = re.compile(r"\$\$|\$\{([^}]*)\}|\$\{")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class SubstitutionError(ValueError):
    """A `${...}` that cannot be expanded; the message never contains the string's value."""


def expand(text: str, env: Mapping[str, str]) -> str:
    """Expand one string. A `$` not followed by `$` or `{` is kept as it is."""

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "$$":
            return "$"
        body = match.group(1)
        if body is None:
            raise SubstitutionError("unterminated '${' (expected ${VAR} or ${VAR:-default})")
        name, sep, default = body.partition(":-")
        if not _NAME.fullmatch(name):
            raise SubstitutionError(
                f"bad substitution ${{{name}...}}: expected ${{VAR}} or ${{VAR:-default}} "
                "with VAR made of letters, digits and '_'"
            )
        value = env.get(name)
        if sep:
            return value if value else default
        if value is None:
            raise SubstitutionError(f"environment variable {name} is not set")
        return value

    return _TOKEN.sub(replace, text)


def substitute(value: Any, env: Mapping[str, str], path: str, problems: Problems) -> Any:
    """A copy of a YAML value with every string expanded (keys are left alone); each failure is
    recorded under its field path and that string stays as written."""
    if isinstance(value, str):
        try:
            return expand(value, env)
        except SubstitutionError as exc:
            problems.add(path or "file", str(exc))
            return value
    if isinstance(value, Mapping):
        return {
            key: substitute(item, env, _join(path, str(key)), problems)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [substitute(item, env, f"{path}[{i}]", problems) for i, item in enumerate(value)]
    return value


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
