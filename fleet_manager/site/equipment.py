"""Metric equipment sections: forbidden zones, conveyors, sorters and AS/RS aisles."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString, Point, Polygon

from fleet_manager.domain import Coord
from fleet_manager.site.fields import (
    Faults,
    at_cell,
    at_point,
    integer,
    label,
    mapping,
    number,
    point_m,
    sequence,
    text,
)
from fleet_manager.site.floor import Floor
from fleet_manager.site.layout import Layout
from fleet_manager.site.model import (
    AsrsAisle,
    Conveyor,
    ConveyorPoint,
    CraneModel,
    ForbiddenZone,
    Sorter,
    SorterLane,
)

HEADINGS: dict[str, tuple[float, float]] = {
    "east": (1.0, 0.0),
    "west": (-1.0, 0.0),
    "north": (0.0, -1.0),
    "south": (0.0, 1.0),
}
HANDOFF_CELLS = 2.0  # a handoff cell's centre lies within this many cells of its metric point


def parse_forbidden(f: Faults, value: Any) -> list[ForbiddenZone]:
    zones: list[ForbiddenZone] = []
    ids: set[str] = set()
    for i, raw in enumerate((sequence(f, value, "forbidden") if value is not None else []) or []):
        fld = label("forbidden", i, raw)
        d = mapping(f, raw, fld, {"id", "polygon_m"})
        if d is None:
            continue
        zid = text(f, d, "id", fld)
        raw_pts = sequence(f, d.get("polygon_m"), f"{fld}.polygon_m")
        if raw_pts is None:
            continue
        pts = [point_m(f, p, f"{fld}.polygon_m[{j}]") for j, p in enumerate(raw_pts)]
        if len(pts) < 3:
            f.add(f"{fld}.polygon_m", "needs at least 3 points [x_m, y_m]")
            continue
        if zid is None or None in pts:
            continue
        poly = Polygon(pts)
        if not poly.is_valid or poly.area <= 0:
            f.add(
                f"{fld}.polygon_m", "polygon is self-intersecting or has no area", at_point(pts[0])
            )
            continue
        if zid in ids:
            f.add(f"{fld}.id", f"duplicate forbidden zone id {zid!r}")
            continue
        ids.add(zid)
        zones.append(ForbiddenZone(zid, poly))
    return zones


def forbidden_cells(
    layout: Layout, cell_size_m: float, zones: list[ForbiddenZone]
) -> dict[Coord, str]:
    """Cells whose centre lies inside (or on the edge of) a zone, mapped to the zone's id."""
    out: dict[Coord, str] = {}
    if not zones:
        return out
    ys, xs = np.mgrid[0 : layout.height, 0 : layout.width]
    cx, cy = (xs.ravel() + 0.5) * cell_size_m, (ys.ravel() + 0.5) * cell_size_m
    for zone in zones:
        inside = shapely.intersects_xy(zone.polygon, cx, cy)
        for k in np.nonzero(inside)[0].tolist():
            out.setdefault((int(xs.ravel()[k]), int(ys.ravel()[k])), zone.id)
    return out


def _handoff_near(
    f: Faults, floor: Floor, c: Coord, target: tuple[float, float], fld: str, cs: float
) -> bool:
    centre = ((c[0] + 0.5) * cs, (c[1] + 0.5) * cs)
    dist = math.dist(centre, target)
    if dist > HANDOFF_CELLS * cs:
        f.add(
            fld,
            f"cell centre is {dist:.2f} m from its point {at_point(target)} "
            f"(at most {HANDOFF_CELLS * cs:g} m)",
            at_cell(c),
        )
        return False
    return True


