"""Typed reads of plant-file values that record a problem (field + expectation) instead of raising.

Values may be strings after `${VAR}` substitution, so numbers and booleans written as strings
are coerced here. A read that fails returns None and the caller builds nothing from it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fleet_manager.plant.errors import Problems, show

MISSING: Any = object()
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def type_name(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    return type(value).__name__


class Section:
    """One YAML mapping of the plant file at a field path, with its allowed keys checked."""

    def __init__(self, raw: Any, path: str, problems: Problems, allowed: set[str] | None = None):
        self.path = path
        self.problems = problems
        self.ok = isinstance(raw, Mapping)
        self.raw: Mapping[str, Any] = raw if self.ok else {}
        if not self.ok:
            problems.add(path or "file", f"expected a mapping, got {type_name(raw)}")
        elif allowed is not None:
            for key in self.raw:
                if str(key) not in allowed:
                    problems.add(
                        join(path, str(key)),
                        f"unknown field (allowed: {', '.join(sorted(allowed))})",
                    )

    def field(self, key: str) -> str:
        return join(self.path, key)

    def has(self, key: str) -> bool:
        return key in self.raw and self.raw[key] is not None

    def get(self, key: str, default: Any = MISSING) -> Any:
        """The raw value; a required key (no default) that is absent is reported as missing."""
        if self.has(key):
            return self.raw[key]
        if default is MISSING and self.ok:
            self.problems.add(self.field(key), "required field is missing")
        return None if default is MISSING else default

    def text(self, key: str, default: Any = MISSING, *, empty_ok: bool = False) -> str | None:
        value = self.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.problems.add(self.field(key), f"expected a string, got {type_name(value)}")
            return None
        value = str(value)
        if not value and not empty_ok:
            self.problems.add(self.field(key), "expected a non-empty string")
            return None
        return value

    def choice(self, key: str, choices: tuple[str, ...], default: Any = MISSING) -> str | None:
        value = self.get(key, default)
        if value is None:
            return None
        if not isinstance(value, str) or value not in choices:
            self.problems.add(
                self.field(key),
                f"expected one of {', '.join(choices)}, got {show(self.field(key), value)}",
            )
            return None
        return value

    def integer(self, key: str, low: int, high: int | None, default: Any = MISSING) -> int | None:
        value = self.get(key, default)
        return None if value is None else integer(value, self.field(key), low, high, self.problems)

    def number(self, key: str, default: Any = MISSING, *, positive: bool = True) -> float | None:
        value = self.get(key, default)
        if value is None:
            return None
        where = self.field(key)
        parsed = _as_number(value)
        if parsed is None or (positive and parsed <= 0):
            wanted = "a number > 0" if positive else "a number"
            self.problems.add(where, f"expected {wanted}, got {show(where, value)}")
            return None
        return parsed

    def boolean(self, key: str, default: bool) -> bool | None:
        value = self.get(key, default)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        where = self.field(key)
        self.problems.add(where, f"expected true or false, got {show(where, value)}")
        return None

    def path_of(self, key: str, base_dir: Path, default: Any = MISSING) -> Path | None:
        """A file path relative to the plant file's directory; it must exist."""
        value = self.text(key, default)
        if value is None:
            return None
        path = Path(value).expanduser()
        path = Path(os.path.normpath(path if path.is_absolute() else base_dir / path))
        if not path.is_file():
            what = "is not a file" if path.exists() else "not found"
            self.problems.add(self.field(key), f"file {value} {what} (looked at {path})")
            return None
        return path


def integer(value: Any, where: str, low: int, high: int | None, problems: Problems) -> int | None:
    """An int, or a string of one (from `${VAR}`), within low..high."""
    parsed: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = int(value.strip(), 10)
        except ValueError:
            parsed = None
    bounds = f"{low}..{high}" if high is not None else f">= {low}"
    if parsed is None or parsed < low or (high is not None and parsed > high):
        problems.add(where, f"expected an integer {bounds}, got {show(where, value)}")
        return None
    return parsed


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        parsed = float(value)
    elif isinstance(value, str):
        try:
            parsed = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return parsed if math.isfinite(parsed) else None
