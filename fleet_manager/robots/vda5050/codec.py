"""Version codecs: one internal message model (2.1 field names) <-> 2.1.0 or 3.0.0 on the wire.

Adapter, order tracker and simulated vehicle all speak the internal model, which is the 2.1
message shape plus one optional key: a sender may list instant actions apart in
`instantActionStates` (3.0 requires that list; 2.1 reports them inside `actionStates`).
`encode` turns an internal body into the wire form of its version; `decode` turns a wire
message (already validated against its own version's schema) into the internal model, with
instant action states merged into `actionStates`. Fields 3.0 renamed are mapped both ways;
fields only 3.0 has pass through untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Message = dict[str, Any]

# 3.0 renamed a few enum values.
_CONNECTION_V3 = {"CONNECTIONBROKEN": "CONNECTION_BROKEN"}
_OPERATING_MODE_V3 = {"TEACHIN": "TEACH_IN"}
_ESTOP_V3 = {"AUTOACK": "MANUAL"}  # 3.0 dropped AUTOACK; a manual acknowledgement is closest


def _invert(table: dict[str, str]) -> dict[str, str]:
    return {v: k for k, v in table.items()}


@dataclass(frozen=True)
class Codec:
    """One protocol version: its plant-file name, header `version`, topic segment and mapping."""

    version: str  # "2.1" or "3.0" (plant file, schema folder choice)
    protocol_version: str  # header field, e.g. "3.0.0"
    major: str  # topic segment, e.g. "v3"

    @property
    def is_v3(self) -> bool:
        return self.major == "v3"

    def encode(self, subtopic: str, msg: Message) -> Message:
        """Internal body (header included) -> this version's wire message (a new dict)."""
        out = dict(msg)
        out["version"] = self.protocol_version
        if not self.is_v3:
            if subtopic == "state" and "instantActionStates" in out:
                out["actionStates"] = list(out.get("actionStates", [])) + out.pop("instantActionStates")
            return out
        if subtopic == "order":
            out["edges"] = [_edge_to_v3(e) for e in out.get("edges", [])]
        elif subtopic == "instantActions":
            # 3.0: instant actions are always NONE-blocking.
            out["actions"] = [{**a, "blockingType": "NONE"} for a in out.get("actions", [])]
        elif subtopic == "connection":
            state = out["connectionState"]
            out["connectionState"] = _CONNECTION_V3.get(state, state)
        elif subtopic == "state":
            out = _state_to_v3(out)
        return out

    def decode(self, subtopic: str, msg: Message) -> Message:
        """This version's wire message -> internal model (a new dict when anything changes)."""
        if not self.is_v3:
            if subtopic == "state" and "instantActionStates" in msg:  # internal body, not wire
                msg = dict(msg)
                msg["actionStates"] = list(msg.get("actionStates", [])) + msg.pop("instantActionStates")
            return msg
        out = dict(msg)
        if subtopic == "order":
            out["edges"] = _edges_from_v3(out.get("nodes", []), out.get("edges", []))
        elif subtopic == "connection":
            state = out["connectionState"]
            out["connectionState"] = _invert(_CONNECTION_V3).get(state, state)
        elif subtopic == "state":
            out = _state_from_v3(out)
        elif subtopic == "factsheet":
            out = _factsheet_from_v3(out)
        return out


V2 = Codec("2.1", "2.1.0", "v2")
V3 = Codec("3.0", "3.0.0", "v3")
CODECS = {c.version: c for c in (V2, V3)}
BY_MAJOR = {c.major: c for c in (V2, V3)}


def codec_for(version: str) -> Codec:
    """The codec of a plant-file version ("2.1" or "3.0"); ValueError names the bad value."""
    try:
        return CODECS[version]
    except KeyError:
        raise ValueError(
            f"unknown VDA 5050 version {version!r} (use one of {', '.join(CODECS)})"
        ) from None


def _edge_to_v3(edge: Message) -> Message:
    # 3.0 edges connect consecutive nodes of the order; start/end node ids are gone.
    out = {k: v for k, v in edge.items() if k not in ("startNodeId", "endNodeId", "maxSpeed")}
    if "maxSpeed" in edge:
        out["maximumSpeed"] = edge["maxSpeed"]
    return out


def _edges_from_v3(nodes: list[Message], edges: list[Message]) -> list[Message]:
    by_seq = {n["sequenceId"]: n["nodeId"] for n in nodes}
    out = []
    for edge in edges:
        e = {k: v for k, v in edge.items() if k != "maximumSpeed"}
        if "maximumSpeed" in edge:
            e["maxSpeed"] = edge["maximumSpeed"]
        seq = edge["sequenceId"]
        # The stitching node of an update may be absent only if the order is malformed.
        e["startNodeId"] = by_seq.get(seq - 1, "")
        e["endNodeId"] = by_seq.get(seq + 1, "")
        out.append(e)
    return out


def _state_to_v3(st: Message) -> Message:
    out = {k: v for k, v in st.items() if k not in ("batteryState", "agvPosition")}
    battery = st.get("batteryState", {"batteryCharge": 0.0, "charging": False})
    out["powerSupply"] = {"stateOfCharge": battery["batteryCharge"], "charging": battery["charging"]}
    if "agvPosition" in st:
        pos = dict(st["agvPosition"])
        pos["localized"] = pos.pop("positionInitialized")
        out["mobileRobotPosition"] = pos
    out.setdefault("instantActionStates", [])
    safety = dict(st.get("safetyState", {"eStop": "NONE", "fieldViolation": False}))
    estop = safety.pop("eStop", "NONE")
    safety["activeEmergencyStop"] = _ESTOP_V3.get(estop, estop)
    out["safetyState"] = safety
    mode = st.get("operatingMode", "AUTOMATIC")
    out["operatingMode"] = _OPERATING_MODE_V3.get(mode, mode)
    return out


def _state_from_v3(st: Message) -> Message:
    out = {k: v for k, v in st.items()
           if k not in ("powerSupply", "mobileRobotPosition", "instantActionStates")}
    power = st["powerSupply"]
    out["batteryState"] = {"batteryCharge": power["stateOfCharge"], "charging": power["charging"]}
    if "mobileRobotPosition" in st:
        pos = dict(st["mobileRobotPosition"])
        pos["positionInitialized"] = pos.pop("localized")
        out["agvPosition"] = pos
    out["actionStates"] = list(st.get("actionStates", [])) + list(st.get("instantActionStates", []))
    safety = dict(st["safetyState"])
    safety["eStop"] = safety.pop("activeEmergencyStop")
    out["safetyState"] = safety
    mode = st["operatingMode"]
    out["operatingMode"] = _invert(_OPERATING_MODE_V3).get(mode, mode)
    return out


def _factsheet_from_v3(fs: Message) -> Message:
    """The 2.1 names the master reads (speeds, size); the 3.0 original stays under `v3`."""
    phys = fs.get("physicalParameters", {})
    out = dict(fs)
    out["physicalParameters"] = {
        "speedMin": phys.get("minimumSpeed", 0.0),
        "speedMax": phys.get("maximumSpeed", 0.0),
        "accelerationMax": phys.get("maximumAcceleration", 0.0),
        "decelerationMax": phys.get("maximumDeceleration", 0.0),
        "heightMax": phys.get("maximumHeight", 0.0),
        "width": phys.get("width", 0.0),
        "length": phys.get("length", 0.0),
    }
    out["v3"] = fs
    return out
