"""The ASCII `layout` block: legend, parsing into a character grid, and per-cell node kinds."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fleet_manager.domain import Coord
from fleet_manager.site.fields import Faults, at_cell

# Legend: layout character -> node kind (None: not traversable).
LEGEND: dict[str, str | None] = {
    ".": "aisle",  # two-way floor
    "R": "aisle",  # floor with a robot's start position
    ">": "aisle",  # one-way lane cells: moves along the lane only in the arrow's direction
    "<": "aisle",
    "^": "aisle",
    "v": "aisle",
    "s": "storage",  # pod storage slot (a spur off the aisle next to it)
    "S": "station",  # pick cell of a pick station
    "q": "queue",  # queue cell of a pick station
    "C": "charger",
    "P": "parking",
    "I": "io",  # AS/RS input/output cell
    "D": "dock",  # conveyor induct/outfeed cell where an AMR hands over a load
    "#": None,  # wall, column, rack: not traversable
    "_": None,  # off the AMR floor (conveyors, AS/RS, offices): not traversable
    " ": None,
}
ARROWS: dict[str, Coord] = {">": (1, 0), "<": (-1, 0), "^": (0, -1), "v": (0, 1)}


@dataclass
class Layout:
    """The character grid, indexed chars[y][x]; rows shorter than the widest are padded with '_'."""

    chars: list[str]
    width: int
    height: int

    def char(self, c: Coord) -> str:
        return self.chars[c[1]][c[0]]

    def inside(self, c: Coord) -> bool:
        return 0 <= c[0] < self.width and 0 <= c[1] < self.height

    def cells_of(self, ch: str) -> list[Coord]:
        """Cells holding `ch`, in reading order (row by row, left to right)."""
        return [(x, y) for y, row in enumerate(self.chars) for x, c in enumerate(row) if c == ch]

    def traversable_mask(self) -> np.ndarray:
        mask = np.zeros((self.height, self.width), dtype=bool)
        for y, row in enumerate(self.chars):
            mask[y] = [LEGEND.get(ch) is not None for ch in row]
        return mask


def parse_layout(f: Faults, value: object) -> Layout | None:
    """Parse the `layout` block; unknown characters are faults naming their cell."""
    if not isinstance(value, str) or not value.strip():
        f.add("layout", "required block of text rows is missing or empty")
        return None
    rows = value.split("\n")
    while rows and not rows[-1].strip():
        rows.pop()
    while rows and not rows[0].strip():
        rows.pop(0)
    width = max(len(r) for r in rows)
    chars = [r.ljust(width, "_") for r in rows]
    bad = 0
    for y, row in enumerate(chars):
        for x, ch in enumerate(row):
            if ch not in LEGEND:
                bad += 1
                if bad <= 20:
                    f.add(
                        "layout",
                        f"unknown character {ch!r} (see docs/map-format.md)",
                        at_cell((x, y)),
                    )
        if any(ch not in LEGEND for ch in row):  # read on as a wall so other faults still show
            chars[y] = "".join(ch if ch in LEGEND else "#" for ch in row)
    if bad > 20:
        f.add("layout", f"{bad - 20} more unknown characters not listed")
    return Layout(chars, width, len(chars))
