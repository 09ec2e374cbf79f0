"""Execution of conveyor and sort tasks (and AS/RS ones without a controller) in the runtime.

Each task runs queued -> assigned -> active -> done on its resource (crane, conveyor, sorter):
for a time from the site's own geometry and the crane kinematics model, or, for a task a device
carries out (`external=True`, e.g. a sort task the sorter PLC runs), until that device reports
its outcome through `complete`. One job at a time per crane; conveyors and sorters carry many
items at once. AS/RS tasks normally run on the real controller (runtime/asrs_component.py),
which hands its conveyor transfers (I/O point -> station) to this class. Control thread only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from fleet_manager.asrs.kinematics import CraneKinematics
from fleet_manager.domain import Task, TaskKind, TaskState
from fleet_manager.events import EventBus
from fleet_manager.site.model import Site

TIMED_KINDS = (
    TaskKind.ASRS_STORE,
    TaskKind.ASRS_RETRIEVE,
    TaskKind.CONVEYOR_TRANSFER,
    TaskKind.SORT,
)


class UnknownTask(KeyError):
    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown task"


@dataclass
class _Run:
    task: Task
    resource: str
    duration_s: float
    ends_s: float | None = None


class TimedTasks:
    """Runs TIMED_KINDS tasks; `tick(now_s)` starts and finishes them, publishing task events."""

    def __init__(self, site: Site, bus: EventBus):
        self.site = site
        self.bus = bus
        self.tasks: dict[str, Task] = {}
        self._runs: dict[str, _Run] = {}
        self._busy_cranes: set[str] = set()

    def submit(
        self, task: Task, now_s: float, announce: bool = True, external: bool = False
    ) -> None:
        """Queue `task`; announce=False when its creator already published its creation;
        external=True: a device runs it and reports with `complete` (no modelled time)."""
        resource, duration_s = self._plan(task)
        if external:
            duration_s = float("inf")
        self.tasks[task.id] = task
        self._runs[task.id] = _Run(task, resource, duration_s)
        if announce:
            self._emit(task, None, "created", now_s)

    def cancel(self, task_id: str, now_s: float) -> None:
        run = self._runs.get(task_id)
        if run is None:
            raise UnknownTask(f"unknown task id {task_id!r}")
        if run.task.is_terminal:
            raise ValueError(f"task {task_id}: cannot cancel, it is already {run.task.state}")
        self._finish(run, TaskState.CANCELLED, now_s, "cancelled by request")

    def complete(self, task_id: str, ok: bool, now_s: float, reason: str) -> None:
        """A device's outcome of an external task (ignored once the task has ended, e.g. a
        sort task cancelled while its item was already on the belt)."""
        run = self._runs.get(task_id)
        if run is None or run.task.is_terminal or run.task.state != TaskState.ACTIVE:
            return
        self._finish(run, TaskState.DONE if ok else TaskState.FAILED, now_s, reason)

    def tick(self, now_s: float) -> None:
        for run in list(self._runs.values()):
            task = run.task
            if task.state == TaskState.ACTIVE and run.ends_s is not None and now_s >= run.ends_s:
                self._finish(run, TaskState.DONE, run.ends_s, "completed")
        waiting = sorted(
            (r for r in self._runs.values() if r.task.state == TaskState.QUEUED),
            key=lambda r: (-r.task.priority, r.task.created_s, r.task.id),
        )
        for run in waiting:
            crane = run.task.kind in (TaskKind.ASRS_STORE, TaskKind.ASRS_RETRIEVE)
            if crane and run.resource in self._busy_cranes:
                continue
            if crane:
                self._busy_cranes.add(run.resource)
            self._step(run.task, TaskState.ASSIGNED, now_s, "allocated", run.resource)
            self._step(run.task, TaskState.ACTIVE, now_s, "started")
            run.ends_s = now_s + run.duration_s

    def _finish(self, run: _Run, to: TaskState, at_s: float, reason: str) -> None:
        self._step(run.task, to, at_s, reason)
        self._busy_cranes.discard(run.resource)
        del self._runs[run.task.id]

    def _step(self, task: Task, to: TaskState, at_s: float, reason: str, res: str | None = None):
        before = task.state
        task.transition(to, at_s, reason, res)
        self._emit(task, before, reason, at_s)

    def _emit(self, task: Task, before: TaskState | None, reason: str, at_s: float) -> None:
        kind = "created" if before is None else task.state.value
        self.bus.emit(
            "task",
            kind,
            at_s,
            task_id=task.id,
            task_kind=task.kind.value,
            state=task.state.value,
            from_state=before.value if before else None,
            reason=reason,
            resource_id=task.resource_id,
            order_id=task.order_id,
            payload=task.payload,
        )

    # ---- durations from the site ----------------------------------------------------------
    def _plan(self, task: Task) -> tuple[str, float]:
        p = task.payload
        if task.kind in (TaskKind.ASRS_STORE, TaskKind.ASRS_RETRIEVE):
            aisle = self.site.asrs[p["aisle_id"]]
            # A slot from the payload, else a fixed pseudo-random one per task id.
            digest = int(hashlib.sha256(task.id.encode()).hexdigest(), 16)
            bay = int(p.get("bay", digest % aisle.bays))
            level = int(p.get("level", (digest // aisle.bays) % aisle.levels))
            x_m, y_m = bay * aisle.bay_pitch_m, level * aisle.level_pitch_m
            move_s = float(CraneKinematics(aisle.crane).move_time_s(0.0, 0.0, x_m, y_m))
            return aisle.crane_id, 2 * move_s + 2 * aisle.crane.fork_time_s
        if task.kind == TaskKind.CONVEYOR_TRANSFER and "from_node" in p:
            return self._io_to_station(p)
        if task.kind == TaskKind.CONVEYOR_TRANSFER:
            conveyor = self.site.conveyors[p["conveyor_id"]]
            at = {pt.id: pt.position_m for pt in conveyor.points}
            distance_m = at[p["to_point"]] - at[p["from_point"]]
            if distance_m < 0:
                distance_m += conveyor.length_m if conveyor.loop else -2 * distance_m
            return conveyor.id, distance_m / conveyor.speed_mps
        if task.kind == TaskKind.SORT:
            sorter = self.site.sorters[p["sorter_id"]]
            lane_id = p.get("lane_id") or sorter.lanes[0].id
            lane = sorter.lane(lane_id)
            speed = self.site.conveyors[sorter.conveyor].speed_mps
            travel_m = max(0.0, lane.divert_position_m - sorter.scanner_position_m)
            return sorter.id, travel_m / speed + sorter.divert_time_s
        raise ValueError(f"task kind {task.kind.value} is not executed here")

    def _io_to_station(self, p: dict[str, Any]) -> tuple[str, float]:
        """An AS/RS hand-off: from the aisle's I/O cell to the station's pick cell along the
        floor grid (Manhattan), at the I/O conveyor's speed."""
        conveyor = self.site.conveyors.get(p.get("conveyor") or "")
        if conveyor is None:
            raise ValueError(f"{p.get('from')}: no I/O conveyor to carry tote {p.get('tote_id')}")
        station = self.site.stations.get(p.get("to") or "")
        if station is None:
            raise ValueError(f"unknown pick station {p.get('to')!r}")
        (x0, y0), (x1, y1) = self.site.coord(int(p["from_node"])), self.site.coord(station.node)
        distance_m = (abs(x1 - x0) + abs(y1 - y0)) * self.site.cell_size_m
        return conveyor.id, distance_m / conveyor.speed_mps

    def describe(self) -> dict[str, Any]:
        return {"open": len(self._runs), "busy_cranes": sorted(self._busy_cranes)}
