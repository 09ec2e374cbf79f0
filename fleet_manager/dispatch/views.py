"""FloorViews: the Dispatcher's FloorState fields as its own attributes, for callers outside."""

from __future__ import annotations

from fleet_manager.alarms import AlarmRegistry
from fleet_manager.dispatch.records import PodState, RobotRecord, StationState
from fleet_manager.dispatch.state import FloorState
from fleet_manager.domain import (
    IdFactory,
    Order,
    OrderId,
    PodId,
    RobotId,
    SlotId,
    StationId,
    Task,
    TaskId,
)
from fleet_manager.events import EventBus
from fleet_manager.inventory import Inventory
from fleet_manager.kpi import KpiTracker
from fleet_manager.site.model import Site
from fleet_manager.traffic.graph import MotionGraph


class FloorViews:
    """Read access to `self.floor` (the simulator, runtime and tests read `dispatcher.robots`
    and the like); `now_s` can also be set, as callers do before issuing a command."""

    floor: FloorState

    @property
    def now_s(self) -> float:
        return self.floor.now_s

    @now_s.setter
    def now_s(self, value: float) -> None:
        self.floor.now_s = value

    @property
    def site(self) -> Site:
        return self.floor.site

    @property
    def graph(self) -> MotionGraph:
        return self.floor.graph

    @property
    def bus(self) -> EventBus:
        return self.floor.bus

    @property
    def alarms(self) -> AlarmRegistry:
        return self.floor.alarms

    @property
    def inventory(self) -> Inventory:
        return self.floor.inventory

    @property
    def kpi(self) -> KpiTracker:
        return self.floor.kpi

    @property
    def ids(self) -> IdFactory:
        return self.floor.ids

    @property
    def orders(self) -> dict[OrderId, Order]:
        return self.floor.orders

    @property
    def tasks(self) -> dict[TaskId, Task]:
        return self.floor.tasks

    @property
    def queued(self) -> dict[TaskId, Task]:
        return self.floor.queued

    @property
    def line_reserved(self) -> dict[tuple[OrderId, int], int]:
        return self.floor.line_reserved

    @property
    def pods(self) -> dict[PodId, PodState]:
        return self.floor.pods

    @property
    def slot_pod(self) -> dict[SlotId, PodId]:
        return self.floor.slot_pod

    @property
    def slot_reserved(self) -> set[SlotId]:
        return self.floor.slot_reserved

    @property
    def stations(self) -> dict[StationId, StationState]:
        return self.floor.stations

    @property
    def robots(self) -> dict[RobotId, RobotRecord]:
        return self.floor.robots

    @property
    def robot_order(self) -> list[RobotId]:
        return self.floor.robot_order

    @property
    def charger_user(self) -> dict[str, str | None]:
        return self.floor.charger_user

    @property
    def park_user(self) -> dict[str, str | None]:
        return self.floor.park_user
