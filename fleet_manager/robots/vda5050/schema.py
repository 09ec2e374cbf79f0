"""Validate VDA 5050 2.1 messages against the official JSON schemas shipped in `schemas/v2`.

Two validators compiled from the same unmodified schema files: fastjsonschema (generated code,
~40x faster) decides valid/invalid for every message at run time; jsonschema then explains a
rejection field by field. fastjsonschema also checks `format: date-time` on timestamps.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import fastjsonschema
from jsonschema import Draft202012Validator, FormatChecker

SCHEMA_DIR = Path(__file__).parent / "schemas" / "v2"
# MQTT subtopic -> schema file; every message type the master sends or receives.
SCHEMA_FILES = {
    "order": "order.schema",
    "instantActions": "instantActions.schema",
    "state": "state.schema",
    "connection": "connection.schema",
    "factsheet": "factsheet.schema",
    "visualization": "visualization.schema",
}


@dataclass(frozen=True)
class SchemaIssue:
    """One schema violation: the dotted field path (`batteryState.batteryCharge`) and why."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class SchemaViolation(ValueError):
    """An outgoing message failed its schema (a bug in the builder, never sent)."""

    def __init__(self, topic: str, issues: list[SchemaIssue]) -> None:
        self.topic = topic
        self.issues = issues
        super().__init__(f"{topic} message invalid: " + "; ".join(map(str, issues[:3])))


@cache
def schema(topic: str) -> dict[str, Any]:
    """The official schema of one subtopic; raises KeyError naming an unknown subtopic."""
    if topic not in SCHEMA_FILES:
        raise KeyError(f"no VDA 5050 schema for subtopic {topic!r}")
    return json.loads((SCHEMA_DIR / SCHEMA_FILES[topic]).read_text())


@cache
def validator(topic: str) -> Draft202012Validator:
    """The explaining (slow) validator for one subtopic."""
    return Draft202012Validator(schema(topic), format_checker=FormatChecker())


@cache
def fast_validator(topic: str) -> Any:
    """The generated (fast) validator for one subtopic: raises on the first violation."""
    return fastjsonschema.compile(schema(topic))


def _path(parts: Any) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(message)"


def check(topic: str, message: Any) -> list[SchemaIssue]:
    """All violations of `message` against the schema of `topic`, stable order (empty = valid)."""
    try:
        fast_validator(topic)(message)
        return []
    except fastjsonschema.JsonSchemaValueException as exc:
        fast_issue = SchemaIssue(_path(exc.path[1:]), exc.message.removeprefix("data."))
    issues = []
    for err in validator(topic).iter_errors(message):
        field = _path(err.absolute_path)
        if err.validator == "required" and isinstance(err.validator_value, list):
            # Name the missing field itself, not its parent object.
            missing = [k for k in err.validator_value if k not in (err.instance or {})]
            if missing:
                field = f"{field}.{missing[0]}" if err.absolute_path else missing[0]
        issues.append(SchemaIssue(field, err.message))
    issues.sort(key=lambda i: i.field)
    return issues or [fast_issue]


def require_valid(topic: str, message: Any) -> None:
    """Raise SchemaViolation when `message` does not match its schema."""
    issues = check(topic, message)
    if issues:
        raise SchemaViolation(topic, issues)
