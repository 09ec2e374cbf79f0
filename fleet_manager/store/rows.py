"""Row <-> record conversion and the SQL statements the SQLite store shares."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import numpy as np

from fleet_manager.store.base import (
    AlarmRecord,
    OrderLineRecord,
    OrderRecord,
    StoredEvent,
    TaskRecord,
)

ORDER_COLUMNS = (
    "seq, id, state, priority, due_s, station_id, created_s, created_at, done_s, source, due_at"
)
ORDER_WIDTH = 11
TASK_COLUMNS = "seq, id, kind, state, priority, created_s, order_id, resource_id, payload, source"
ALARM_COLUMNS = (
    "id, code, message, raised_s, state, severity, resource_id, acked_by, acked_at,"
    " cleared_s, raised_wall, acked_wall, cleared_wall"
)
# Later writes of an alarm never erase what an earlier one set (who acknowledged, when).
ALARM_KEEP = ", ".join(
    f"{c} = COALESCE(excluded.{c}, alarms.{c})"
    for c in ("acked_by", "acked_at", "cleared_s", "raised_wall", "acked_wall", "cleared_wall")
)


def _json_default(value: Any) -> Any:
    # Simulator payloads may carry numpy scalars/arrays, tuples of ints, sets.
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if hasattr(value, "as_dict"):
        return value.as_dict()
    return str(value)


def dumps(value: Any) -> str:
    return json.dumps(value, default=_json_default, separators=(",", ":"))


def order_from_row(row: sqlite3.Row | tuple, lines: list[tuple]) -> OrderRecord:
    _seq, oid, state, priority, due_s, station_id, created_s, created_at, done_s, source = row[:10]
    due_at = row[10]
    return OrderRecord(
        id=oid,
        state=state,
        priority=priority,
        lines=tuple(OrderLineRecord(sku, qty, picked) for sku, qty, picked in lines),
        created_s=created_s,
        created_at=created_at,
        due_s=due_s,
        station_id=station_id,
        done_s=done_s,
        source=source,
        due_at=due_at,
    )


def task_from_row(row: tuple, history: list[tuple]) -> TaskRecord:
    _seq, tid, kind, state, priority, created_s, order_id, resource_id, payload, source = row
    return TaskRecord(
        id=tid,
        kind=kind,
        state=state,
        priority=priority,
        created_s=created_s,
        order_id=order_id,
        resource_id=resource_id,
        payload=json.loads(payload),
        source=source,
        history=tuple(
            {"from": f, "to": t, "at_s": at, "reason": r, "resource_id": res}
            for f, t, at, r, res in history
        ),
    )


def alarm_from_row(row: tuple) -> AlarmRecord:
    return AlarmRecord(
        id=row[0],
        code=row[1],
        message=row[2],
        raised_s=row[3],
        state=row[4],
        severity=row[5],
        resource_id=row[6],
        acked_by=row[7],
        acked_at=row[8],
        cleared_s=row[9],
        raised_wall_s=row[10],
        acked_wall_s=row[11],
        cleared_wall_s=row[12],
    )


def alarm_params(alarm: AlarmRecord) -> tuple[Any, ...]:
    return (alarm.id, alarm.code, alarm.message, alarm.raised_s, alarm.state, alarm.severity,
            alarm.resource_id, alarm.acked_by, alarm.acked_at, alarm.cleared_s,
            alarm.raised_wall_s, alarm.acked_wall_s, alarm.cleared_wall_s)


def event_from_row(row: tuple) -> StoredEvent:
    seq, topic, kind, at_s, data, wall = row
    return StoredEvent(seq, topic, kind, at_s, json.loads(data), wall)


def insert_event(
    conn: sqlite3.Connection, topic: str, kind: str, at_s: float, data: dict, wall: float
) -> StoredEvent:
    text = dumps(data)
    cur = conn.execute(
        "INSERT INTO events (topic, kind, at_s, data, wall_time) VALUES (?, ?, ?, ?, ?)",
        (topic, kind, float(at_s), text, wall),
    )
    # Round-trip through JSON so live subscribers see exactly what a replay will return.
    return StoredEvent(int(cur.lastrowid or 0), topic, kind, float(at_s), json.loads(text), wall)


def insert_order(conn: sqlite3.Connection, order: OrderRecord) -> None:
    conn.execute(
        "INSERT INTO orders (id, state, priority, due_s, station_id, created_s, created_at,"
        " done_s, source, due_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            order.id,
            order.state,
            order.priority,
            order.due_s,
            order.station_id,
            order.created_s,
            order.created_at,
            order.done_s,
            order.source,
            order.due_at,
        ),
    )
    conn.executemany(
        "INSERT INTO order_lines (order_id, line_no, sku, quantity, picked) VALUES (?, ?, ?, ?, ?)",
        [(order.id, i, ln.sku, ln.quantity, ln.picked) for i, ln in enumerate(order.lines)],
    )


def insert_task(conn: sqlite3.Connection, task: Any) -> None:
    """A new task row; raises sqlite3.IntegrityError if the id exists."""
    conn.execute(
        "INSERT INTO tasks (id, kind, state, priority, created_s, order_id, resource_id, payload,"
        " source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            task.id,
            task.kind,
            task.state,
            task.priority,
            task.created_s,
            task.order_id,
            task.resource_id,
            dumps(task.payload),
            task.source,
        ),
    )


def upsert_task(conn: sqlite3.Connection, task: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO tasks (id, kind, state, priority, created_s, order_id, resource_id, payload,"
        " source) VALUES (:id, :kind, :state, :priority, :created_s, :order_id, :resource_id,"
        " :payload, :source)"
        " ON CONFLICT (id) DO UPDATE SET state = excluded.state,"
        " resource_id = excluded.resource_id, priority = excluded.priority",
        {
            "id": task["id"],
            "kind": str(task.get("kind", "")),
            "state": str(task.get("state", "queued")),
            "priority": int(task.get("priority", 0)),
            "created_s": float(task.get("created_s", 0.0)),
            "order_id": task.get("order_id"),
            "resource_id": task.get("resource_id"),
            "payload": dumps(task.get("payload") or {}),
            "source": task.get("source", "sim"),
        },
    )


def append_task_history(conn: sqlite3.Connection, task_id: str, step: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO task_history (task_id, idx, from_state, to_state, at_s, reason, resource_id)"
        " VALUES (?, (SELECT COALESCE(MAX(idx), -1) + 1 FROM task_history WHERE task_id = ?),"
        " ?, ?, ?, ?, ?)",
        (
            task_id,
            task_id,
            step.get("from"),
            step["to"],
            float(step.get("at_s", 0.0)),
            step.get("reason", ""),
            step.get("resource_id"),
        ),
    )


def upsert_alarm(conn: sqlite3.Connection, alarm: AlarmRecord) -> None:
    conn.execute(
        f"INSERT INTO alarms ({ALARM_COLUMNS}) VALUES ({', '.join('?' * 13)})"
        f" ON CONFLICT (id) DO UPDATE SET state = excluded.state, message = excluded.message,"
        f" {ALARM_KEEP}",
        alarm_params(alarm),
    )
