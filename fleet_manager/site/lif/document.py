"""The site map an import writes: layout text from cells, features, defaults for the rest."""

from __future__ import annotations

from typing import Any

from fleet_manager.domain import Coord
from fleet_manager.site.lif.parse import LifDocument, LifError, LifLayout

# Defaults for what LIF cannot carry, so an imported floor with slots can run orders at once.
DEFAULT_SKUS = {"count": 100, "prefix": "SKU-", "classes": {"A": 0.2, "B": 0.3, "C": 0.5}}
DEFAULT_PODS = {
    "fill_ratio": 0.85,
    "skus_per_pod": [2, 6],
    "units_per_sku": [5, 40],
    "capacity_units": 500,
    "seed": 1,
}
MAX_CELLS = 4_000_000  # a layout larger than this is a grid fit gone wrong, not a warehouse


def as_list(c: Coord) -> list[int]:
    return [int(c[0]), int(c[1])]


def site_document(
    lay: LifLayout,
    doc: LifDocument,
    name: str | None,
    cell_m: float,
    chars: dict[Coord, str],
    stations: list[dict],
    chargers: list[dict],
    parking: list[dict],
    speeds: list[float],
    notes: list[str],
) -> dict[str, Any]:
    width = max(c[0] for c in chars) + 2
    height = max(c[1] for c in chars) + 2
    if width * height > MAX_CELLS:
        raise LifError(
            f"{lay.path}.nodes",
            f"the nodes span {width} x {height} cells of {cell_m:g} m (over {MAX_CELLS} cells): "
            "not one regular grid",
        )
    rows = [["#"] * width for _ in range(height)]
    for (x, y), ch in chars.items():
        rows[y][x] = ch
    out: dict[str, Any] = {
        "name": name or lay.id,
        "description": (lay.description or lay.name or f"layout {lay.id}")
        + f" (imported from LIF {doc.version})",
        "cell_size_m": round(cell_m, 6),
        "layout": "\n".join("".join(r) for r in rows) + "\n",
    }
    if speeds:
        out["robot_model"] = {"speed_mps": max(speeds)}
        if min(speeds) != max(speeds):
            notes.append(
                f"robot_model: edge maxSpeed varies ({min(speeds):g}..{max(speeds):g} m/s); "
                "speed_mps is the highest, per-edge limits are not kept"
            )
    notes.append(
        "robot_model: LIF 1.0 has no vehicle kinematics or battery: "
        + ("speed_mps from maxSpeed, the rest" if speeds else "all fields")
        + " are the map-format defaults"
    )
    if parking:
        out["robots"] = [
            {"id": f"AMR-{i:02d}", "at": as_list(p["at"])} for i, p in enumerate(parking, 1)
        ]
        notes.append(
            f"robots: LIF has no vehicles; one robot placed on each of the {len(parking)} "
            "parking spots"
        )
    else:
        notes.append("robots: LIF has no vehicles and there is no parking: no robots placed")
    if stations:
        out["stations"] = [
            {
                "id": s["id"],
                "at": as_list(s["at"]),
                "queue": [as_list(q) for q in s["queue"]],
                "pick_time_s_per_unit": s["pick_time_s_per_unit"],
            }
            for s in stations
        ]
    if chargers:
        out["chargers"] = [{"id": c["id"], "at": as_list(c["at"])} for c in chargers]
    if parking:
        out["parking"] = [{"id": p["id"], "at": as_list(p["at"])} for p in parking]
    slots = sum(ch == "s" for ch in chars.values())
    if slots:
        out["slots"] = {"prefix": "L-"}
        out["skus"] = dict(DEFAULT_SKUS)
        out["pods"] = dict(DEFAULT_PODS)
        notes.append(
            f"pods/skus: LIF has no inventory: the {slots} slots (nodes offering pick/drop) get "
            f"the default rule of {DEFAULT_SKUS['count']} SKUs and pods on "
            f"{DEFAULT_PODS['fill_ratio']:.0%} of the slots (seed {DEFAULT_PODS['seed']})"
        )
    return out
