"""SQLite store in WAL mode: one writer thread with group commit, per-thread read connections."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path
from typing import Any

from fleet_manager.store import rows
from fleet_manager.store.base import (
    MAX_PAGE_SIZE,
    AlarmRecord,
    Conflict,
    IdempotencyClaim,
    IdempotencyMismatch,
    OrderQuery,
    OrderRecord,
    StateBatch,
    StoredEvent,
    StoredResponse,
    TaskRecord,
    TokenRecord,
)
from fleet_manager.store.migrations import migrate
from fleet_manager.store.writer import GroupCommitWriter

DB_FILE_NAME = "wcs.sqlite3"
OPEN_ORDER_STATES = ("open", "in_progress")
OPEN_TASK_STATES = ("queued", "assigned", "active")

EventListener = Callable[[list[StoredEvent]], None]


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
    conn.execute("PRAGMA busy_timeout = 30000")
    return conn


class SqliteStore:
    """See fleet_manager.store.base.Store. `synchronous="NORMAL"` in WAL survives a killed
    process (the WAL is written before COMMIT returns); use "FULL" to also survive power loss."""

    def __init__(
        self, path: str | Path, *, synchronous: str = "NORMAL", max_jobs_per_commit: int = 512
    ):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = _connect(self.path)
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise RuntimeError(f"{self.path}: cannot switch SQLite to WAL mode (got {mode})")
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        migrate(conn)
        self._listeners: list[EventListener] = []
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._next_number: dict[str, int] = {}  # generated-id counters, writer thread only
        self._writer = GroupCommitWriter(conn, max_jobs_per_commit=max_jobs_per_commit)
        self._write_conn = conn

    @classmethod
    def in_dir(cls, data_dir: str | Path, **kwargs: Any) -> SqliteStore:
        return cls(Path(data_dir) / DB_FILE_NAME, **kwargs)

    # --- events out -----------------------------------------------------------------------
    def add_event_listener(self, listener: EventListener) -> Callable[[], None]:
        """`listener(events)` runs on the writer thread right after each commit, in seq order."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _publish(self, events: list[StoredEvent]) -> None:
        if events:
            for listener in list(self._listeners):
                listener(events)

    def _submit(self, fn: Callable[[sqlite3.Connection, list[StoredEvent]], Any]) -> Future[Any]:
        emitted: list[StoredEvent] = []

        def job(conn: sqlite3.Connection) -> Any:
            emitted.clear()  # a retried job must not publish twice
            return fn(conn, emitted)

        return self._writer.submit(job, after_commit=lambda _value: self._publish(emitted))

    # --- writes ---------------------------------------------------------------------------
    def _create(
        self,
        claim: IdempotencyClaim | None,
        apply: Callable[[sqlite3.Connection, list[StoredEvent]], dict[str, Any]],
    ) -> Future[StoredResponse]:
        def fn(conn: sqlite3.Connection, emitted: list[StoredEvent]) -> StoredResponse:
            if claim is not None:
                row = conn.execute(
                    "SELECT request_hash, status, response FROM idempotency"
                    " WHERE scope = ? AND key = ?",
                    (claim.scope, claim.key),
                ).fetchone()
                if row is not None:
                    if row[0] != claim.request_hash:
                        raise IdempotencyMismatch(
                            "idempotency_key_reused",
                            "this Idempotency-Key was already used with a different request body",
                            field="Idempotency-Key",
                        )
                    return StoredResponse(row[1], json.loads(row[2]), replayed=True)
            body = apply(conn, emitted)
            if claim is not None:
                conn.execute(
                    "INSERT INTO idempotency VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        claim.scope,
                        claim.key,
                        claim.request_hash,
                        201,
                        rows.dumps(body),
                        time.time(),
                    ),
                )
            return StoredResponse(201, body)

        return self._submit(fn)

    def create_order(
        self, order: OrderRecord, claim: IdempotencyClaim | None
    ) -> Future[StoredResponse]:
        def apply(conn: sqlite3.Connection, emitted: list[StoredEvent]) -> dict[str, Any]:
            record = self._insert_new(conn, order, "orders", "WO", rows.insert_order)
            body = record.as_dict()
            emitted.append(
                rows.insert_event(conn, "order", "received", record.created_s, body, time.time())
            )
            return body

        return self._create(claim, apply)

    def create_task(
        self, task: TaskRecord, claim: IdempotencyClaim | None
    ) -> Future[StoredResponse]:
        def apply(conn: sqlite3.Connection, emitted: list[StoredEvent]) -> dict[str, Any]:
            record = self._insert_new(conn, task, "tasks", "WT", rows.insert_task)
            step = {
                "from": None,
                "to": record.state,
                "at_s": record.created_s,
                "reason": "received",
            }
            rows.append_task_history(conn, record.id, step)
            body = replace(record, history=(step,)).as_dict()
            data = {
                "task_id": record.id,
                "task_kind": record.kind,
                "state": record.state,
                "from_state": None,
                "order_id": record.order_id,
                "source": record.source,
            }
            emitted.append(
                rows.insert_event(conn, "task", "received", record.created_s, data, time.time())
            )
            return body

        return self._create(claim, apply)

    def _insert_new(
        self, conn: sqlite3.Connection, record: Any, table: str, prefix: str, insert: Any
    ) -> Any:
        """Insert with the caller's id (409 if taken) or the next generated one (skipping any
        a client already chose). Runs on the writer thread only."""

        def taken(record_id: str) -> bool:
            return conn.execute(f"SELECT 1 FROM {table} WHERE id = ?", (record_id,)).fetchone()

        if record.id:
            try:
                insert(conn, record)
            except sqlite3.IntegrityError:
                if not taken(record.id):
                    raise  # another constraint: a bug, not a conflict
                what = table[:-1]
                raise Conflict(
                    f"{what}_exists", f"{what} {record.id} already exists", field="id"
                ) from None
            return record
        if table not in self._next_number:
            self._next_number[table] = _highest_number(conn, table, prefix) + 1
        while True:
            n = self._next_number[table]
            self._next_number[table] = n + 1  # a number burned by a failed job stays unused
            candidate = replace(record, id=f"{prefix}-{n:08d}")
            try:
                insert(conn, candidate)
                return candidate
            except sqlite3.IntegrityError:
                if not taken(candidate.id):
                    raise

    def apply_batch(self, batch: StateBatch) -> Future[list[StoredEvent]]:
        def fn(conn: sqlite3.Connection, emitted: list[StoredEvent]) -> list[StoredEvent]:
            for change in batch.orders:
                sets = {
                    k: v
                    for k, v in change.items()
                    if k in ("state", "done_s", "station_id", "priority")
                }
                if sets:
                    assignments = ", ".join(f"{k} = ?" for k in sets)
                    conn.execute(
                        f"UPDATE orders SET {assignments} WHERE id = ?",
                        (*sets.values(), change["id"]),
                    )
            for order_id, sku, units in batch.picks:
                conn.execute(
                    "UPDATE order_lines SET picked = MIN(quantity, picked + ?)"
                    " WHERE order_id = ? AND sku = ?",
                    (int(units), order_id, sku),
                )
            for task in batch.tasks:
                rows.upsert_task(conn, task)
            for task_id, step in batch.task_history:
                rows.append_task_history(conn, task_id, step)
            for alarm in batch.alarms:
                rows.upsert_alarm(conn, alarm)
            wall = time.time()
            for event in batch.events:
                emitted.append(
                    rows.insert_event(conn, event.topic, event.kind, event.at_s, event.data, wall)
                )
            return list(emitted)

        return self._submit(fn)

    def create_token(self, token_id: str, token_hash: str, role: str, name: str) -> Future[None]:
        def fn(conn: sqlite3.Connection, _emitted: list[StoredEvent]) -> None:
            conn.execute(
                "INSERT INTO api_tokens (id, hash, role, name, created_at) VALUES (?, ?, ?, ?, ?)",
                (token_id, token_hash, role, name, time.time()),
            )

        return self._submit(fn)

    def set_meta(self, key: str, value: str) -> Future[None]:
        def fn(conn: sqlite3.Connection, _emitted: list[StoredEvent]) -> None:
            conn.execute(
                "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = ?",
                (key, value, value),
            )

        return self._submit(fn)

    # --- reads ----------------------------------------------------------------------------
    def _reader(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = _connect(self.path)
            conn.execute("PRAGMA query_only = ON")
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    def get_order(self, order_id: str) -> OrderRecord | None:
        conn = self._reader()
        conn.execute("BEGIN")  # one snapshot for the order and its lines
        try:
            row = conn.execute(
                f"SELECT {rows.ORDER_COLUMNS} FROM orders WHERE id = ?", (order_id,)
            ).fetchone()
            if row is None:
                return None
            return rows.order_from_row(row, self._lines(conn, [order_id])[order_id])
        finally:
            conn.execute("COMMIT")

    def _lines(self, conn: sqlite3.Connection, ids: list[str]) -> dict[str, list[tuple]]:
        out: dict[str, list[tuple]] = {i: [] for i in ids}
        marks = ",".join("?" * len(ids))
        for oid, sku, qty, picked in conn.execute(
            f"SELECT order_id, sku, quantity, picked FROM order_lines WHERE order_id IN ({marks})"
            " ORDER BY order_id, line_no",
            ids,
        ):
            out[oid].append((sku, qty, picked))
        return out

    def _orders_where(self, where: str, params: list[Any], limit: int) -> list[tuple]:
        sql = f"SELECT {rows.ORDER_COLUMNS} FROM orders WHERE {where} ORDER BY seq LIMIT ?"
        return self._reader().execute(sql, (*params, limit)).fetchall()

    def _orders(self, found: list[tuple]) -> list[OrderRecord]:
        if not found:
            return []
        lines = self._lines(self._reader(), [r[1] for r in found])
        return [rows.order_from_row(r, lines[r[1]]) for r in found]

    def list_orders(self, query: OrderQuery) -> tuple[list[OrderRecord], int | None]:
        where, params = ["seq > ?"], [query.after_cursor]
        if query.state:
            where.append("state = ?")
            params.append(query.state)
        if query.source:
            where.append("source = ?")
            params.append(query.source)
        if query.min_priority is not None:
            where.append("priority >= ?")
            params.append(query.min_priority)
        if query.sku:
            where.append("id IN (SELECT order_id FROM order_lines WHERE sku = ?)")
            params.append(query.sku)
        limit = max(1, min(query.limit, MAX_PAGE_SIZE))
        found = self._orders_where(" AND ".join(where), params, limit + 1)
        more = len(found) > limit
        found = found[:limit]
        return self._orders(found), (found[-1][0] if more else None)

    def open_orders(self) -> list[OrderRecord]:
        marks = ",".join("?" * len(OPEN_ORDER_STATES))
        return self._orders(
            self._orders_where(f"state IN ({marks})", list(OPEN_ORDER_STATES), 10**9)
        )

    def count_orders(self) -> dict[str, int]:
        found = self._reader().execute("SELECT state, COUNT(*) FROM orders GROUP BY state")
        return {state: int(n) for state, n in found}

    def _tasks(self, found: list[tuple]) -> list[TaskRecord]:
        conn = self._reader()
        out = []
        for row in found:
            history = conn.execute(
                "SELECT from_state, to_state, at_s, reason, resource_id FROM task_history"
                " WHERE task_id = ? ORDER BY idx",
                (row[1],),
            ).fetchall()
            out.append(rows.task_from_row(row, history))
        return out

    def get_task(self, task_id: str) -> TaskRecord | None:
        found = (
            self._reader()
            .execute(f"SELECT {rows.TASK_COLUMNS} FROM tasks WHERE id = ?", (task_id,))
            .fetchall()
        )
        tasks = self._tasks(found)
        return tasks[0] if tasks else None

    def list_tasks(
        self,
        *,
        state: str | None = None,
        kind: str | None = None,
        order_id: str | None = None,
        after_cursor: int = 0,
        limit: int = 50,
    ) -> tuple[list[TaskRecord], int | None]:
        where, params = ["seq > ?"], [after_cursor]
        for column, value in (("state", state), ("kind", kind), ("order_id", order_id)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        limit = max(1, min(limit, MAX_PAGE_SIZE))
        found = (
            self._reader()
            .execute(
                f"SELECT {rows.TASK_COLUMNS} FROM tasks WHERE {' AND '.join(where)}"
                " ORDER BY seq LIMIT ?",
                (*params, limit + 1),
            )
            .fetchall()
        )
        more = len(found) > limit
        found = found[:limit]
        return self._tasks(found), (found[-1][0] if more else None)

    def open_tasks(self) -> list[TaskRecord]:
        marks = ",".join("?" * len(OPEN_TASK_STATES))
        found = (
            self._reader()
            .execute(
                f"SELECT {rows.TASK_COLUMNS} FROM tasks WHERE state IN ({marks}) ORDER BY seq",
                OPEN_TASK_STATES,
            )
            .fetchall()
        )
        return self._tasks(found)

    def events_after(self, seq: int, limit: int = 1000) -> list[StoredEvent]:
        found = self._reader().execute(
            "SELECT seq, topic, kind, at_s, data FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
            (seq, limit),
        )
        return [rows.event_from_row(r) for r in found]

    def last_seq(self) -> int:
        row = self._reader().execute("SELECT MAX(seq) FROM events").fetchone()
        return int(row[0] or 0)

    def find_token(self, token_id: str) -> tuple[TokenRecord, str] | None:
        row = (
            self._reader()
            .execute(
                "SELECT id, role, name, created_at, hash FROM api_tokens"
                " WHERE id = ? AND revoked_at IS NULL",
                (token_id,),
            )
            .fetchone()
        )
        if row is None:
            return None
        return TokenRecord(row[0], row[1], row[2], row[3]), row[4]

    def count_tokens(self) -> int:
        return int(self._reader().execute("SELECT COUNT(*) FROM api_tokens").fetchone()[0])

    def list_alarms(self, state: str | None = None) -> list[AlarmRecord]:
        sql = f"SELECT {rows.ALARM_COLUMNS} FROM alarms"
        params: tuple[Any, ...] = ()
        if state:
            sql += " WHERE state = ?"
            params = (state,)
        return [
            rows.alarm_from_row(r)
            for r in self._reader().execute(sql + " ORDER BY raised_s", params)
        ]

    def highest_ids(self) -> dict[str, dict[str, int]]:
        """Per table, per id prefix ("T" of "T-000042"), the highest number in use."""
        out: dict[str, dict[str, int]] = {}
        conn = self._reader()
        for table in ("tasks", "alarms"):
            best: dict[str, int] = {}
            for (value,) in conn.execute(f"SELECT id FROM {table}"):
                prefix, _, number = str(value).rpartition("-")
                if prefix and number.isdigit():
                    best[prefix] = max(best.get(prefix, 0), int(number))
            out[table] = best
        return out

    def get_meta(self, key: str) -> str | None:
        row = self._reader().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def close(self) -> None:
        self._writer.close()
        self._write_conn.close()
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()


def _highest_number(conn: sqlite3.Connection, table: str, prefix: str) -> int:
    row = conn.execute(
        f"SELECT MAX(CAST(SUBSTR(id, {len(prefix) + 2}) AS INTEGER)) FROM {table} WHERE id LIKE ?",
        (f"{prefix}-%",),
    ).fetchone()
    return int(row[0] or 0)
