"""Turns the simulation's bus events into one StateBatch per tick (rows + outbox events)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fleet_manager.events import Event, EventBus
from fleet_manager.store import AlarmRecord, StateBatch

# Order event kinds -> stored order state; kinds not listed leave the state alone.
ORDER_KIND_STATE = {
    "received": "open",
    "accepted": "open",
    "submitted": "open",
    "assigned": "in_progress",
    "started": "in_progress",
    "in_progress": "in_progress",
    "progressed": "in_progress",
    "done": "done",
    "completed": "done",
    "cancelled": "cancelled",
    "failed": "failed",
    "rejected": "failed",
}
ORDER_STATES = frozenset(ORDER_KIND_STATE.values())
TaskLookup = Callable[[str], Any]


def _id(data: dict[str, Any], *names: str) -> str | None:
    for name in names:
        value = data.get(name)
        if value is not None:
            return str(value)
    return None


def task_fields(task: Any, source: str = "sim") -> dict[str, Any]:
    """A domain Task (or anything shaped like one) as a store task row."""
    return {
        "id": task.id,
        "kind": str(task.kind),
        "state": str(task.state),
        "priority": int(getattr(task, "priority", 0)),
        "created_s": float(getattr(task, "created_s", 0.0)),
        "order_id": getattr(task, "order_id", None),
        "resource_id": getattr(task, "resource_id", None),
        "payload": dict(getattr(task, "payload", {}) or {}),
        "source": source,
    }


def alarm_record(data: dict[str, Any]) -> AlarmRecord | None:
    """The store row of an alarm event (the one shape of `Alarm.as_dict`)."""
    alarm_id = _id(data, "id", "alarm_id")
    if alarm_id is None:
        return None
    if data.get("cleared_s") is not None:
        state = "cleared"
    elif data.get("acknowledged_by"):
        state = "acknowledged"
    else:
        state = "active"
    return AlarmRecord(
        id=alarm_id,
        code=str(data.get("code", "")),
        message=str(data.get("message", "")),
        raised_s=float(data.get("raised_s", 0.0) or 0.0),
        state=state,
        severity=str(data.get("severity", "warning")),
        resource_id=data.get("resource_id") or data.get("source"),
        acked_by=data.get("acknowledged_by"),
        acked_at=data.get("acknowledged_s"),
        cleared_s=data.get("cleared_s"),
        raised_wall_s=data.get("raised_wall_s"),
        acked_wall_s=data.get("acknowledged_wall_s"),
        cleared_wall_s=data.get("cleared_wall_s"),
    )


class EventRecorder:
    """Buffers every bus event; `take()` returns them with the row changes they imply."""

    def __init__(self, bus: EventBus, lookup_task: TaskLookup, api_task_ids: set[str]):
        self._events: list[Event] = []
        self._lookup_task = lookup_task
        self._api_task_ids = api_task_ids
        bus.subscribe(self._on_event)

    def _on_event(self, event: Event) -> None:
        self._events.append(event)

    def pending(self) -> int:
        return len(self._events)

    def take(self) -> StateBatch:
        events, self._events = self._events, []
        batch = StateBatch(events=events)
        touched_tasks: dict[str, Any] = {}
        for event in events:
            data = event.data
            if event.topic == "task":
                self._task_event(batch, event, touched_tasks)
            elif event.topic == "order":
                self._order_event(batch, event)
            elif event.topic == "pick":
                order_id, sku = _id(data, "order_id"), _id(data, "sku")
                units = data.get("quantity", data.get("units", data.get("picked", 0)))
                if order_id and sku and isinstance(units, int | float) and units > 0:
                    batch.picks.append((order_id, sku, int(units)))
            elif event.topic == "alarm":
                record = alarm_record(data)
                if record is not None:
                    batch.alarms.append(record)
        for task_id, task in touched_tasks.items():
            source = "api" if task_id in self._api_task_ids else "sim"
            batch.tasks.insert(0, task_fields(task, source))
        return batch

    def _task_event(self, batch: StateBatch, event: Event, touched: dict[str, Any]) -> None:
        data = event.data
        task_id = _id(data, "task_id", "id")
        if task_id is None:
            return
        task = self._lookup_task(task_id)
        if task is not None:
            touched[task_id] = task
        else:  # refused before any executor took it: record the state the event names
            state = data.get("to_state") or data.get("state") or event.kind
            batch.tasks.append(
                {
                    "id": task_id,
                    "kind": str(data.get("task_kind", "")),
                    "state": str(state),
                    "created_s": event.at_s,
                    "order_id": data.get("order_id"),
                    "resource_id": data.get("resource_id"),
                    "payload": data.get("payload") or {},
                    "source": "api" if task_id in self._api_task_ids else "sim",
                }
            )
        if event.kind == "created" and task_id in self._api_task_ids:
            return  # the store recorded its creation when the API accepted it
        to_state = data.get("to_state") or data.get("state") or event.kind
        batch.task_history.append(
            (
                task_id,
                {
                    "from": data.get("from_state"),
                    "to": str(to_state),
                    "at_s": event.at_s,
                    "reason": str(data.get("reason", "")),
                    "resource_id": data.get("resource_id"),
                },
            )
        )

    def _order_event(self, batch: StateBatch, event: Event) -> None:
        data = event.data
        order_id = _id(data, "order_id", "id")
        if order_id is None:
            return
        change: dict[str, Any] = {"id": order_id}
        state = data.get("state") if data.get("state") in ORDER_STATES else None
        state = state or ORDER_KIND_STATE.get(event.kind)
        if state:
            change["state"] = state
            if state == "done":
                change["done_s"] = event.at_s
        if data.get("station_id"):
            change["station_id"] = data["station_id"]
        if isinstance(data.get("priority"), int):
            change["priority"] = data["priority"]
        if len(change) > 1:
            batch.orders.append(change)
