"""Dispatch records: robots, stations and pods as the control loop tracks them, and errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from fleet_manager.domain import NodeId, OrderId, PodId, RobotId, SlotId, StationId, TaskId
from fleet_manager.robots.adapter import CommandRejected, RobotAdapter, RobotStatus
from fleet_manager.site.model import PickStation


class UnknownResource(LookupError):
    """A command named a robot, station, order or task id that does not exist."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown resource"


__all__ = ["CommandRejected", "Phase", "PodState", "RobotRecord", "StationState", "UnknownResource"]


class Phase(StrEnum):
    """Where a robot is in its current task."""

    IDLE = "idle"
    TO_POD = "to_pod"
    TO_STATION = "to_station"
    SERVICE = "at_station"  # picking or restocking at the pick cell
    TO_SLOT = "to_slot"  # returning the pod to storage
    TO_CHARGER = "to_charger"
    CHARGING = "charging"
    TO_PARK = "to_park"


@dataclass
class RobotRecord:
    """One robot under dispatch: its adapter, latest status and task progress."""

    adapter: RobotAdapter
    status: RobotStatus
    phase: Phase = Phase.IDLE
    task_id: TaskId | None = None
    goal: NodeId | None = None
    out_of_service: bool = False
    service_left_s: float = 0.0
    pod_id: PodId | None = None  # pod this robot's task concerns
    slot_id: SlotId | None = None  # return slot once chosen
    station_id: StationId | None = None
    charger_id: str | None = None
    park_id: str | None = None
    fault_alarm_id: str | None = None
    seen_online: bool = False  # reported at least once (a vehicle not yet heard is not "lost")
    # A fault of record (e.g. restored after a restart): no work until a technician clears it.
    held_fault: str | None = None
    # Why the robot's state is unknown (after a restart mid-trip): no work until confirmed.
    needs_check: str | None = None

    @property
    def id(self) -> RobotId:
        return self.status.robot_id

    @property
    def can_take_work(self) -> bool:
        s = self.status
        return (
            self.phase == Phase.IDLE
            and self.task_id is None
            and not self.out_of_service
            and self.held_fault is None
            and self.needs_check is None
            and s.online
            and s.error is None
            and not s.paused
        )

    @property
    def pinned(self) -> bool:
        s = self.status
        return (
            s.busy
            or s.paused
            or not s.online
            or s.error is not None
            or s.charging
            or self.phase == Phase.SERVICE
        )


@dataclass
class StationState:
    """A pick station: orders it holds (oldest first), fetch tasks coming, who is at the pick."""

    spec: PickStation
    order_ids: list[OrderId] = field(default_factory=list)
    inbound: set[TaskId] = field(default_factory=set)
    serving_robot: RobotId | None = None
    dirty: bool = True  # demand may have changed: re-plan pod fetches
    starved: bool = False  # demand left that no free pod could cover
    # How picks are confirmed: "simulated_operator" (after the modelled pick time) or "api" /
    # "scanner" (the visit ends when the WMS, a terminal or a scan confirms it).
    confirm: str = "simulated_operator"

    @property
    def id(self) -> StationId:
        return self.spec.id


@dataclass
class PodState:
    """A pod: its home slot, where it stands now (None while carried), which task holds it."""

    id: PodId
    home: SlotId
    slot: SlotId | None
    task_id: TaskId | None = None
    carried_by: RobotId | None = None
    visits: int = 0
