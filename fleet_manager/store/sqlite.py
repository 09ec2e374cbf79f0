"""SQLite store in WAL mode: one writer thread with group commit, per-thread read connections."""

from __future__ import annotations

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
    Conflict,
    EventListener,
    IdempotencyClaim,
    OrderRecord,
    StateBatch,
    StoredEvent,
    StoredResponse,
    TaskRecord,
)
from fleet_manager.store.migrations import migrate
from fleet_manager.store.retention import RetentionMixin
from fleet_manager.store.sqlite_history import SqliteHistory
from fleet_manager.store.sqlite_reads import SqliteReads, connect, replay_of
from fleet_manager.store.writer import GroupCommitWriter

DB_FILE_NAME = "wcs.sqlite3"


class SqliteStore(RetentionMixin, SqliteHistory, SqliteReads):
    """See fleet_manager.store.base.Store. `synchronous="NORMAL"` in WAL survives a killed
    process (the WAL is written before COMMIT returns); use "FULL" to also survive power loss."""

    def __init__(
        self, path: str | Path, *, synchronous: str = "NORMAL", max_jobs_per_commit: int = 512
    ):
        self.path = Path(path)
        self.data_dir = self.path.parent
        self.data_dir.mkdir(parents=True, exist_ok=True)
        conn = connect(self.path)
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
                # Checked again inside the write: a concurrent retry may have committed since
                # the API's read (fleet_manager.api.idempotency.prior_answer).
                replay = replay_of(row, claim)
                if replay is not None:
                    return replay
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
            for key, value in batch.meta.items():
                conn.execute(
                    "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = ?",
                    (key, value, value),
                )
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
    def close(self) -> None:
        self.stop_retention()
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
