"""Domain vocabulary: ids, orders, tasks and the one task state machine."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

NodeId = int  # compact index of a traversable floor cell, 0..n-1 (see fleet_manager.site.model)
Coord = tuple[int, int]  # (x, y) grid cell, y grows downwards (row index)
RobotId = str
PodId = str
SlotId = str
StationId = str
ChargerId = str
Sku = str
OrderId = str
TaskId = str
LaneId = str
CraneId = str
ToteId = str


class TaskState(StrEnum):
    """Life cycle of every task, whatever its kind."""

    QUEUED = "queued"
    ASSIGNED = "assigned"
    ACTIVE = "active"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL_STATES = frozenset({TaskState.DONE, TaskState.FAILED, TaskState.CANCELLED})

# Assigned work may be handed back to the queue (robot paused, lost, or re-planned);
# active work may be re-queued when its robot drops out mid-task.
LEGAL_TRANSITIONS: dict[TaskState, frozenset[TaskState]] = {
    TaskState.QUEUED: frozenset({TaskState.ASSIGNED, TaskState.CANCELLED, TaskState.FAILED}),
    TaskState.ASSIGNED: frozenset(
        {TaskState.ACTIVE, TaskState.QUEUED, TaskState.CANCELLED, TaskState.FAILED}
    ),
    TaskState.ACTIVE: frozenset(
        {TaskState.DONE, TaskState.FAILED, TaskState.CANCELLED, TaskState.QUEUED}
    ),
    TaskState.DONE: frozenset(),
    TaskState.FAILED: frozenset(),
    TaskState.CANCELLED: frozenset(),
}


class TaskKind(StrEnum):
    """What a task asks the floor to do."""

    POD_FETCH = "pod_fetch"  # goods-to-person: pod -> station -> back to storage
    ASRS_STORE = "asrs_store"
    ASRS_RETRIEVE = "asrs_retrieve"
    ASRS_RELOCATE = "asrs_relocate"
    CONVEYOR_TRANSFER = "conveyor_transfer"
    SORT = "sort"
    CHARGE = "charge"
    PARK = "park"
    REPLENISH = "replenish"
    EXCEPTION = "exception"  # a human must look at something (short pick, wrong SKU)


class OrderState(StrEnum):
    """Life cycle of a customer order."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"


class IllegalTransition(ValueError):
    """A task was asked to move to a state its current state does not allow."""


@dataclass(frozen=True)
class TaskEvent:
    """One state change of one task; every transition emits exactly one."""

    task_id: TaskId
    kind: TaskKind
    from_state: TaskState | None
    to_state: TaskState
    at_s: float
    reason: str = ""
    resource_id: str | None = None


@dataclass
class Task:
    """A unit of work for one resource (robot, crane, conveyor, sorter, human)."""

    id: TaskId
    kind: TaskKind
    created_s: float
    priority: int = 0  # higher runs first
    due_s: float | None = None
    order_id: OrderId | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    state: TaskState = TaskState.QUEUED
    resource_id: str | None = None
    history: list[TaskEvent] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.history:
            self.history.append(
                TaskEvent(self.id, self.kind, None, self.state, self.created_s, "created")
            )

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    def can_transition(self, to: TaskState) -> bool:
        return to in LEGAL_TRANSITIONS[self.state]

    def transition(
        self, to: TaskState, at_s: float, reason: str = "", resource_id: str | None = None
    ) -> TaskEvent:
        """Move to `to`, record and return the event; raise IllegalTransition otherwise."""
        if to not in LEGAL_TRANSITIONS[self.state]:
            raise IllegalTransition(
                f"task {self.id} ({self.kind}): {self.state} -> {to} is not allowed"
            )
        if to == TaskState.ASSIGNED:
            if resource_id is None:
                raise IllegalTransition(f"task {self.id}: assigning needs a resource id")
            self.resource_id = resource_id
        elif to == TaskState.QUEUED:
            self.resource_id = None
        event = TaskEvent(self.id, self.kind, self.state, to, at_s, reason, self.resource_id)
        self.state = to
        self.history.append(event)
        return event


@dataclass
class OrderLine:
    """One SKU and quantity of an order, with how much of it has been picked."""

    sku: Sku
    quantity: int
    picked: int = 0

    @property
    def open_quantity(self) -> int:
        return self.quantity - self.picked


@dataclass
class Order:
    """A customer order: lines to pick, a priority and an optional due time."""

    id: OrderId
    lines: list[OrderLine]
    created_s: float
    priority: int = 0
    due_s: float | None = None
    state: OrderState = OrderState.OPEN
    station_id: StationId | None = None
    done_s: float | None = None

    @property
    def units(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def open_units(self) -> int:
        return sum(line.open_quantity for line in self.lines)


class IdFactory:
    """Deterministic, readable ids: prefix plus a counter (T-000001)."""

    def __init__(self) -> None:
        self._counters: dict[str, itertools.count[int]] = {}

    def next(self, prefix: str) -> str:
        counter = self._counters.setdefault(prefix, itertools.count(1))
        return f"{prefix}-{next(counter):06d}"

    def continue_after(self, prefix: str, last: int) -> None:
        """Resume a counter after `last` (e.g. the highest id found in the store on restart)."""
        self._counters[prefix] = itertools.count(last + 1)
