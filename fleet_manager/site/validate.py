"""Whole-site checks: references, overlaps, reachability, forbidden zones, AS/RS and sorters."""

from __future__ import annotations

from collections import defaultdict

import networkx as nx
import shapely
from shapely.geometry import LineString, box

from fleet_manager.site.errors import MapError
from fleet_manager.site.fields import at_cell, at_point
from fleet_manager.site.model import Site

MAX_PER_KIND = 20  # unreachable faults listed per section before summarising


def _features(site: Site) -> list[tuple[str, int, str]]:
    """(field, node, expected kind) of every floor feature; '' accepts any kind."""
    out: list[tuple[str, int, str]] = []
    for sid, st in site.stations.items():
        out.append((f"stations[{sid}]", st.node, "station"))
        out += [(f"stations[{sid}].queue[{i}]", q, "queue") for i, q in enumerate(st.queue)]
    out += [(f"chargers[{cid}]", c.node, "charger") for cid, c in site.chargers.items()]
    out += [(f"parking[{pid}]", p.node, "parking") for pid, p in site.parking.items()]
    out += [(f"slots[{sid}]", s.node, "storage") for sid, s in site.slots.items()]
    out += [(f"asrs[{aid}].io_cell", a.io_node, "io") for aid, a in site.asrs.items()]
    for cid, conv in site.conveyors.items():
        out += [
            (f"conveyors[{cid}].points[{p.id}].cell", p.node, "dock|io")
            for p in conv.points
            if p.node is not None
        ]
    return out


def validate_site(site: Site) -> list[MapError]:
    """Every fault of a built site, each naming field and location; empty when the site is sound."""
    src = site.source or site.name
    errors: list[MapError] = []

    def add(field: str, message: str, location: str | None = None) -> None:
        errors.append(MapError(src, field, message, location))

    n = site.num_nodes
    if n == 0:
        add("layout", "no traversable cells: the floor graph is empty")
        return errors
    if set(site.graph.nodes) != set(range(n)):
        add("graph", f"nodes must be exactly 0..{n - 1} (one per traversable cell)")
        return errors
    for x, y in site.coords.tolist():
        if not (0 <= x < site.width and 0 <= y < site.height):
            add("coords", f"cell outside the {site.width} x {site.height} map", at_cell((x, y)))

    features = _features(site)
    robots = [(f"robots[{r.id}]", r.start, "") for r in site.robots]
    claimed: dict[int, str] = {}
    for field, node, kind in features + robots:
        if not isinstance(node, int) or not 0 <= node < n:
            add(field, f"node {node!r} is not a node of the graph")
            continue
        cell = site.coord(node)
        actual = site.graph.nodes[node].get("kind")
        if kind and actual not in kind.split("|"):
            add(
                field,
                f"cell is a {actual} cell, expected {kind.replace('|', ' or ')}",
                at_cell(cell),
            )
        if field.startswith("conveyors["):
            continue  # a handoff cell may serve several conveyor points
        owner_key = node if not field.startswith("robots[") else -1 - node
        if owner_key in claimed:
            add(field, f"overlaps {claimed[owner_key]} on the same cell", at_cell(cell))
        else:
            claimed[owner_key] = field
    for key, obj in [
        *site.stations.items(),
        *site.chargers.items(),
        *site.parking.items(),
        *site.slots.items(),
        *site.pods.items(),
        *site.conveyors.items(),
        *site.sorters.items(),
        *site.asrs.items(),
    ]:
        if key != obj.id:
            add(f"[{key}]", f"keyed under {key!r} but its id is {obj.id!r}")

    _check_pods(site, add)
    _check_reachable(site, features + robots, add)
    _check_forbidden(site, features + robots, add)
    _check_conveyors(site, add)
    _check_sorters(site, add)
    _check_asrs(site, add)
    return errors


