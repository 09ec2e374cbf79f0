"""Builders for VDA 5050 message bodies in the internal (2.1-named) model; see codec.py for 3.0."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from fleet_manager.robots.vda5050.topics import PROTOCOL_VERSION, VehicleAddress

Message = dict[str, Any]
MAP_ID = "floor-0"  # one floor; every node position references it


def timestamp(at: datetime | None = None) -> str:
    """ISO 8601 UTC with milliseconds, e.g. 2026-11-27T00:30:01.125Z."""
    at = at or datetime.now(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


class HeaderStamper:
    """headerId counters, one per subtopic, as the standard asks (incremented per sent message)."""

    def __init__(self, address: VehicleAddress, protocol_version: str = PROTOCOL_VERSION) -> None:
        self.address = address
        self.protocol_version = protocol_version
        self._counters: dict[str, itertools.count[int]] = {}

    def header(self, subtopic: str) -> Message:
        counter = self._counters.setdefault(subtopic, itertools.count(0))
        return {
            "headerId": next(counter),
            "timestamp": timestamp(),
            "version": self.protocol_version,
            "manufacturer": self.address.manufacturer,
            "serialNumber": self.address.serial_number,
        }


def node_id(node: int) -> str:
    return f"n{node}"


def parse_node_id(text: str) -> int | None:
    """Our node ids are `n<int>`; anything else (empty, foreign) is None."""
    if len(text) > 1 and text[0] == "n" and text[1:].isdigit():
        return int(text[1:])
    return None


def edge_id(start: int, end: int) -> str:
    return f"e{start}-{end}"


def wrap_theta(theta_rad: float) -> float:
    return math.atan2(math.sin(theta_rad), math.cos(theta_rad))


def action(
    action_type: str,
    action_id: str,
    blocking: str = "HARD",
    parameters: Iterable[tuple[str, Any]] = (),
) -> Message:
    msg: Message = {"actionType": action_type, "actionId": action_id, "blockingType": blocking}
    params = [{"key": k, "value": v} for k, v in parameters]
    if params:
        msg["actionParameters"] = params
    return msg


def order_node(
    node: int, sequence_id: int, released: bool, xy_m: tuple[float, float],
    actions: Sequence[Message] = (),
) -> Message:
    return {
        "nodeId": node_id(node),
        "sequenceId": sequence_id,
        "released": released,
        "nodePosition": {"x": xy_m[0], "y": xy_m[1], "mapId": MAP_ID},
        "actions": list(actions),
    }


def order_edge(start: int, end: int, sequence_id: int, released: bool, max_speed_mps: float) -> Message:
    return {
        "edgeId": edge_id(start, end),
        "sequenceId": sequence_id,
        "released": released,
        "startNodeId": node_id(start),
        "endNodeId": node_id(end),
        "maxSpeed": max_speed_mps,
        "actions": [],
    }


def init_position_params(node: int, xy_m: tuple[float, float], theta_rad: float) -> list[tuple[str, Any]]:
    """Parameters of the standard `initPosition` instant action."""
    return [
        ("x", xy_m[0]),
        ("y", xy_m[1]),
        ("theta", wrap_theta(theta_rad)),
        ("mapId", MAP_ID),
        ("lastNodeId", node_id(node)),
    ]


def connection(header: Message, state: str) -> Message:
    return {**header, "connectionState": state}
