"""The runtime's LaneControl (fleet_manager.runtime.lanes) backed by a running PLC bridge."""

from __future__ import annotations

import asyncio
from typing import Any

from fleet_manager.sortation import LaneError
from plc_bridge.service import PlcBridgeService


class PlcLaneControl:
    """`lanes()` and a synchronous `set_lane_enabled(lane_id, enabled, at_s)` for the control
    thread: the decision logic sees the change at once; the PLC command is queued on the bridge's
    event loop (thread-safe), so the caller never waits for Modbus."""

    def __init__(self, service: PlcBridgeService) -> None:
        self.service = service
        self.pending: list[Any] = []  # futures of PLC commands, for tests and shutdown

    def lanes(self) -> list[dict[str, Any]]:
        assigner, setup = self.service.assigner, self.service.config.sorter
        if assigner is None or setup is None:
            return []
        known = self.service.known
        conveyors = self.service.conveyors
        return [
            {
                "id": lane.id,
                "sorter_id": setup.sorter.id,
                "role": lane.role,
                "capacity_items": lane.capacity_items,
                # the PLC's lane word of the last poll; null while the PLC state is unknown
                "fill_items": assigner.fill[lane.id] if known else None,
                "in_flight_items": assigner.in_flight[lane.id],
                "enabled": assigner.enabled[lane.id],
                "plc": self.service.config.name,  # fill is the PLC's lane word, read each poll
                "plc_connected": self.service.transport.connected,
                "plc_state": conveyors,  # running | stopped | unknown
            }
            for lane in setup.sorter.lanes
        ]

    def set_lane_enabled(self, lane_id: str, enabled: bool, at_s: float) -> dict[str, Any]:
        try:
            self.service.apply_lane_enabled(lane_id, enabled, at_s)
        except LaneError as exc:
            raise _unknown_lane(str(exc)) from None
        loop = self.service.loop
        if loop is not None and not loop.is_closed():
            coro = self.service.tell_plc_lane_enabled(lane_id, enabled)
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is loop:
                self.pending.append(loop.create_task(coro))
            else:
                self.pending.append(asyncio.run_coroutine_threadsafe(coro, loop))
        return next(lane for lane in self.lanes() if lane["id"] == lane_id)


def _unknown_lane(message: str) -> Exception:
    """The runtime's UnknownLane when the runtime is loaded (it catches that), else LaneError."""
    try:
        from fleet_manager.runtime.lanes import UnknownLane
    except ImportError:
        return LaneError(message)
    return UnknownLane(message)
