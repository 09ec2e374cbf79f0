"""Site -> LIF 1.0.0: a node per traversable cell, an edge per directed move, stations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fleet_manager.site.lif.parse import LIF_VERSION, LifError
from fleet_manager.site.model import Site

DEFAULT_VEHICLE_TYPE = "wcs.amr"
# stationDescription tags: how this exporter marks what a station is, read back by the importer.
TAG_PICK = "wcs:pick-station"
TAG_CHARGER = "wcs:charger"
TAG_PARKING = "wcs:parking"
TAG_ASRS_IO = "wcs:asrs-io"
TAG_HANDOFF = "wcs:conveyor-handoff"
# VDA 5050 predefined actions offered on nodes: pod lift at slots, charging at chargers.
SLOT_ACTIONS = ("pick", "drop")
CHARGER_ACTIONS = ("startCharging", "stopCharging")


def node_id(x: int, y: int) -> str:
    return f"N{x}_{y}"


def lif_xy(site: Site, node: int) -> tuple[float, float]:
    """Cell centre in the LIF/VDA 5050 map frame: x right, y up, origin at the layout's top-left."""
    x, y = site.node_xy_m(node)
    return round(x, 6), round(-y, 6) + 0.0  # + 0.0 turns -0.0 into 0.0


def _action(action_type: str) -> dict[str, Any]:
    return {"actionType": action_type, "blockingType": "HARD", "requirementType": "CONDITIONAL"}


def _stations(site: Site) -> list[tuple[str, int, str, str]]:
    """(stationId, node, stationName, stationDescription) for every floor interaction point."""
    out: list[tuple[str, int, str, str]] = []
    for s in site.stations.values():
        queue = " ".join(node_id(*site.coord(q)) for q in s.queue)
        desc = f"{TAG_PICK}; queue (farthest first): {queue}" if queue else TAG_PICK
        out.append((s.id, s.node, f"Pick station {s.id}", desc))
    out += [(c.id, c.node, f"Charger {c.id}", TAG_CHARGER) for c in site.chargers.values()]
    out += [(p.id, p.node, f"Parking {p.id}", TAG_PARKING) for p in site.parking.values()]
    out += [(a.id, a.io_node, f"AS/RS I/O {a.id}", TAG_ASRS_IO) for a in site.asrs.values()]
    for conveyor in site.conveyors.values():
        for point in conveyor.points:
            if point.node is not None:
                name = f"Conveyor {conveyor.id} {point.kind} {point.id}"
                out.append((f"{conveyor.id}.{point.id}", point.node, name, TAG_HANDOFF))
    return out


def export_lif(
    site: Site, *, vehicle_type_id: str = DEFAULT_VEHICLE_TYPE, exported_at: datetime | None = None
) -> dict[str, Any]:
    """The site as a LIF 1.0.0 document (a JSON-ready dict) with one layout and one vehicle type."""
    stations = _stations(site)
    seen: dict[str, str] = {}
    for sid, _, name, _ in stations:
        if sid in seen:
            raise LifError(f"stations[{sid}]", f"{name} and {seen[sid]} share one stationId")
        seen[sid] = name
    actions: dict[int, tuple[str, ...]] = {s.node: SLOT_ACTIONS for s in site.slots.values()}
    actions.update({c.node: CHARGER_ACTIONS for c in site.chargers.values()})
    nodes = []
    for n in range(site.num_nodes):
        x_m, y_m = lif_xy(site, n)
        props: dict[str, Any] = {"vehicleTypeId": vehicle_type_id}
        if n in actions:
            props["actions"] = [_action(a) for a in actions[n]]
        nodes.append(
            {
                "nodeId": node_id(*site.coord(n)),
                "nodeName": node_id(*site.coord(n)),
                "nodeDescription": site.graph.nodes[n]["kind"],
                "nodePosition": {"x": x_m, "y": y_m},
                "vehicleTypeNodeProperties": [props],
            }
        )
    edges = []
    for a, b in sorted(site.graph.edges):
        na, nb = node_id(*site.coord(a)), node_id(*site.coord(b))
        edges.append(
            {
                "edgeId": f"{na}-{nb}",
                "startNodeId": na,
                "endNodeId": nb,
                "vehicleTypeEdgeProperties": [
                    {
                        "vehicleTypeId": vehicle_type_id,
                        "rotationAllowed": False,  # the AMRs turn on nodes, never along edges
                        "maxSpeed": site.robot_model.speed_mps,
                    }
                ],
            }
        )
    lif_stations = []
    for sid, node, name, desc in stations:
        x_m, y_m = lif_xy(site, node)
        lif_stations.append(
            {
                "stationId": sid,
                "interactionNodeIds": [node_id(*site.coord(node))],
                "stationName": name,
                "stationDescription": desc,
                "stationPosition": {"x": x_m, "y": y_m},
            }
        )
    stamp = (exported_at or datetime.now(UTC)).astimezone(UTC)
    return {
        "metaInformation": {
            "projectIdentification": site.name,
            "creator": "wcs export-lif",
            "exportTimestamp": stamp.strftime("%Y-%m-%dT%H:%M:%S.")
            + f"{stamp.microsecond // 10000:02d}Z",
            "lifVersion": LIF_VERSION,
        },
        "layouts": [
            {
                "layoutId": site.name,
                "layoutName": site.name,
                "layoutVersion": "1",
                "layoutLevelId": "0",
                "layoutDescription": (
                    f"{site.num_nodes} cells of {site.cell_size_m} m exported from a wcs site map; "
                    "node positions are cell centres, y up, origin at the map's top-left corner"
                ),
                "nodes": nodes,
                "edges": edges,
                "stations": lif_stations,
            }
        ],
    }


def export_notes(site: Site) -> list[str]:
    """What the LIF file cannot carry, one line each (empty parts are not mentioned)."""
    notes: list[str] = []
    if site.robots:
        notes.append(f"robots: {len(site.robots)} robot starts not written (LIF has no vehicles)")
    if site.pods or site.skus:
        notes.append(
            f"pods/skus: {len(site.pods)} pods and {len(site.skus)} SKUs not written; "
            f"the {len(site.slots)} slots are nodes with pick/drop actions"
        )
    rm = site.robot_model
    notes.append(
        f"robot_model: only speed_mps ({rm.speed_mps}) is written, as the edges' maxSpeed; "
        "acceleration, turn and lift times and the battery model are not"
    )
    if site.stations:
        notes.append(
            "stations: pick_time_s_per_unit not written; queues are the one-way edge chain"
        )
    lost = [
        (len(site.conveyors), "conveyors", " (their floor handoff cells are stations)"),
        (len(site.sorters), "sorters", ""),
        (len(site.asrs), "AS/RS aisles", " (their I/O cells are stations)"),
    ]
    for count, what, kept in lost:
        if count:
            notes.append(f"{what}: {count} not written{kept}")
    if site.forbidden:
        notes.append(
            f"forbidden: {len(site.forbidden)} zones not written "
            "(the cells they remove have no node)"
        )
    return notes
