"""Typed field readers for map sections that collect faults instead of stopping at the first."""

from __future__ import annotations

from typing import Any

from fleet_manager.domain import Coord
from fleet_manager.site.errors import MapError

MISSING: Any = object()


class Faults:
    """Collects MapErrors for one map file; readers report here and return None on a fault."""

    def __init__(self, source: str):
        self.source = source
        self.errors: list[MapError] = []

    def add(self, field: str, message: str, location: str | None = None) -> None:
        self.errors.append(MapError(self.source, field, message, location))


def at_cell(cell: Coord) -> str:
    return f"({cell[0]}, {cell[1]})"


def at_point(point: tuple[float, float]) -> str:
    return f"({point[0]:g}, {point[1]:g}) m"


def _lookup(f: Faults, d: dict, key: str, field: str, default: Any) -> tuple[Any, str]:
    """`d[key]` (or `default`) and its field name; a required field that is absent is reported
    and comes back as MISSING."""
    value = d.get(key, default)
    name = f"{field}.{key}"
    if value is MISSING:
        f.add(name, "required field is missing")
    return value, name


def mapping(f: Faults, value: Any, field: str, allowed: set[str] | None = None) -> dict | None:
    """A YAML mapping; unknown keys are faults (they are usually typos)."""
    if not isinstance(value, dict):
        f.add(field, f"expected a mapping, got {type(value).__name__}")
        return None
    if allowed is not None:
        for key in value:
            if key not in allowed:
                f.add(f"{field}.{key}", f"unknown field (allowed: {', '.join(sorted(allowed))})")
    return value


def sequence(f: Faults, value: Any, field: str) -> list | None:
    if not isinstance(value, list):
        f.add(field, f"expected a list, got {type(value).__name__}")
        return None
    return value


def number(
    f: Faults,
    d: dict,
    key: str,
    field: str,
    default: Any = MISSING,
    min_value: float | None = None,
    positive: bool = False,
    max_value: float | None = None,
) -> float | None:
    """A real number (ints accepted); `positive` means > 0, `min_value` means >= it."""
    value, name = _lookup(f, d, key, field, default)
    if value is MISSING:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        f.add(name, f"expected a number, got {value!r}")
        return None
    value = float(value)
    if positive and value <= 0:
        f.add(name, f"must be > 0, got {value:g}")
        return None
    if min_value is not None and value < min_value:
        f.add(name, f"must be >= {min_value:g}, got {value:g}")
        return None
    if max_value is not None and value > max_value:
        f.add(name, f"must be <= {max_value:g}, got {value:g}")
        return None
    return value


def integer(
    f: Faults,
    d: dict,
    key: str,
    field: str,
    default: Any = MISSING,
    min_value: int | None = None,
    choices: tuple[int, ...] | None = None,
) -> int | None:
    value, name = _lookup(f, d, key, field, default)
    if value is MISSING:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        f.add(name, f"expected an integer, got {value!r}")
        return None
    if min_value is not None and value < min_value:
        f.add(name, f"must be >= {min_value}, got {value}")
        return None
    if choices is not None and value not in choices:
        f.add(name, f"must be one of {', '.join(map(str, choices))}, got {value}")
        return None
    return value


def text(
    f: Faults,
    d: dict,
    key: str,
    field: str,
    default: Any = MISSING,
    choices: tuple[str, ...] | None = None,
) -> str | None:
    value, name = _lookup(f, d, key, field, default)
    if value is MISSING:
        return None
    if value is None and default is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and choices is None:
        value = str(value)  # ids like 7 are fine as "7"
    if not isinstance(value, str) or not value:
        f.add(name, f"expected a non-empty string, got {value!r}")
        return None
    if choices is not None and value not in choices:
        f.add(name, f"must be one of {', '.join(choices)}, got {value!r}")
        return None
    return value


def _is_pair(value: Any, kinds: type | tuple[type, ...]) -> bool:
    """A two-element list or tuple of `kinds` (bools excluded: YAML `true` is no coordinate)."""
    return (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and all(isinstance(v, kinds) and not isinstance(v, bool) for v in value)
    )


def cell(f: Faults, value: Any, field: str) -> Coord | None:
    """A grid cell written as [x, y] (integers; y grows downward)."""
    if not _is_pair(value, int):
        f.add(field, f"expected a cell [x, y] of two integers, got {value!r}")
        return None
    return int(value[0]), int(value[1])


def point_m(f: Faults, value: Any, field: str) -> tuple[float, float] | None:
    """A metric point written as [x_m, y_m]."""
    if not _is_pair(value, (int, float)):
        f.add(field, f"expected a point [x_m, y_m] of two numbers, got {value!r}")
        return None
    return float(value[0]), float(value[1])


def int_range(
    f: Faults, d: dict, key: str, field: str, default: Any = MISSING
) -> tuple[int, int] | None:
    """An inclusive integer range written as [low, high] (or one integer for low == high)."""
    value, name = _lookup(f, d, key, field, default)
    if value is MISSING:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value, value]
    if not _is_pair(value, int) or not 0 <= value[0] <= value[1]:
        f.add(name, f"expected [low, high] integers with 0 <= low <= high, got {value!r}")
        return None
    return int(value[0]), int(value[1])


def label(section: str, index: int, entry: Any) -> str:
    """`stations[ST1]` when the entry has a usable id, else `stations[2]`."""
    if isinstance(entry, dict):
        ident = entry.get("id")
        if isinstance(ident, (str, int)) and not isinstance(ident, bool) and str(ident):
            return f"{section}[{ident}]"
    return f"{section}[{index}]"
