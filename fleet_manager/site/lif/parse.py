"""LIF 1.x documents: structural checks naming the JSON path; the typed view the importer reads."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

LIF_VERSION = "1.0.0"  # the version written; any 1.x.y is read
BLOCKING_TYPES = ("NONE", "SOFT", "HARD")


class LifError(ValueError):
    """A LIF document is malformed or cannot become a site; str() is one line naming the path."""

    def __init__(self, path: str, message: str):
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")


@dataclass(frozen=True)
class LifNode:
    id: str
    x_m: float
    y_m: float  # LIF/VDA 5050 map frame: right-handed, y up
    path: str  # JSON path of the node, for messages
    actions: dict[str, tuple[str, ...]]  # vehicleTypeId -> action types offered on this node


@dataclass(frozen=True)
class LifEdge:
    id: str
    start: str
    end: str
    path: str
    max_speed_mps: dict[str, float | None]  # vehicleTypeId -> maxSpeed (None: no limit)


@dataclass(frozen=True)
class LifStation:
    id: str
    nodes: tuple[str, ...]  # interactionNodeIds
    name: str
    description: str
    path: str


@dataclass
class LifLayout:
    id: str
    name: str
    description: str
    level_id: str
    path: str
    nodes: list[LifNode] = field(default_factory=list)
    edges: list[LifEdge] = field(default_factory=list)
    stations: list[LifStation] = field(default_factory=list)


@dataclass
class LifDocument:
    version: str
    project: str
    layouts: list[LifLayout]


def _at(path: str, key: str) -> str:
    """JSON path of `key` inside `path`; the document root is ''."""
    return f"{path}.{key}" if path else key


def _obj(value: Any, path: str) -> dict:
    if not isinstance(value, dict):
        raise LifError(path, f"expected a JSON object, got {_kind(value)}")
    return value


def _arr(d: dict, key: str, path: str, *, required: bool = True) -> list:
    if key not in d:
        if required:
            raise LifError(_at(path, key), "missing (required)")
        return []
    value = d[key]
    if not isinstance(value, list):
        raise LifError(_at(path, key), f"expected an array, got {_kind(value)}")
    return value


def _str(d: dict, key: str, path: str, *, required: bool = True) -> str:
    if key not in d:
        if required:
            raise LifError(_at(path, key), "missing (required)")
        return ""
    value = d[key]
    if not isinstance(value, str):
        raise LifError(_at(path, key), f"expected a string, got {_kind(value)}")
    if required and not value:
        raise LifError(_at(path, key), "must not be empty")
    return value


def _num(d: dict, key: str, path: str, *, required: bool = True) -> float | None:
    if key not in d:
        if required:
            raise LifError(_at(path, key), "missing (required)")
        return None
    value = d[key]
    # JSON true/false load as bool, a subclass of int: not a number here.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise LifError(_at(path, key), f"expected a number, got {_kind(value)}")
    if not math.isfinite(value):
        raise LifError(_at(path, key), f"expected a finite number, got {value}")
    return float(value)


def _bool(d: dict, key: str, path: str) -> bool:
    if key not in d:
        raise LifError(_at(path, key), "missing (required)")
    if not isinstance(d[key], bool):
        raise LifError(_at(path, key), f"expected true or false, got {_kind(d[key])}")
    return bool(d[key])


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {value!r}" if len(value) < 40 else "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _actions(props: dict, path: str) -> tuple[str, ...]:
    out: list[str] = []
    for k, raw in enumerate(_arr(props, "actions", path, required=False)):
        apath = f"{path}.actions[{k}]"
        action = _obj(raw, apath)
        out.append(_str(action, "actionType", apath))
        blocking = _str(action, "blockingType", apath)
        if blocking not in BLOCKING_TYPES:
            raise LifError(f"{apath}.blockingType", f"expected one of {', '.join(BLOCKING_TYPES)}")
    return tuple(out)


def _vehicle_types(d: dict, key: str, path: str) -> list[tuple[str, dict, str]]:
    """(vehicleTypeId, property object, its path) for each entry; at least one, no repeats."""
    entries = _arr(d, key, path)
    if not entries:
        raise LifError(_at(path, key), "must not be empty (one entry per vehicle type)")
    out: list[tuple[str, dict, str]] = []
    seen: set[str] = set()
    for k, raw in enumerate(entries):
        ppath = f"{path}.{key}[{k}]"
        props = _obj(raw, ppath)
        vt = _str(props, "vehicleTypeId", ppath)
        if vt in seen:
            raise LifError(f"{ppath}.vehicleTypeId", f"vehicle type {vt!r} listed twice")
        seen.add(vt)
        out.append((vt, props, ppath))
    return out


def _node(raw: Any, path: str) -> LifNode:
    d = _obj(raw, path)
    node_id = _str(d, "nodeId", path)
    if "nodePosition" not in d:
        raise LifError(f"{path}.nodePosition", "missing (required)")
    pos = _obj(d["nodePosition"], f"{path}.nodePosition")
    x = _num(pos, "x", f"{path}.nodePosition")
    y = _num(pos, "y", f"{path}.nodePosition")
    actions: dict[str, tuple[str, ...]] = {}
    for vt, props, ppath in _vehicle_types(d, "vehicleTypeNodeProperties", path):
        _num(props, "theta", ppath, required=False)
        actions[vt] = _actions(props, ppath)
    assert x is not None and y is not None
    return LifNode(node_id, x, y, path, actions)


def _edge(raw: Any, path: str) -> LifEdge:
    d = _obj(raw, path)
    edge_id = _str(d, "edgeId", path)
    start = _str(d, "startNodeId", path)
    end = _str(d, "endNodeId", path)
    speeds: dict[str, float | None] = {}
    for vt, props, ppath in _vehicle_types(d, "vehicleTypeEdgeProperties", path):
        _bool(props, "rotationAllowed", ppath)
        speed = _num(props, "maxSpeed", ppath, required=False)
        if speed is not None and speed <= 0:
            raise LifError(f"{ppath}.maxSpeed", f"must be > 0, got {speed}")
        _actions(props, ppath)
        speeds[vt] = speed
    return LifEdge(edge_id, start, end, path, speeds)


def _station(raw: Any, path: str) -> LifStation:
    d = _obj(raw, path)
    station_id = _str(d, "stationId", path)
    ids = _arr(d, "interactionNodeIds", path)
    if not ids:
        raise LifError(f"{path}.interactionNodeIds", "must not be empty (at least one nodeId)")
    for k, n in enumerate(ids):
        if not isinstance(n, str) or not n:
            raise LifError(f"{path}.interactionNodeIds[{k}]", f"expected a nodeId, got {_kind(n)}")
    if "stationPosition" in d:
        ppath = f"{path}.stationPosition"
        pos = _obj(d["stationPosition"], ppath)
        _num(pos, "x", ppath)
        _num(pos, "y", ppath)
    return LifStation(
        station_id,
        tuple(ids),
        _str(d, "stationName", path, required=False),
        _str(d, "stationDescription", path, required=False),
        path,
    )


def _unique(items: list[Any], what: str, key: str) -> None:
    seen: dict[str, str] = {}
    for item in items:
        if item.id in seen:
            raise LifError(
                f"{item.path}.{key}", f"duplicate {what} {item.id!r} (first at {seen[item.id]})"
            )
        seen[item.id] = item.path


def parse_lif(data: Any) -> LifDocument:
    """Check a decoded LIF 1.x document, return its typed view; LifError at the first fault."""
    doc = _obj(data, "document")
    if "metaInformation" not in doc:
        raise LifError("metaInformation", "missing (required)")
    meta = _obj(doc["metaInformation"], "metaInformation")
    for key in ("projectIdentification", "creator", "exportTimestamp"):
        _str(meta, key, "metaInformation")
    version = _str(meta, "lifVersion", "metaInformation")
    if version.split(".")[0] != "1":
        raise LifError(
            "metaInformation.lifVersion", f"LIF {version} is not supported (this reads LIF 1.x)"
        )
    raw_layouts = _arr(doc, "layouts", "")
    if not raw_layouts:
        raise LifError("layouts", "must hold at least one layout")
    layouts: list[LifLayout] = []
    for i, raw in enumerate(raw_layouts):
        path = f"layouts[{i}]"
        d = _obj(raw, path)
        lay = LifLayout(
            _str(d, "layoutId", path),
            _str(d, "layoutName", path, required=False),
            _str(d, "layoutDescription", path, required=False),
            _str(d, "layoutLevelId", path, required=False),
            path,
        )
        _str(d, "layoutVersion", path)
        lay.nodes = [_node(n, f"{path}.nodes[{k}]") for k, n in enumerate(_arr(d, "nodes", path))]
        lay.edges = [_edge(e, f"{path}.edges[{k}]") for k, e in enumerate(_arr(d, "edges", path))]
        lay.stations = [
            _station(s, f"{path}.stations[{k}]") for k, s in enumerate(_arr(d, "stations", path))
        ]
        layouts.append(lay)
    # Ids are unique across all layouts of one file (LIF 1.0, node/edge/station ids).
    _unique([lay for lay in layouts], "layoutId", "layoutId")
    _unique([n for lay in layouts for n in lay.nodes], "nodeId", "nodeId")
    _unique([e for lay in layouts for e in lay.edges], "edgeId", "edgeId")
    _unique([s for lay in layouts for s in lay.stations], "stationId", "stationId")
    everywhere = {n.id for lay in layouts for n in lay.nodes}
    for lay in layouts:
        own = {n.id for n in lay.nodes}
        for e in lay.edges:
            if e.start not in own:
                raise LifError(f"{e.path}.startNodeId", f"unknown node {e.start!r} in this layout")
            if e.end not in everywhere:  # the end node may lie in another layout
                raise LifError(f"{e.path}.endNodeId", f"unknown node {e.end!r}")
        for s in lay.stations:
            for k, n in enumerate(s.nodes):
                if n not in everywhere:
                    raise LifError(f"{s.path}.interactionNodeIds[{k}]", f"unknown node {n!r}")
    return LifDocument(version, _str(meta, "projectIdentification", "metaInformation"), layouts)