def parse_conveyors(f: Faults, value: Any, floor: Floor, cs: float) -> list[tuple[Conveyor, dict]]:
    """Conveyors plus, per conveyor, point id -> floor cell (for the node lookup later)."""
    out: list[tuple[Conveyor, dict]] = []
    for i, raw in enumerate((sequence(f, value, "conveyors") if value is not None else []) or []):
        fld = label("conveyors", i, raw)
        d = mapping(f, raw, fld, {"id", "path_m", "speed_mps", "loop", "points"})
        if d is None:
            continue
        cid = text(f, d, "id", fld)
        speed = number(f, d, "speed_mps", fld, positive=True)
        raw_path = sequence(f, d.get("path_m"), f"{fld}.path_m")
        path = [point_m(f, p, f"{fld}.path_m[{j}]") for j, p in enumerate(raw_path or [])]
        if raw_path is None or None in path or len(path) < 2:
            if raw_path is not None and len(path) < 2:
                f.add(f"{fld}.path_m", "needs at least 2 points [x_m, y_m]")
            continue
        loop = d.get("loop", path[0] == path[-1])
        if not isinstance(loop, bool):
            f.add(f"{fld}.loop", f"expected true or false, got {loop!r}")
            continue
        if loop and path[0] != path[-1]:
            path.append(path[0])
        line = LineString(path)
        points: list[ConveyorPoint] = []
        cells: dict[str, Coord] = {}
        for j, rp in enumerate(sequence(f, d.get("points", []), f"{fld}.points") or []):
            pfld = f"{fld}.points[{j}]"
            pd = mapping(f, rp, pfld, {"id", "kind", "position_m", "cell"})
            if pd is None:
                continue
            pid = text(f, pd, "id", pfld)
            kind = text(f, pd, "kind", pfld, choices=("induct", "outfeed"))
            pos = number(f, pd, "position_m", pfld, min_value=0.0)
            c = None
            if pd.get("cell") is not None:
                c = floor.resolve(pd["cell"], f"{pfld}.cell", "DI", "handoff cell", claim=False)
                if c is None:
                    continue
                floor.claimed.setdefault(c, pfld)
            if pid is None or kind is None or pos is None:
                continue
            if pos > line.length + 1e-9:
                f.add(
                    f"{pfld}.position_m",
                    f"{pos:g} m is beyond the conveyor length {line.length:g} m",
                )
                continue
            if c is not None:
                p = line.interpolate(pos)
                if not _handoff_near(f, floor, c, (p.x, p.y), f"{pfld}.cell", cs):
                    continue
                cells[pid] = c
            points.append(ConveyorPoint(pid, kind, pos, None))
        if cid is None or speed is None:
            continue
        out.append((Conveyor(cid, tuple(path), speed, tuple(points), loop), cells))
    return out


LANE_KEYS = {"id", "divert_position_m", "capacity_items", "role", "side", "length_m"}


def parse_sorters(f: Faults, value: Any) -> list[Sorter]:
    """Sorters; references and positions are checked by validate_site (they need conveyors)."""
    out: list[Sorter] = []
    for i, raw in enumerate((sequence(f, value, "sorters") if value is not None else []) or []):
        fld = label("sorters", i, raw)
        d = mapping(f, raw, fld, {"id", "conveyor", "scanner_position_m", "divert_time_s", "lanes"})
        if d is None:
            continue
        sid = text(f, d, "id", fld)
        conv = text(f, d, "conveyor", fld)
        scan = number(f, d, "scanner_position_m", fld, min_value=0.0)
        divert = number(f, d, "divert_time_s", fld, min_value=0.0)
        lanes: list[SorterLane] = []
        for j, rl in enumerate(sequence(f, d.get("lanes"), f"{fld}.lanes") or []):
            lfld = f"{fld}.lanes[{j}]" if not isinstance(rl, dict) else label(f"{fld}.lanes", j, rl)
            ld = mapping(f, rl, lfld, LANE_KEYS)
            if ld is None:
                continue
            lid = text(f, ld, "id", lfld)
            pos = number(f, ld, "divert_position_m", lfld, min_value=0.0)
            cap = integer(f, ld, "capacity_items", lfld, min_value=1)
            role = text(
                f, ld, "role", lfld, default="order", choices=("order", "overflow", "reject")
            )
            side = text(f, ld, "side", lfld, default="left", choices=("left", "right"))
            length = number(f, ld, "length_m", lfld, default=3.0, positive=True)
            if None in (lid, pos, cap, role, side, length):
                continue
            lanes.append(SorterLane(lid, pos, cap, role, side, length))  # type: ignore[arg-type]
        if None in (sid, conv, scan, divert):
            continue
        out.append(Sorter(sid, conv, scan, divert, tuple(lanes)))  # type: ignore[arg-type]
    return out


