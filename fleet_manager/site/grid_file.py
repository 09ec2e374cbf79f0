"""Reader for MovingAI / League of Robot Runners `.map` grid files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fleet_manager.site.errors import MapError

# MovingAI passable terrain; LoRR adds E (emitter) and S (service) cells, both passable.
PASSABLE = frozenset(".GSE")


@dataclass(frozen=True)
class GridMap:
    """A grid of free (True) and blocked (False) cells, indexed free[y, x]."""

    name: str
    width: int
    height: int
    free: np.ndarray


def load_grid_map(path: str | Path) -> GridMap:
    """Read a `.map` file; raise MapError naming the line for a malformed header or row."""
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise MapError(str(path), "file", f"cannot read: {exc.strerror}") from exc
    header: dict[str, str] = {}
    i = 0
    while i < len(lines) and lines[i].strip() != "map":
        parts = lines[i].split()
        if len(parts) == 2:
            header[parts[0]] = parts[1]
        elif lines[i].strip():
            raise MapError(str(path), f"line {i + 1}", f"bad header line {lines[i]!r}")
        i += 1
    for key in ("height", "width"):
        if key not in header or not header[key].isdigit():
            raise MapError(str(path), key, "missing or not a positive integer in the header")
    height, width = int(header["height"]), int(header["width"])
    rows = lines[i + 1 : i + 1 + height]
    if len(rows) != height:
        raise MapError(str(path), "map", f"expected {height} rows, found {len(rows)}")
    free = np.zeros((height, width), dtype=bool)
    for y, row in enumerate(rows):
        if len(row) < width:
            raise MapError(str(path), f"row {y}", f"expected {width} columns, found {len(row)}")
        free[y] = [ch in PASSABLE for ch in row[:width]]
    return GridMap(path.stem, width, height, free)
