"""Dispatcher: the per-tick control loop over robot adapters (allocation, planning, commands)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fleet_manager.alarms import AlarmRegistry
from fleet_manager.allocation import CostModel, RobotView, make_assignment_policy
from fleet_manager.dispatch_commands import Commands
from fleet_manager.dispatch_exec import Executor
from fleet_manager.dispatch_g2p import G2PPlanner
from fleet_manager.dispatch_motion import Motion
from fleet_manager.dispatch_present import Presentations
from fleet_manager.dispatch_state import Phase, PodState, RobotRecord, StationState
from fleet_manager.domain import IdFactory, Order, OrderId, Task, TaskId, TaskKind, TaskState
from fleet_manager.events import EventBus
from fleet_manager.g2p import G2PConfig
from fleet_manager.inventory import Inventory, ScanEvent
from fleet_manager.kpi import KpiTracker
from fleet_manager.robots.adapter import RobotAdapter
from fleet_manager.site.model import Site
from fleet_manager.traffic.graph import MotionGraph

Scanner = Callable[[dict[str, Any], str, str, float], ScanEvent]  # pick, pod, station, now


def perfect_scanner(pick: dict[str, Any], pod: str, station: str, now_s: float) -> ScanEvent:
    """A picker who always takes exactly what was asked."""
    return ScanEvent(pick["sku"], pick["qty"], pod, station, now_s)


@dataclass(frozen=True)
class DispatchConfig:
    """Dispatcher settings; `g2p` holds the goods-to-person policy names."""

    g2p: G2PConfig = field(default_factory=G2PConfig)
    assignment: str = "batch"  # allocation policy: batch | greedy | fifo
    restock_s_per_unit: float = 2.0
    age_weight: float = 0.05  # seconds of travel cost forgiven per second a task waited
    priority_weight_s: float = 120.0  # seconds of travel cost forgiven per priority level


class Dispatcher(Commands):
    """Owns orders, tasks, inventory and robot records; `tick` runs one control step."""

    def __init__(
        self,
        site: Site,
        robots: list[RobotAdapter],
        *,
        bus: EventBus,
        alarms: AlarmRegistry,
        config: DispatchConfig | None = None,
        seed: int = 0,
        tick_s: float = 1.0,
        scanner: Scanner = perfect_scanner,
        graph: MotionGraph | None = None,
    ) -> None:
        self.site = site
        self.bus = bus
        self.alarms = alarms
        self.config = config or DispatchConfig()
        self.tick_s = tick_s
        self.now_s = 0.0
        self.rng = np.random.default_rng(seed)
        self.scanner = scanner
        self.ids = IdFactory()
        self.graph = graph or MotionGraph.from_site(site)
        self.orders: dict[OrderId, Order] = {}
        self.tasks: dict[TaskId, Task] = {}
        self.queued: dict[
            TaskId, Task
        ] = {}  # queued robot tasks, oldest first (kept by transition)
        self.line_reserved: dict[tuple[OrderId, int], int] = {}
        self.inventory = Inventory({p.id: p.inventory for p in site.pods.values()}, site.skus)
        self.pods = {p.id: PodState(p.id, p.slot, p.slot) for p in site.pods.values()}
        self.slot_pod: dict[str, str] = {p.slot: p.id for p in site.pods.values()}
        self.slot_reserved: set[str] = set()
        self.stations = {s.id: StationState(s) for s in site.stations.values()}
        self.robots: dict[str, RobotRecord] = {}
        for adapter in robots:
            self.robots[adapter.id] = RobotRecord(adapter, adapter.status())
        self.robot_order = list(self.robots)
        self.charger_user: dict[str, str | None] = {c: None for c in site.chargers}
        self.park_user: dict[str, str | None] = {p: None for p in site.parking}
        self.kpi = KpiTracker(
            list(self.stations), {s.id: s.spec.pick_time_s_per_unit for s in self.stations.values()}
        )
        self.costs = CostModel(
            self.graph, site.robot_model, tick_s, [c.node for c in site.chargers.values()]
        )
        self.assigner = make_assignment_policy(self.config.assignment)
        self.g2p = G2PPlanner(self)
        self.present = Presentations(self)
        self.exec = Executor(self)
        self.motion = Motion(self)

    # ---- events and transitions ----------------------------------------------------------------
    def add_task(self, task: Task) -> Task:
        self.tasks[task.id] = task
        if task.state == TaskState.QUEUED and self.exec.robot_task(task):
            self.queued[task.id] = task
        self.bus.emit("task", "created", self.now_s, **self._task_data(task))
        return task

    def new_task(
        self,
        kind: TaskKind,
        payload: dict[str, Any],
        *,
        priority: int = 0,
        order_id: OrderId | None = None,
        due_s: float | None = None,
    ) -> Task:
        task = Task(self.ids.next("T"), kind, self.now_s, priority, due_s, order_id, payload)
        return self.add_task(task)

    def transition(
        self, task: Task, to: TaskState, reason: str = "", resource: str | None = None
    ) -> None:
        event = task.transition(to, self.now_s, reason, resource)
        if to == TaskState.QUEUED and self.exec.robot_task(task):
            self.queued[task.id] = task
        else:
            self.queued.pop(task.id, None)
        self.bus.emit(
            "task",
            to.value,
            self.now_s,
            from_state=event.from_state,
            reason=reason,
            **self._task_data(task),
        )

    def _task_data(self, task: Task) -> dict[str, Any]:
        return {
            "task_id": task.id,
            "task_kind": task.kind.value,
            "state": task.state.value,
            "resource_id": task.resource_id,
            "order_id": task.order_id,
            "payload": self.present.public_payload(task),
        }

    def order_event(self, order: Order, kind: str, **extra: Any) -> None:
        self.bus.emit(
            "order",
            kind,
            self.now_s,
            order_id=order.id,
            state=order.state.value,
            station_id=order.station_id,
            priority=order.priority,
            open_units=order.open_units,
            **extra,
        )

    def robot_event(self, rec: RobotRecord, kind: str, **extra: Any) -> None:
        self.bus.emit(
            "robot",
            kind,
            self.now_s,
            robot_id=rec.id,
            phase=rec.phase.value,
            task_id=rec.task_id,
            **extra,
        )

    # ---- the loop -------------------------------------------------------------------------------
    def tick(self, now_s: float) -> None:
        """One control step at time `now_s`: read robots, progress tasks, plan, allocate, move."""
        self.now_s = now_s
        for rec in self.robots.values():
            rec.status = rec.adapter.status()
        self.exec.check_faults()
        self.exec.progress(self.tick_s)
        self.g2p.plan()
        self.exec.battery()
        self.allocate()
        self.motion.step()
        self.kpi.on_tick(
            [self._tick_state(r) for r in self.robots.values()],
            {
                s.id: s.serving_robot is not None
                and self.robots[s.serving_robot].phase == Phase.SERVICE
                for s in self.stations.values()
            },
        )

    def _tick_state(self, rec: RobotRecord) -> str:
        if rec.phase in (Phase.TO_CHARGER, Phase.CHARGING):
            return "charging"
        if rec.phase != Phase.IDLE:
            return "working"
        if rec.status.error is not None or not rec.status.online or rec.out_of_service:
            return "blocked"
        if rec.status.battery_soc < self.site.robot_model.charge_threshold:
            return "waiting_charger"  # needs a charge, every charger is taken
        return "idle"

    def allocate(self) -> None:
        """Hand queued robot tasks to free robots: robot-bound ones first, then by cost."""
        free = [r for r in self.robots.values() if r.can_take_work]
        if not free:
            return
        if not self.queued:
            return
        queued = list(self.queued.values())
        bound = [t for t in queued if t.payload.get("robot")]
        for task in sorted(bound, key=lambda t: (-t.priority, t.created_s, t.id)):
            rec = self.robots.get(task.payload["robot"])
            if rec is not None and rec.can_take_work and self.exec.start(rec, task):
                free.remove(rec)
        model = self.site.robot_model
        free = [r for r in free if r.status.battery_soc >= model.charge_threshold]
        open_tasks = [
            t for t in queued if not t.payload.get("robot") and t.state == TaskState.QUEUED
        ]
        if not free or not open_tasks:
            return
        open_tasks.sort(key=lambda t: (-t.priority, t.created_s, t.id))
        waits = self.exec.station_waits()
        views = [self.exec.task_view(t, waits) for t in open_tasks]
        robots = [RobotView(r.id, r.status.node, r.status.battery_soc) for r in free]
        cost = self.costs.matrix(robots, views)
        for ri, ti in self.assigner.assign(cost):
            self.exec.start(free[ri], open_tasks[ti])
