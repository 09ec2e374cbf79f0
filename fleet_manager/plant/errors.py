"""Plant file errors: every problem names the field and what was expected, all reported at once."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Field names whose values are secrets: never printed, logged or echoed in an error.
_SECRET_NAME = re.compile(r"password|secret|token", re.IGNORECASE)
REDACTED = "***"


def is_secret_field(path: str) -> bool:
    """True when the last component of a field path names a secret (password, *secret*, *token*)."""
    last = path.rsplit(".", 1)[-1]
    return bool(_SECRET_NAME.search(last))


def show(path: str, value: object) -> str:
    """A value for an error message: its repr, or *** when the field holds a secret."""
    return REDACTED if is_secret_field(path) else repr(value)


@dataclass(frozen=True)
class PlantProblem:
    """One fault: the dotted field path (e.g. `fleets[0].broker`) and what was expected."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class PlantError(ValueError):
    """A plant file is unusable; str() is one `FILE: field: message` line per problem."""

    def __init__(self, source: str, problems: list[PlantProblem]):
        self.source = source
        self.problems = list(problems)
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        return [f"{self.source}: {p.field}: {p.message}" for p in self.problems]


class Problems:
    """Collects problems while a plant file is read, so one run reports all of them."""

    def __init__(self) -> None:
        self.items: list[PlantProblem] = []

    def add(self, field: str, message: str) -> None:
        # One problem per field: a value that already failed (e.g. an unset variable) is not
        # reported again by the checks that follow.
        if not any(p.field == field for p in self.items):
            self.items.append(PlantProblem(field, message))

    def __len__(self) -> int:
        return len(self.items)

    def has_under(self, prefix: str) -> bool:
        """Whether a problem was already reported for this field or one below it."""
        return any(
            p.field == prefix or p.field.startswith((prefix + ".", prefix + "["))
            for p in self.items
        )
