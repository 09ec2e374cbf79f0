"""LIF 1.x -> site map: nodes on a regular grid become cells, edges the moves, stations the features."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from fleet_manager.domain import Coord
from fleet_manager.site.errors import MapValidationError
from fleet_manager.site.lif.export import SLOT_ACTIONS
from fleet_manager.site.lif.features import Edge, choose_arrows, classify_station, infer_queue
from fleet_manager.site.lif.grid import fit_grid, infer_cell_size
from fleet_manager.site.lif.parse import LifDocument, LifError, LifLayout, parse_lif
from fleet_manager.site.lif.site_yaml import site_yaml
from fleet_manager.site.loader import site_from_document
from fleet_manager.site.model import Site

PICK_TIME_S_PER_UNIT = 10.0  # map-format default; LIF has no pick time
# Defaults for what LIF cannot carry, so an imported floor with slots can run orders at once.
DEFAULT_SKUS = {"count": 100, "prefix": "SKU-", "classes": {"A": 0.2, "B": 0.3, "C": 0.5}}
DEFAULT_PODS = {
    "fill_ratio": 0.85,
    "skus_per_pod": [2, 6],
    "units_per_sku": [5, 40],
    "capacity_units": 500,
    "seed": 1,
}
EXAMPLES = 5  # ids quoted per note


@dataclass
class LifImport:
    """The imported site: the map document, its YAML text, the validated Site and the notes."""

    document: dict[str, Any]
    yaml_text: str
    site: Site
    notes: list[str]


def _some(items: list[str]) -> str:
    more = f" (+{len(items) - EXAMPLES} more)" if len(items) > EXAMPLES else ""
    return ", ".join(items[:EXAMPLES]) + more


def _choose_layout(doc: LifDocument, layout_id: str | None, notes: list[str]) -> LifLayout:
    if layout_id is not None:
        for lay in doc.layouts:
            if lay.id == layout_id:
                break
        else:
            known = ", ".join(repr(x.id) for x in doc.layouts)
            raise LifError("layouts", f"no layout {layout_id!r} (have {known})")
    else:
        lay = doc.layouts[0]
    others = [x.id for x in doc.layouts if x is not lay]
    if others:
        notes.append(f"layouts: imported {lay.id!r} only; not imported: {_some(others)}")
    return lay


def _choose_vehicle_type(lay: LifLayout, wanted: str | None, notes: list[str]) -> str:
    counts = Counter(vt for n in lay.nodes for vt in n.actions)
    if not counts:
        raise LifError(f"{lay.path}.nodes", "the layout has no nodes")
    if wanted is not None:
        if wanted not in counts:
            raise LifError(f"{lay.path}.nodes", f"no node is open to vehicle type {wanted!r}")
        vt = wanted
    else:
        top = max(counts.values())
        vt = min(k for k, v in counts.items() if v == top)
    if len(counts) > 1:
        others = sorted(set(counts) - {vt})
        notes.append(f"vehicle types: imported {vt!r} only; ignored: {_some(others)}")
    return vt


def import_lif_site(
    data: Any,
    *,
    layout_id: str | None = None,
    vehicle_type_id: str | None = None,
    name: str | None = None,
    source: str = "LIF import",
) -> LifImport:
    """Turn a decoded LIF document into a validated site map; raise LifError naming the JSON path."""
    doc = parse_lif(data)
    notes: list[str] = []
    lay = _choose_layout(doc, layout_id, notes)
    vt = _choose_vehicle_type(lay, vehicle_type_id, notes)
    nodes = [n for n in lay.nodes if vt in n.actions]
    if len(nodes) < len(lay.nodes):
        closed = [n.id for n in lay.nodes if vt not in n.actions]
        notes.append(f"nodes: {len(closed)} not open to {vt!r}, left out: {_some(closed)}")
    cell_m = infer_cell_size(np.array([(n.x_m, n.y_m) for n in nodes], dtype=float))
    if cell_m is None:
        raise LifError(
            f"{lay.path}.nodes", "need two nodes at distinct positions to infer the grid"
        )
    fit = fit_grid(nodes, cell_m)
    if fit.off_grid:
        notes.append(
            f"nodes: {len(fit.off_grid)} off the {cell_m:g} m grid, left out: {_some(fit.off_grid)}"
        )
    if fit.doubled:
        pairs = [f"{a} (on {b}'s cell)" for a, b in fit.doubled]
        notes.append(
            f"nodes: {len(pairs)} share a cell with another node, left out: {_some(pairs)}"
        )
    cell_of = fit.cells
    node_cells = set(cell_of.values())
    name_of = {c: n for n, c in cell_of.items()}

    wanted, filler, speeds = _edges(lay, vt, cell_of, node_cells, notes)
    chars: dict[Coord, str] = {c: "." for c in node_cells | filler}
    stations, chargers, parking = _stations(lay, vt, nodes, cell_of, wanted, chars, notes)
    for n in nodes:
        c = cell_of.get(n.id)
        if c is not None and chars[c] == "." and any(a in SLOT_ACTIONS for a in n.actions[vt]):
            chars[c] = "s"
    chars.update(choose_arrows(chars, [(s["at"], s["queue"]) for s in stations], wanted))

    document = _document(lay, doc, name, cell_m, chars, stations, chargers, parking, speeds, notes)
    site = _validated(document, source, lay)
    _report_edge_differences(site, wanted, name_of, notes)
    header = [
        (
            f"Imported by `wcs import-lif` from LIF {doc.version} (project {doc.project!r}, "
            f"layout {lay.id!r}, vehicle type {vt!r}). Format: docs/map-format.md."
        ),
        *(f"note: {n}" for n in notes),
    ]
    return LifImport(document, site_yaml(document, header), site, notes)


def import_lif(data: Any, **options: Any) -> tuple[str, list[str]]:
    """(site map YAML text, notes on what could not be mapped) for a decoded LIF document."""
    result = import_lif_site(data, **options)
    return result.yaml_text, result.notes


def _edges(
    lay: LifLayout, vt: str, cell_of: dict[str, Coord], node_cells: set[Coord], notes: list[str]
) -> tuple[set[Edge], set[Coord], list[float]]:
    """Unit moves between cells; straight edges spanning several cells fill the cells between."""
    own = {n.id for n in lay.nodes}
    wanted: set[Edge] = set()
    filler: set[Coord] = set()
    speeds: list[float] = []
    closed, elsewhere, unplaced, diagonal, long_edges = [], [], [], [], 0
    for e in lay.edges:
        if vt not in e.max_speed_mps:
            closed.append(e.id)
            continue
        if e.end not in own:
            elsewhere.append(e.id)
            continue
        a, b = cell_of.get(e.start), cell_of.get(e.end)
        if a is None or b is None:
            unplaced.append(e.id)
            continue
        dx, dy = b[0] - a[0], b[1] - a[1]
        if dx and dy:
            diagonal.append(e.id)
            continue
        steps = abs(dx) + abs(dy)
        ux, uy = int(np.sign(dx)), int(np.sign(dy))
        prev = a
        for k in range(1, steps + 1):
            nxt = (a[0] + ux * k, a[1] + uy * k)
            if k < steps and nxt not in node_cells:
                filler.add(nxt)
            wanted.add((prev, nxt))
            prev = nxt
        long_edges += steps > 1
        if e.max_speed_mps[vt] is not None:
            speeds.append(float(e.max_speed_mps[vt]))  # type: ignore[arg-type]
    for items, what in (
        (closed, f"not open to {vt!r}"),
        (elsewhere, "lead into another layout"),
        (unplaced, "touch a node left out"),
        (diagonal, "are not along a grid axis"),
    ):
        if items:
            notes.append(f"edges: {len(items)} {what}, left out: {_some(items)}")
    if long_edges:
        notes.append(
            f"edges: {long_edges} span several cells; {len(filler)} floor cells filled in between"
        )
    return wanted, filler, speeds


def _stations(
    lay: LifLayout,
    vt: str,
    nodes: list,
    cell_of: dict[str, Coord],
    wanted: set[Edge],
    chars: dict[Coord, str],
    notes: list[str],
) -> tuple[list[dict], list[dict], list[dict]]:
    actions = {n.id: n.actions[vt] for n in nodes}
    owner: dict[Coord, str] = {}
    picks: list[dict] = []
    chargers: list[dict] = []
    parking: list[dict] = []
    for st in lay.stations:
        usable = [n for n in st.nodes if n in cell_of]
        if not usable:
            notes.append(f"stations: {st.id!r} has no interaction node on the grid, left out")
            continue
        if len(usable) > 1:
            notes.append(
                f"stations: {st.id!r} has {len(usable)} interaction nodes; uses {usable[0]}"
            )
        c = cell_of[usable[0]]
        if c in owner:
            notes.append(f"stations: {st.id!r} shares node {usable[0]} with {owner[c]!r}, left out")
            continue
        kind = classify_station(st, actions.get(usable[0], ()))
        entry = {"id": st.id, "at": c}
        if kind == "pick":
            picks.append(entry)
            chars[c] = "S"
        elif kind == "charger":
            chargers.append(entry)
            chars[c] = "C"
        elif kind == "parking":
            parking.append(entry)
            chars[c] = "P"
        else:
            what = "an AS/RS I/O point" if kind == "asrs-io" else "a conveyor handoff point"
            notes.append(
                f"stations: {st.id!r} is {what}; the site has no AS/RS or conveyors: plain floor"
            )
            continue
        owner[c] = st.id
    taken = set(owner)
    for s in picks:
        s["queue"] = infer_queue(s["at"], wanted, taken)
        for q in s["queue"]:
            chars[q] = "q"
            taken.add(q)
        s["pick_time_s_per_unit"] = PICK_TIME_S_PER_UNIT
    if picks:
        notes.append(f"stations: pick_time_s_per_unit not in LIF: {PICK_TIME_S_PER_UNIT:g} s each")
    return picks, chargers, parking


def _document(
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
            f"robots: LIF has no vehicles; one robot placed on each of the {len(parking)} parking spots"
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


def as_list(c: Coord) -> list[int]:
    return [int(c[0]), int(c[1])]


def _validated(document: dict[str, Any], source: str, lay: LifLayout) -> Site:
    try:
        return site_from_document(document, source, document["name"])
    except MapValidationError as exc:
        first = exc.errors[0] if exc.errors else exc
        where = f" at {first.location}" if first.location else ""
        more = f" (+{len(exc.errors) - 1} more faults)" if len(exc.errors) > 1 else ""
        raise LifError(
            lay.path,
            f"the imported site does not validate: {first.field}{where}: {first.message}{more}",
        ) from exc


def _report_edge_differences(
    site: Site, wanted: set[Edge], name_of: dict[Coord, str], notes: list[str]
) -> None:
    got = {(site.coord(a), site.coord(b)) for a, b in site.graph.edges}

    def label(e: Edge) -> str:
        a, b = (name_of.get(c, f"cell {c[0]},{c[1]}") for c in e)
        return f"{a}->{b}"

    missing = sorted(wanted - got)
    extra = sorted(got - wanted)
    if missing:
        notes.append(
            f"edges: {len(missing)} moves the grid rules cannot express: {_some([label(e) for e in missing])}"
        )
    if extra:
        notes.append(
            f"edges: {len(extra)} moves the grid adds that the LIF lacks: {_some([label(e) for e in extra])}"
        )
