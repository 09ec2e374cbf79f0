"""Validate VDA 5050 2.1 / 3.0 messages against the official JSON schemas in `schemas/v2`, `v3`.

Two validators compiled from the same unmodified schema files: fastjsonschema (generated code,
~40x faster) decides valid/invalid for every message at run time; jsonschema then explains a
rejection field by field. fastjsonschema also checks `format: date-time` on timestamps.
The 3.0.0 release ships three schemas with trailing commas (not strict JSON, see
schemas/PROVENANCE.md); the files stay byte-for-byte upstream and the loader drops those commas.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import fastjsonschema
from jsonschema import Draft202012Validator, FormatChecker

SCHEMA_ROOT = Path(__file__).parent / "schemas"
SCHEMA_DIR = SCHEMA_ROOT / "v2"  # 2.1 (kept for callers that predate 3.0)
VERSIONS = {"2.1": "v2", "3.0": "v3"}  # plant-file version -> schema folder
# MQTT subtopic -> schema file; every message type the master sends or receives.
SCHEMA_FILES = {
    "order": "order.schema",
    "instantActions": "instantActions.schema",
    "state": "state.schema",
    "connection": "connection.schema",
    "factsheet": "factsheet.schema",
    "visualization": "visualization.schema",
}
V3_ONLY_FILES = {"responses": "responses.schema", "zoneSet": "zoneSet.schema"}


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


def strip_trailing_commas(text: str) -> str:
    """Drop commas directly before `}` or `]` outside strings (upstream 3.0.0 syntax slips)."""
    out: list[str] = []
    in_string = escaped = False
    for i, ch in enumerate(text):
        if in_string:
            out.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            continue
        if ch == '"':
            in_string = True
        elif ch == ",":
            rest = text[i + 1:i + 64].lstrip()
            if rest[:1] in ("}", "]"):
                continue
        out.append(ch)
    return "".join(out)


def _check_version(version: str) -> str:
    if version not in VERSIONS:
        raise KeyError(f"unknown VDA 5050 version {version!r} (known: {', '.join(VERSIONS)})")
    return VERSIONS[version]


@cache
def schema(topic: str, version: str = "2.1") -> dict[str, Any]:
    """The official schema of one subtopic; raises KeyError naming an unknown subtopic/version."""
    folder = _check_version(version)
    files = SCHEMA_FILES | (V3_ONLY_FILES if folder == "v3" else {})
    if topic not in files:
        raise KeyError(f"no VDA 5050 {version} schema for subtopic {topic!r}")
    return json.loads(strip_trailing_commas((SCHEMA_ROOT / folder / files[topic]).read_text()))


@cache
def validator(topic: str, version: str = "2.1") -> Draft202012Validator:
    """The explaining (slow) validator for one subtopic."""
    return Draft202012Validator(schema(topic, version), format_checker=FormatChecker())


@cache
def fast_validator(topic: str, version: str = "2.1") -> Any:
    """The generated (fast) validator for one subtopic: raises on the first violation."""
    return fastjsonschema.compile(schema(topic, version))


def _path(parts: Any) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(message)"


def check(topic: str, message: Any, version: str = "2.1") -> list[SchemaIssue]:
    """All violations of `message` against the schema of `topic`, stable order (empty = valid)."""
    try:
        fast_validator(topic, version)(message)
        return []
    except fastjsonschema.JsonSchemaValueException as exc:
        fast_issue = SchemaIssue(_path(exc.path[1:]), exc.message.removeprefix("data."))
    issues = []
    for err in validator(topic, version).iter_errors(message):
        field = _path(err.absolute_path)
        if err.validator == "required" and isinstance(err.validator_value, list):
            # Name the missing field itself, not its parent object.
            missing = [k for k in err.validator_value if k not in (err.instance or {})]
            if missing:
                field = f"{field}.{missing[0]}" if err.absolute_path else missing[0]
        issues.append(SchemaIssue(field, err.message))
    issues.sort(key=lambda i: i.field)
    return issues or [fast_issue]


def require_valid(topic: str, message: Any, version: str = "2.1") -> None:
    """Raise SchemaViolation when `message` does not match its schema."""
    issues = check(topic, message, version)
    if issues:
        raise SchemaViolation(topic, issues)
