"""Restart recovery: close what a dead run left open, continue its id counters."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import datetime
from typing import Any

from fleet_manager.domain import IdFactory
from fleet_manager.events import Event
from fleet_manager.store import OrderLineRecord, OrderRecord, StateBatch, TaskRecord


def close_dead_run_tasks(store: Any, now_s: float) -> tuple[StateBatch, list[TaskRecord]]:
    """Simulator tasks left open are cancelled (reason "restart": the new simulation plans
    afresh for the orders); WMS tasks left open are returned to be submitted again."""
    batch = StateBatch()
    resubmit: list[TaskRecord] = []
    for task in store.open_tasks():
        if task.source == "api":
            resubmit.append(task)
            continue
        step = {"from": task.state, "to": "cancelled", "at_s": now_s, "reason": "restart"}
        batch.tasks.append({**task.as_dict(), "state": "cancelled"})
        batch.task_history.append((task.id, step))
        data = {
            "task_id": task.id,
            "task_kind": task.kind,
            "state": "cancelled",
            "from_state": task.state,
            "reason": "restart",
            "order_id": task.order_id,
        }
        batch.events.append(Event("task", "cancelled", now_s, data))
    return batch, resubmit


def clear_dead_run_alarms(store: Any, now_s: float) -> StateBatch:
    """Alarms the dead run left open are cleared (reason "restart"): the new run raises afresh
    whatever is still wrong (a fault of record, a pod on a stopped robot), so no alarm stays
    open that nothing will ever clear."""
    batch = StateBatch()
    wall = time.time()
    for state in ("active", "acknowledged"):
        for alarm in store.list_alarms(state):
            closed = replace(alarm, state="cleared", cleared_s=now_s, cleared_wall_s=wall)
            batch.alarms.append(closed)
            batch.events.append(Event("alarm", "cleared", now_s, {**closed.as_dict(),
                                                                  "reason": "restart"}))
    return batch


def continue_ids(sim: Any, store: Any) -> None:
    """A new simulation numbers tasks and alarms from 1 again; continue after the stored ones
    so a restart never reuses an id (T-000001 of this run is not T-000001 of the last)."""
    highest = store.highest_ids()
    ids = getattr(getattr(sim, "dispatcher", None), "ids", None)
    if isinstance(ids, IdFactory):
        for prefix, n in highest.get("tasks", {}).items():
            ids.continue_after(prefix, n)
    alarms = getattr(sim, "alarms", None)
    if alarms is not None:
        alarms.continue_numbering(highest.get("alarms", {}).get("A", 0))


def order_from_body(body: dict[str, Any]) -> OrderRecord:
    """The stored order back from the body the store answered with."""
    lines = tuple(
        OrderLineRecord(x["sku"], x["quantity"], x.get("picked", 0)) for x in body["lines"]
    )
    due_at = body.get("due_at")
    if isinstance(due_at, str):  # the answer shows it as ISO 8601; the record keeps epoch s
        due_at = datetime.fromisoformat(due_at).timestamp()
    return OrderRecord(**{**body, "lines": lines, "due_at": due_at})


ROBOT_STATES_KEY = "robot_states"


def restore_robot_states(plane: Any, store: Any) -> str:
    """Put the last run's robot states of record back on the plane's robots (before the first
    tick); returns the stored JSON so the first flush writes only a change."""
    stored = store.get_meta(ROBOT_STATES_KEY)
    if stored and hasattr(plane, "restore_robot_states"):
        plane.restore_robot_states(json.loads(stored))
    return stored or ""


def robot_states_json(plane: Any) -> str:
    """The plane's robot states of record as stored (sorted, compact), "" if it keeps none."""
    states = getattr(plane, "robot_states", None)
    if states is None:
        return ""
    return json.dumps(states(), sort_keys=True, separators=(",", ":"))


POD_STOCK_PREFIX = "pod_stock:"


def restore_pod_stock(plane: Any, store: Any) -> int:
    """Pods hold what the last run left on them, not what the map stocks them with; returns
    how many pods were restored."""
    inventory = getattr(plane, "inventory", None)
    if inventory is None or not hasattr(inventory, "restore_pod"):
        return 0
    n = 0
    for pod in list(inventory.on_hand):
        stored = store.get_meta(POD_STOCK_PREFIX + pod)
        if stored is not None:
            inventory.restore_pod(pod, json.loads(stored))
            n += 1
    return n


def pod_stock_meta(plane: Any) -> dict[str, str]:
    """Meta rows for the pods whose stock moved since the last flush."""
    inventory = getattr(plane, "inventory", None)
    if inventory is None or not hasattr(inventory, "take_changed"):
        return {}
    return {
        POD_STOCK_PREFIX + pod: json.dumps(stock, sort_keys=True, separators=(",", ":"))
        for pod, stock in inventory.take_changed().items()
    }
