"""Events: creates tasks, moves them between states and publishes task, order and robot events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fleet_manager.dispatch.records import RobotRecord
from fleet_manager.dispatch.state import FloorState
from fleet_manager.domain import Order, OrderId, Task, TaskKind, TaskState

FETCH_KINDS = (TaskKind.POD_FETCH, TaskKind.REPLENISH)
ROBOT_KINDS = (*FETCH_KINDS, TaskKind.CHARGE, TaskKind.PARK)

PublicPayload = Callable[[Task], dict[str, Any]]


def is_robot_task(task: Task) -> bool:
    """A task a robot drives; a presentation becomes one once admitted to its station's queue."""
    return task.kind in ROBOT_KINDS and task.payload.get("admitted", True) is not False


class Events:
    """The one place a task is added or changes state: keeps `floor.queued` in step and
    publishes every change on the bus. `public_payload` says what a task event shows."""

    def __init__(self, floor: FloorState, public_payload: PublicPayload):
        self.floor = floor
        self.public_payload = public_payload

    def add_task(self, task: Task) -> Task:
        f = self.floor
        f.tasks[task.id] = task
        if task.state == TaskState.QUEUED and is_robot_task(task):
            f.queued[task.id] = task
        f.bus.emit("task", "created", f.now_s, **self._task_data(task))
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
        f = self.floor
        task = Task(f.ids.next("T"), kind, f.now_s, priority, due_s, order_id, payload)
        return self.add_task(task)

    def transition(
        self, task: Task, to: TaskState, reason: str = "", resource: str | None = None
    ) -> None:
        f = self.floor
        event = task.transition(to, f.now_s, reason, resource)
        if to == TaskState.QUEUED and is_robot_task(task):
            f.queued[task.id] = task
        else:
            f.queued.pop(task.id, None)
        f.bus.emit(
            "task",
            to.value,
            f.now_s,
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
            "payload": self.public_payload(task),
        }

    def order_event(self, order: Order, kind: str, **extra: Any) -> None:
        self.floor.bus.emit(
            "order",
            kind,
            self.floor.now_s,
            order_id=order.id,
            state=order.state.value,
            station_id=order.station_id,
            priority=order.priority,
            open_units=order.open_units,
            **extra,
        )

    def robot_event(self, rec: RobotRecord, kind: str, **extra: Any) -> None:
        self.floor.bus.emit(
            "robot",
            kind,
            self.floor.now_s,
            robot_id=rec.id,
            phase=rec.phase.value,
            task_id=rec.task_id,
            **extra,
        )
