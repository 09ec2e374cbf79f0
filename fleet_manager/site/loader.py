"""Load a site map (`.yaml`/`.yml` site or `.map` grid) into a fully validated `Site`."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import yaml

from fleet_manager.site.catalog import fractions, parse_pods, parse_skus, split_by_shares
from fleet_manager.site.equipment import (
    forbidden_cells,
    parse_asrs,
    parse_conveyors,
    parse_forbidden,
    parse_sorters,
)
from fleet_manager.site.errors import MapError, MapValidationError
from fleet_manager.site.fields import Faults, at_cell, mapping, number, text
from fleet_manager.site.floor import Floor, parse_placed, parse_stations
from fleet_manager.site.graph_build import floor_graph, grid_graph
from fleet_manager.site.grid_file import load_grid_map
from fleet_manager.site.layout import LEGEND, parse_layout
from fleet_manager.site.model import (
    Charger,
    ParkingSpot,
    PickStation,
    RobotModel,
    RobotSpec,
    Site,
    SkuSpec,
    StorageSlot,
)
from fleet_manager.site.validate import validate_site

TOP_KEYS = {
    "name",
    "description",
    "cell_size_m",
    "layout",
    "robot_model",
    "robots",
    "stations",
    "chargers",
    "parking",
    "slots",
    "skus",
    "pods",
    "conveyors",
    "sorters",
    "asrs",
    "forbidden",
}
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_site(path: str | Path) -> Site:
    """Parse and fully validate a map; raise MapError or MapValidationError, never half-build."""
    path = Path(path)
    source = str(path)
    suffix = path.suffix.lower()
    if suffix == ".map":
        return site_from_grid(path)
    if suffix not in (".yaml", ".yml"):
        raise MapError(source, "file", f"unsupported map type {suffix!r} (use .yaml, .yml or .map)")
    try:
        with path.open() as fh:
            doc = yaml.load(fh, Loader=_Loader)
    except OSError as exc:
        raise MapError(source, "file", f"cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        raise MapError(
            source, "yaml", f"not valid YAML: {getattr(exc, 'problem', exc)}", where
        ) from exc
    return site_from_document(doc, source, path.stem)


def site_from_grid(path: Path) -> Site:
    """A `.map` grid as a Site: the 4-connected graph of free cells, no features, no robots."""
    grid = load_grid_map(path)
    coords, graph = grid_graph(grid.free)
    return Site(
        grid.name,
        1.0,
        grid.width,
        grid.height,
        coords,
        graph,
        RobotModel(),
        [],
        {},
        {},
        {},
        {},
        {},
        {},
        {},
        {},
        [],
        {},
        source=str(path),
    )


def site_from_document(doc: Any, source: str, default_name: str = "site") -> Site:
    """Build a Site from a parsed YAML document, collecting every fault before raising."""
    f = Faults(source)
    if not isinstance(doc, dict):
        raise MapValidationError(
            source, [MapError(source, "document", "expected a mapping at the top")]
        )
    mapping(f, doc, "map", TOP_KEYS)
    name = text(f, doc, "name", "map", default=default_name) or default_name
    cs = number(f, doc, "cell_size_m", "map", positive=True)
    layout = parse_layout(f, doc.get("layout"))
    if layout is None or cs is None:
        raise MapValidationError(source, f.errors)
    zones = parse_forbidden(f, doc.get("forbidden"))
    removed = forbidden_cells(layout, cs, zones)
    floor = Floor(f, layout, removed)
    stations = parse_stations(floor, doc.get("stations"))
    chargers = parse_placed(floor, doc.get("chargers"), "chargers", "C", "CH", "charger")
    parking = parse_placed(floor, doc.get("parking"), "parking", "P", "PK", "parking spot")
    robots = parse_placed(floor, doc.get("robots"), "robots", "R", "AMR-", "robot start")
    conveyors = parse_conveyors(f, doc.get("conveyors"), floor, cs)
    sorters = parse_sorters(f, doc.get("sorters"))
    asrs = parse_asrs(f, doc.get("asrs"), floor, cs)
    for ch, what in (("D", "conveyor handoff cell"), ("I", "AS/RS I/O cell")):
        for c in layout.cells_of(ch):
            if c not in floor.claimed and c not in removed:
                f.add("layout", f"{what} {ch!r} is used by no conveyor point or AS/RS", at_cell(c))

    # Nodes: traversable cells not removed by a forbidden zone, in reading order.
    cells = [
        (x, y)
        for y, row in enumerate(layout.chars)
        for x, ch in enumerate(row)
        if LEGEND[ch] is not None and (x, y) not in removed
    ]
    kinds = [LEGEND[layout.char(c)] or "" for c in cells]
    arrows = {c: layout.char(c) for c in cells if layout.char(c) in "<>^v"}
    graph = floor_graph(cells, kinds, arrows, [(s.pick, s.queue) for s in stations])
    node_at = {c: i for i, c in enumerate(cells)}
    coords = np.array(cells, dtype=np.int64).reshape(-1, 2)

    robot_model = _robot_model(f, doc.get("robot_model"))
    slots = _slots(f, doc.get("slots"), layout.cells_of("s"), removed, node_at, graph, stations)
    skus = parse_skus(f, doc.get("skus"))
    pods = parse_pods(f, doc.get("pods"), list(slots), skus)
    if skus is None:  # no catalog: the listed inventories define it
        skus = {s: SkuSpec(s) for pod in pods.values() for s in pod.inventory}
    site = Site(
        name=name,
        cell_size_m=cs,
        width=layout.width,
        height=layout.height,
        coords=coords,
        graph=graph,
        robot_model=robot_model,
        robots=[RobotSpec(r, node_at[c]) for r, c in robots],
        slots=slots,
        pods=pods,
        stations={
            s.id: PickStation(
                s.id, node_at[s.pick], tuple(node_at[q] for q in s.queue), s.pick_time_s_per_unit
            )
            for s in stations
        },
        chargers={c_id: Charger(c_id, node_at[c]) for c_id, c in chargers},
        parking={p_id: ParkingSpot(p_id, node_at[c]) for p_id, c in parking},
        conveyors={
            c.id: replace(
                c,
                points=tuple(
                    replace(p, node=node_at.get(cells_of[p.id])) if p.id in cells_of else p
                    for p in c.points
                ),
            )
            for c, cells_of in conveyors
        },
        sorters={s.id: s for s in sorters},
        asrs={a.id: replace(a, io_node=node_at[io]) for a, io in asrs},
        forbidden=zones,
        skus=skus,
        source=source,
        node_at=node_at,
        layout=tuple(layout.chars),
    )
    _duplicates(f, "conveyors", [c.id for c, _ in conveyors])
    _duplicates(f, "sorters", [s.id for s in sorters])
    _duplicates(f, "asrs", [a.id for a, _ in asrs])
    if f.errors:  # parse faults dropped features; still report the graph-level faults too
        f.errors.extend(validate_site(site))
        raise MapValidationError(source, f.errors)
    errors = validate_site(site)
    if errors:
        raise MapValidationError(source, errors)
    return site


def _duplicates(f: Faults, section: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for ident in ids:
        if ident in seen:
            f.add(f"{section}[{ident}]", f"duplicate id {ident!r}")
        seen.add(ident)


def _robot_model(f: Faults, value: Any) -> RobotModel:
    if value is None:
        return RobotModel()
    fields = RobotModel.__dataclass_fields__
    d = mapping(f, value, "robot_model", set(fields))
    if d is None:
        return RobotModel()
    vals = {k: number(f, d, k, "robot_model", positive=True) for k in d if k in fields}
    return RobotModel(**{k: v for k, v in vals.items() if v is not None})


def _slots(
    f: Faults,
    value: Any,
    cells: list,
    removed: dict,
    node_at: dict,
    graph: nx.DiGraph,
    stations: list,
) -> dict[str, StorageSlot]:
    """Storage slots from the layout's 's' cells, ids prefix + 'xxx-yyy'; optional ABC zones by
    hop distance to the nearest pick cell (nearest slots get the first class)."""
    d = mapping(f, value if value is not None else {}, "slots", {"prefix", "zones"}) or {}
    prefix = text(f, d, "prefix", "slots", default="L-") or "L-"
    kept = [c for c in cells if c not in removed]
    ids = [f"{prefix}{x:03d}-{y:03d}" for x, y in kept]
    zones = [""] * len(kept)
    if "zones" in d:
        shares = fractions(f, d["zones"], "slots.zones")
        if shares is not None and not stations:
            f.add("slots.zones", "zones are ranked by distance to a station; the map has none")
        elif shares is not None:
            dist = nx.multi_source_dijkstra_path_length(
                graph.to_undirected(as_view=True), [node_at[s.pick] for s in stations]
            )
            order = sorted(
                range(len(kept)), key=lambda k: (dist.get(node_at[kept[k]], 1e18), ids[k])
            )
            for k, cls in zip(order, split_by_shares(len(kept), shares)):
                zones[k] = cls
    return {i: StorageSlot(i, node_at[c], z) for i, c, z in zip(ids, kept, zones)}
