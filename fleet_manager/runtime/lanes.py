"""Sorter lane control seen by the runtime: a Protocol, and a default that keeps lane flags.

The PLC bridge (fleet_manager.sortation / plc_bridge) plugs in by implementing LaneControl;
until then SiteLanes tracks enable/disable per lane of the site and publishes "lane" events.
"""

from __future__ import annotations

from typing import Any, Protocol

from fleet_manager.events import EventBus
from fleet_manager.site.model import Site


class UnknownLane(KeyError):
    """No sorter lane has this id."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown lane"


class LaneControl(Protocol):
    def lanes(self) -> list[dict[str, Any]]: ...

    def set_lane_enabled(self, lane_id: str, enabled: bool, at_s: float) -> dict[str, Any]: ...


class SiteLanes:
    """Lane flags for every lane of every sorter in the site (called on the control thread)."""

    def __init__(self, site: Site, bus: EventBus):
        self._bus = bus
        self._lanes: dict[str, dict[str, Any]] = {}
        for sorter in site.sorters.values():
            for lane in sorter.lanes:
                self._lanes[lane.id] = {
                    "id": lane.id,
                    "sorter_id": sorter.id,
                    "role": lane.role,
                    "capacity_items": lane.capacity_items,
                    "fill_items": 0,
                    "enabled": True,
                }

    def lanes(self) -> list[dict[str, Any]]:
        return [dict(x) for x in self._lanes.values()]

    def set_lane_enabled(self, lane_id: str, enabled: bool, at_s: float) -> dict[str, Any]:
        lane = self._lanes.get(lane_id)
        if lane is None:
            raise UnknownLane(f"unknown sorter lane {lane_id!r}")
        if lane["enabled"] != enabled:
            lane["enabled"] = enabled
            kind = "enabled" if enabled else "disabled"
            self._bus.emit("lane", kind, at_s, lane_id=lane_id, sorter_id=lane["sorter_id"])
        return dict(lane)
