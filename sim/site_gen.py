"""Generated goods-to-person sites (storage blocks, stations on top, chargers below) as Sites.

The generator writes a map document in the regular YAML map format and loads it with the one
site loader, so generated and hand-written maps follow the same rules.
"""

from __future__ import annotations

from typing import Any

from fleet_manager.site.loader import site_from_document
from fleet_manager.site.model import Site


def generate_document(
    *,
    blocks_x: int = 4,
    blocks_y: int = 3,
    block_len: int = 5,
    stations: int = 2,
    queue_len: int = 3,
    robots: int = 6,
    chargers: int = 2,
    parking: int = 0,
    skus: int = 40,
    fill_ratio: float = 0.85,
    seed: int = 0,
    name: str = "generated",
) -> dict[str, Any]:
    """A map document: `blocks_x` x `blocks_y` storage blocks of 2 x `block_len` slots."""
    width = 2 + blocks_x * (block_len + 1) + 1
    station_w = queue_len + 2  # queue cells, pick cell, one aisle cell between stations
    width = max(width, 2 + stations * station_w + 1)
    wall = "#" * width

    def aisle() -> list[str]:
        return ["#"] + ["."] * (width - 2) + ["#"]

    rows: list[list[str]] = [list(wall)]
    top = aisle()
    station_defs = []
    spacing = max(station_w, (width - 3) // max(1, stations))
    for s in range(stations):
        x0 = 2 + s * spacing
        queue = [[x0 + k, 1] for k in range(queue_len)]
        for x, _ in queue:
            top[x] = "q"
        top[x0 + queue_len] = "S"
        station_defs.append({"id": f"ST-{s + 1}", "at": [x0 + queue_len, 1], "queue": queue})
    rows += [top, aisle(), aisle()]
    for _ in range(blocks_y):
        for _ in range(2):
            row = ["#", "."]
            for _ in range(blocks_x):
                row += ["s"] * block_len + ["."]
            row += ["."] * (width - len(row) - 1) + ["#"]
            rows.append(row)
        rows.append(aisle())
    bottom = aisle()
    for c in range(chargers):
        bottom[2 + 2 * c] = "C"
    for p in range(parking):
        bottom[width - 3 - 2 * p] = "P"
    rows += [aisle(), bottom, list(wall)]
    # Robots start spread over the aisle rows below the stations.
    free = [
        (x, y) for y, row in enumerate(rows) for x, ch in enumerate(row) if ch == "." and y >= 2
    ]
    step = max(1, len(free) // max(1, robots))
    starts = free[::step][:robots]
    if len(starts) < robots:
        raise ValueError(f"{robots} robots do not fit on {len(free)} aisle cells")
    return {
        "name": name,
        "cell_size_m": 1.0,
        "layout": "\n".join("".join(r) for r in rows),
        "robots": [{"id": f"AMR-{i + 1:03d}", "at": list(c)} for i, c in enumerate(starts)],
        "stations": station_defs,
        "skus": {"count": skus, "prefix": "SKU-", "classes": {"A": 0.2, "B": 0.3, "C": 0.5}},
        "pods": {
            "fill_ratio": fill_ratio,
            "skus_per_pod": [2, 4],
            "units_per_sku": [10, 30],
            "capacity_units": 200,
            "seed": seed,
            "class_weights": {"A": 5, "B": 2, "C": 1},
        },
    }


def generate_site(**options: Any) -> Site:
    """Build and validate a generated site (see generate_document for the options)."""
    doc = generate_document(**options)
    return site_from_document(doc, f"<generated {doc['name']}>", doc["name"])