ASRS_KEYS = {
    "id",
    "crane_id",
    "bays",
    "levels",
    "depth",
    "sides",
    "bay_pitch_m",
    "level_pitch_m",
    "aisle_start_m",
    "heading",
    "aisle_width_m",
    "slot_depth_m",
    "io_cell",
    "io_conveyor",
    "crane",
}
CRANE_KEYS = set(CraneModel.__dataclass_fields__)


def asrs_footprint(
    start: tuple[float, float],
    heading: str,
    length_m: float,
    aisle_width_m: float,
    rack_m: float,
    sides: int,
) -> Polygon:
    """Rectangle of aisle plus racks; a one-sided rack stands on the right of the heading."""
    ux, uy = HEADINGS[heading]
    nx_, ny_ = -uy, ux  # right-hand normal with y growing downward
    lo = -(aisle_width_m / 2 + (rack_m if sides == 2 else 0.0))
    hi = aisle_width_m / 2 + rack_m
    corners = [(t, w) for t, w in ((0, lo), (length_m, lo), (length_m, hi), (0, hi))]
    return Polygon([(start[0] + ux * t + nx_ * w, start[1] + uy * t + ny_ * w) for t, w in corners])


def parse_asrs(f: Faults, value: Any, floor: Floor, cs: float) -> list[tuple[AsrsAisle, Coord]]:
    """AS/RS aisles with their I/O cell (node ids are filled in by the loader)."""
    out: list[tuple[AsrsAisle, Coord]] = []
    for i, raw in enumerate((sequence(f, value, "asrs") if value is not None else []) or []):
        fld = label("asrs", i, raw)
        d = mapping(f, raw, fld, ASRS_KEYS)
        if d is None:
            continue
        aid = text(f, d, "id", fld)
        crane_id = text(f, d, "crane_id", fld, default=f"{aid}-crane")
        bays = integer(f, d, "bays", fld, min_value=1)
        levels = integer(f, d, "levels", fld, min_value=1)
        depth = integer(f, d, "depth", fld, default=1, choices=(1, 2))
        sides = integer(f, d, "sides", fld, default=2, choices=(1, 2))
        bay_p = number(f, d, "bay_pitch_m", fld, positive=True)
        lvl_p = number(f, d, "level_pitch_m", fld, positive=True)
        width = number(f, d, "aisle_width_m", fld, default=1.2, positive=True)
        slot_d = number(f, d, "slot_depth_m", fld, default=0.8, positive=True)
        heading = text(f, d, "heading", fld, default="east", choices=tuple(HEADINGS))
        start = point_m(f, d.get("aisle_start_m"), f"{fld}.aisle_start_m")
        io_conv = text(f, d, "io_conveyor", fld, default=None)
        crane_raw = mapping(f, d.get("crane", {}), f"{fld}.crane", CRANE_KEYS)
        crane_vals = {
            k: number(f, crane_raw, k, f"{fld}.crane", positive=True)
            for k in (crane_raw or {})
            if k in CRANE_KEYS
        }
        io = floor.resolve(d.get("io_cell"), f"{fld}.io_cell", "I", "I/O cell")
        vals = (
            aid,
            crane_id,
            bays,
            levels,
            depth,
            sides,
            bay_p,
            lvl_p,
            width,
            slot_d,
            heading,
            start,
        )
        if None in vals or crane_raw is None or None in crane_vals.values() or io is None:
            continue
        assert start is not None and heading is not None and bays and bay_p and width and slot_d
        if not _handoff_near(f, floor, io, start, f"{fld}.io_cell", cs):
            continue
        length = bays * bay_p
        foot = asrs_footprint(start, heading, length, width, (depth or 1) * slot_d, sides or 2)
        aisle = AsrsAisle(
            aid,
            crane_id,
            bays,
            levels,
            depth,
            sides,
            bay_p,
            lvl_p,
            -1,  # type: ignore[arg-type]
            io_conv,
            CraneModel(**crane_vals),
            foot,
            start,
            heading,
            width,
            slot_d,
        )
        out.append((aisle, io))
    return out


def point_on(conveyor: Conveyor, position_m: float) -> Point:
    return LineString(conveyor.path_m).interpolate(position_m)
