"""Allocator: hands queued robot tasks to free robots, robot-bound ones first, then by cost."""

from __future__ import annotations

from collections.abc import Callable

from fleet_manager.allocation import AssignmentPolicy, CostModel, RobotView, TaskView
from fleet_manager.dispatch.events import FETCH_KINDS
from fleet_manager.dispatch.records import RobotRecord
from fleet_manager.dispatch.state import FloorState
from fleet_manager.domain import Task, TaskKind, TaskState


class Allocator:
    """One allocation round per tick over `floor.queued`; `start(rec, task)` (the executor's)
    gives a robot its task and says False when the task cannot start now."""

    def __init__(
        self,
        floor: FloorState,
        start: Callable[[RobotRecord, Task], bool],
        costs: CostModel,
        policy: AssignmentPolicy,
        *,
        age_weight: float,
        priority_weight_s: float,
    ):
        self.floor = floor
        self.start = start
        self.costs = costs
        self.policy = policy
        self.age_weight = age_weight  # seconds of travel cost forgiven per second a task waited
        self.priority_weight_s = priority_weight_s  # ... per priority level

    def allocate(self) -> None:
        f = self.floor
        free = [r for r in f.robots.values() if r.can_take_work]
        if not free:
            return
        if not f.queued:
            return
        queued = list(f.queued.values())
        bound = [t for t in queued if t.payload.get("robot")]
        for task in sorted(bound, key=lambda t: (-t.priority, t.created_s, t.id)):
            rec = f.robots.get(task.payload["robot"])
            if rec is not None and rec.can_take_work and self.start(rec, task):
                free.remove(rec)
        model = f.site.robot_model
        free = [r for r in free if r.status.battery_soc >= model.charge_threshold]
        open_tasks = [
            t for t in queued if not t.payload.get("robot") and t.state == TaskState.QUEUED
        ]
        if not free or not open_tasks:
            return
        open_tasks.sort(key=lambda t: (-t.priority, t.created_s, t.id))
        waits = self.station_waits()
        views = [self.task_view(t, waits) for t in open_tasks]
        robots = [RobotView(r.id, r.status.node, r.status.battery_soc) for r in free]
        cost = self.costs.matrix(robots, views)
        for ri, ti in self.policy.assign(cost):
            self.start(free[ri], open_tasks[ti])

    def station_waits(self) -> dict[str, float]:
        """Expected queueing at each station: service time of the pods already on their way."""
        f = self.floor
        waits = {}
        for sid, st in f.stations.items():
            busy = [f.tasks[t] for t in st.inbound if f.tasks[t].state != TaskState.QUEUED]
            waits[sid] = sum(t.payload.get("service_s", 0.0) for t in busy)
        return waits

    def task_view(self, task: Task, waits: dict[str, float]) -> TaskView:
        f = self.floor
        p = task.payload
        if task.kind in FETCH_KINDS:
            bonus = (
                self.age_weight * (f.now_s - task.created_s)
                + self.priority_weight_s * task.priority
            )
            return TaskView(
                task.id,
                p["pickup"],
                p["end"],
                p["work_cells"],
                p["service_s"],
                waits.get(p["station"], 0.0),
                bonus,
            )
        if task.kind == TaskKind.PARK:
            spots = (
                [p["spot"]] if p.get("spot") else [s for s, u in f.park_user.items() if u is None]
            )
            node = f.site.parking[spots[0]].node if spots else 0
        else:
            free = [c for c, u in f.charger_user.items() if u is None]
            node = f.site.chargers[free[0]].node if free else 0
        return TaskView(task.id, node, node)