def _check_pods(site: Site, add) -> None:
    on_slot: dict[str, str] = {}
    for pid, pod in site.pods.items():
        field = f"pods[{pid}]"
        if pod.slot not in site.slots:
            add(f"{field}.slot", f"unknown slot {pod.slot!r}")
            continue
        loc = at_cell(site.coord(site.slots[pod.slot].node))
        if pod.slot in on_slot:
            add(f"{field}.slot", f"overlaps {on_slot[pod.slot]} on slot {pod.slot!r}", loc)
        on_slot[pod.slot] = field
        if sum(pod.inventory.values()) > pod.capacity_units:
            add(
                f"{field}.inventory",
                f"{sum(pod.inventory.values())} units exceed capacity {pod.capacity_units}",
                loc,
            )
        unknown = [s for s in pod.inventory if site.skus and s not in site.skus]
        if unknown:
            add(f"{field}.inventory", f"unknown SKU {unknown[0]!r} (not in the catalog)", loc)


def _check_reachable(site: Site, features: list[tuple[str, int, str]], add) -> None:
    """Every feature lies in the largest strongly connected component: reachable and back."""
    if not features or site.num_nodes == 0:
        return
    main = max(nx.strongly_connected_components(site.graph), key=len)
    per_kind: dict[str, int] = defaultdict(int)
    for field, node, _ in features:
        if not isinstance(node, int) or not 0 <= node < site.num_nodes or node in main:
            continue
        section = field.split("[", 1)[0]
        per_kind[section] += 1
        if per_kind[section] <= MAX_PER_KIND:
            add(
                field,
                f"unreachable: not in the main strongly connected component ({len(main)} "
                "nodes), so a robot cannot get there and back",
                at_cell(site.coord(node)),
            )
    for section, count in per_kind.items():
        if count > MAX_PER_KIND:
            add(section, f"{count - MAX_PER_KIND} more unreachable cells not listed")


def _check_forbidden(site: Site, features: list[tuple[str, int, str]], add) -> None:
    if not site.forbidden or site.num_nodes == 0:
        return
    cs = site.cell_size_m
    cx, cy = (site.coords[:, 0] + 0.5) * cs, (site.coords[:, 1] + 0.5) * cs
    inside: dict[int, str] = {}
    for zone in site.forbidden:
        for node in shapely.intersects_xy(zone.polygon, cx, cy).nonzero()[0].tolist():
            inside.setdefault(int(node), zone.id)
    for field, node, _ in features:
        if node in inside:
            add(field, f"inside forbidden zone {inside[node]}", at_cell(site.coord(node)))
    named = {node for _, node, _ in features}
    for node, zid in inside.items():
        if node not in named:
            add(
                f"forbidden[{zid}]",
                "a graph node's cell centre lies inside the zone",
                at_cell(site.coord(node)),
            )


def _in_extent(site: Site, x: float, y: float) -> bool:
    return 0 <= x <= site.width * site.cell_size_m and 0 <= y <= site.height * site.cell_size_m


