"""Map errors that name the file, the field and the location at fault."""

from __future__ import annotations


class MapError(ValueError):
    """A map file is malformed or inconsistent; str() is one line naming file, field and fault."""

    def __init__(self, source: str, field: str, message: str, location: str | None = None):
        self.source = source
        self.field = field
        self.message = message
        self.location = location
        where = f" at {location}" if location else ""
        super().__init__(f"{source}: {field}{where}: {message}")


class MapValidationError(MapError):
    """Several faults found by validation; each is a MapError, listed one per line."""

    def __init__(self, source: str, errors: list[MapError]):
        self.errors = errors
        ValueError.__init__(self, "\n".join(str(e) for e in errors))
        self.source = source
        self.field = errors[0].field if errors else ""
        self.message = errors[0].message if errors else ""
        self.location = errors[0].location if errors else None
