"""The site as JSON for drawing: grid, nodes with kinds, stations, chargers, conveyors, AS/RS."""

from __future__ import annotations

from typing import Any

from shapely.geometry import Polygon

from fleet_manager.site.model import Site


def _ring(polygon: Polygon) -> list[list[float]]:
    return [[round(float(x), 3), round(float(y), 3)] for x, y in polygon.exterior.coords]


def _at(site: Site, node: int | None) -> dict[str, Any]:
    if node is None:
        return {"node": None}
    x, y = site.coord(node)
    return {"node": int(node), "x": x, "y": y}


def site_to_json(site: Site) -> dict[str, Any]:
    """Cells are (x, y) grid indices (y down); metric features are in metres from the corner."""
    graph = site.graph
    nodes = [
        [int(x), int(y), str(graph.nodes[i].get("kind", "floor")) if i in graph else "floor"]
        for i, (x, y) in enumerate(site.coords)
    ]
    one_way = [[int(u), int(v)] for u, v in graph.edges if not graph.has_edge(v, u)]
    return {
        "name": site.name,
        "width": site.width,
        "height": site.height,
        "cell_size_m": site.cell_size_m,
        "nodes": nodes,
        "node_format": ["x", "y", "kind"],
        "one_way_edges": one_way,
        "stations": [
            {
                "id": s.id,
                **_at(site, s.node),
                "queue": [list(site.coord(n)) for n in s.queue],
                "pick_time_s_per_unit": s.pick_time_s_per_unit,
            }
            for s in site.stations.values()
        ],
        "chargers": [{"id": c.id, **_at(site, c.node)} for c in site.chargers.values()],
        "parking": [{"id": p.id, **_at(site, p.node)} for p in site.parking.values()],
        "slots": [{"id": s.id, "zone": s.zone, **_at(site, s.node)} for s in site.slots.values()],
        "pods": [{"id": p.id, "slot": p.slot} for p in site.pods.values()],
        "robots": [{"id": r.id, **_at(site, r.start)} for r in site.robots],
        "conveyors": [
            {
                "id": c.id,
                "path_m": [list(p) for p in c.path_m],
                "speed_mps": c.speed_mps,
                "loop": c.loop,
                "length_m": round(c.length_m, 3),
                "points": [
                    {"id": p.id, "kind": p.kind, "position_m": p.position_m, **_at(site, p.node)}
                    for p in c.points
                ],
            }
            for c in site.conveyors.values()
        ],
        "sorters": [
            {
                "id": s.id,
                "conveyor": s.conveyor,
                "scanner_position_m": s.scanner_position_m,
                "lanes": [
                    {
                        "id": lane.id,
                        "divert_position_m": lane.divert_position_m,
                        "capacity_items": lane.capacity_items,
                        "role": lane.role,
                    }
                    for lane in s.lanes
                ],
            }
            for s in site.sorters.values()
        ],
        "asrs": [
            {
                "id": a.id,
                "crane_id": a.crane_id,
                "bays": a.bays,
                "levels": a.levels,
                "depth": a.depth,
                "sides": a.sides,
                **_at(site, a.io_node),
                "io_conveyor": a.io_conveyor,
                "footprint": _ring(a.footprint),
            }
            for a in site.asrs.values()
        ],
        "forbidden": [{"id": f.id, "polygon": _ring(f.polygon)} for f in site.forbidden],
        "sku_count": len(site.skus),
    }