def _floor_cells_under(site: Site, geom, hit) -> list[tuple[int, int]]:
    """Traversable cells whose square meets `geom` so that hit(intersection) holds."""
    cs = site.cell_size_m
    x0, y0, x1, y1 = geom.bounds
    out = []
    for y in range(max(0, int(y0 // cs)), min(site.height, int(y1 // cs) + 1)):
        for x in range(max(0, int(x0 // cs)), min(site.width, int(x1 // cs) + 1)):
            cell = box(x * cs, y * cs, (x + 1) * cs, (y + 1) * cs)
            if (x, y) in site.node_at and hit(geom.intersection(cell)):
                out.append((x, y))
    return out


def _check_conveyors(site: Site, add) -> None:
    for cid, conv in site.conveyors.items():
        field = f"conveyors[{cid}]"
        # A belt across the AMR floor would block robots; handoffs happen from beside it.
        over = _floor_cells_under(site, LineString(conv.path_m), lambda g: g.length > 1e-6)
        if over:
            add(f"{field}.path_m", f"crosses {len(over)} traversable cell(s)", at_cell(over[0]))
        for j, (x, y) in enumerate(conv.path_m):
            if not _in_extent(site, x, y):
                add(f"{field}.path_m[{j}]", "point is outside the map's extent", at_point((x, y)))
        if conv.speed_mps <= 0:
            add(f"{field}.speed_mps", f"must be > 0, got {conv.speed_mps:g}")
        ids: set[str] = set()
        for p in conv.points:
            if p.id in ids:
                add(f"{field}.points[{p.id}]", f"duplicate point id {p.id!r}")
            ids.add(p.id)
            if not 0 <= p.position_m <= conv.length_m + 1e-9:
                add(
                    f"{field}.points[{p.id}].position_m",
                    f"{p.position_m:g} m is outside the conveyor (0..{conv.length_m:g} m)",
                )


def _check_sorters(site: Site, add) -> None:
    for sid, sorter in site.sorters.items():
        field = f"sorters[{sid}]"
        conv = site.conveyors.get(sorter.conveyor)
        if conv is None:
            add(f"{field}.conveyor", f"unknown conveyor {sorter.conveyor!r}")
            continue
        length = conv.length_m
        if not 0 <= sorter.scanner_position_m <= length:
            add(
                f"{field}.scanner_position_m",
                f"{sorter.scanner_position_m:g} m is outside the conveyor (0..{length:g} m)",
            )
        if not any(lane.role == "reject" for lane in sorter.lanes):
            add(f"{field}.lanes", "needs one lane with role 'reject'")
        lead_m = sorter.divert_time_s * conv.speed_mps  # belt travel while a divert actuates
        ids: set[str] = set()
        for lane in sorter.lanes:
            lfield = f"{field}.lanes[{lane.id}]"
            if lane.id in ids:
                add(f"{lfield}.id", f"duplicate lane id {lane.id!r}")
            ids.add(lane.id)
            if lane.role not in ("order", "overflow", "reject"):
                add(f"{lfield}.role", f"must be order, overflow or reject, got {lane.role!r}")
            if not 0 <= lane.divert_position_m <= length:
                add(
                    f"{lfield}.divert_position_m",
                    f"{lane.divert_position_m:g} m is outside the conveyor (0..{length:g} m)",
                )
                continue
            gap = lane.divert_position_m - sorter.scanner_position_m
            if conv.loop:
                gap %= length
            if gap < lead_m:
                add(
                    f"{lfield}.divert_position_m",
                    f"only {gap:g} m after the scanner; a divert "
                    f"needs {lead_m:g} m ({sorter.divert_time_s:g} s at {conv.speed_mps:g} m/s)",
                )


def _check_asrs(site: Site, add) -> None:
    seen: list[tuple[str, object]] = []
    for aid, aisle in site.asrs.items():
        field = f"asrs[{aid}]"
        foot = aisle.footprint
        if aisle.io_conveyor is not None and aisle.io_conveyor not in site.conveyors:
            add(f"{field}.io_conveyor", f"unknown conveyor {aisle.io_conveyor!r}")
        x0, y0, x1, y1 = foot.bounds
        if not (_in_extent(site, x0, y0) and _in_extent(site, x1, y1)):
            add(f"{field}.footprint", "extends outside the map's extent", at_point((x0, y0)))
        hits = _floor_cells_under(site, foot, lambda g: g.area > 1e-9)
        if hits:
            add(f"{field}.footprint", f"overlaps {len(hits)} traversable cell(s)", at_cell(hits[0]))
        for other_id, other in seen:
            if foot.intersection(other).area > 1e-9:  # type: ignore[attr-defined]
                add(f"{field}.footprint", f"overlaps asrs[{other_id}]", at_point((x0, y0)))
        for cid, conv in site.conveyors.items():
            if LineString(conv.path_m).intersection(foot).length > 1e-6:
                add(f"{field}.footprint", f"overlaps conveyors[{cid}]", at_point((x0, y0)))
        seen.append((aid, foot))
