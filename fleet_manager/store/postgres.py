"""PostgreSQL store (psycopg 3, connection pool): the same Store as SqliteStore, for a site that
runs around the clock or several processes on one database.

Writes go through one writer thread with group commit (fleet_manager/store/pg_writer.py, which
also explains how outbox numbers stay in commit order); reads use pooled connections.
Durability: by default a commit returns once the server has it (synchronous_commit=off: a killed
wcs process loses nothing, a crashed database server may lose the last few hundred ms, like
SQLite's synchronous=NORMAL); `durable=True` waits for the WAL flush (synchronous_commit=on).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from fleet_manager.store import rows
from fleet_manager.store.base import (
    AlarmRecord,
    Conflict,
    EventListener,
    IdempotencyClaim,
    OrderRecord,
    PruneResult,
    StateBatch,
    StoredEvent,
    StoredResponse,
    TaskRecord,
)
from fleet_manager.store.pg_follow import OutboxFollower
from fleet_manager.store.pg_migrations import migrate
from fleet_manager.store.pg_writer import (
    EVENTS_CHANNEL,
    Answer,
    PendingEvent,
    PgGroupCommitWriter,
    WriteFn,
)
from fleet_manager.store.postgres_reads import PostgresReads
from fleet_manager.store.retention import RetentionMixin
from fleet_manager.store.sqlite_reads import replay_of

POOL_MAX = 16
PRUNE_BATCH_ROWS = 1000


class PostgresStore(RetentionMixin, PostgresReads):
    """See fleet_manager.store.base.Store."""

    def __init__(
        self,
        url: str,
        *,
        data_dir: str | Path = "data",
        durable: bool = False,
        max_jobs_per_commit: int = 512,
        pool_max: int = POOL_MAX,
        connect_timeout_s: float = 10.0,
    ) -> None:
        self.url = url
        self._data_dir = Path(data_dir)
        options = f"-c synchronous_commit={'on' if durable else 'off'}"
        # Fails here, with the server's own message, if the URL or the server is wrong.
        with psycopg.connect(
            url, autocommit=True, options=options, connect_timeout=int(connect_timeout_s)
        ) as conn:
            migrate(conn)
        self._pool = ConnectionPool(
            url,
            min_size=2,
            max_size=max(2, pool_max),
            kwargs={"autocommit": True, "options": options},
            timeout=30.0,
            name="wcs-store",
            open=True,
        )
        self._pool.wait(timeout=connect_timeout_s)
        self._follower: OutboxFollower | None = None
        self._follower_lock = threading.Lock()
        self._writer = PgGroupCommitWriter(
            self._pool, lambda _events: None, max_jobs_per_commit=max_jobs_per_commit
        )

    @property
    def data_dir(self) -> Path:
        """Local files beside the database (the AS/RS inventory); made on first use, so a
        command that only talks to the database leaves no directory behind."""
        self._data_dir.mkdir(parents=True, exist_ok=True)
        return self._data_dir

    # --- events out -----------------------------------------------------------------------
    def add_event_listener(self, listener: EventListener) -> Callable[[], None]:
        """`listener(events)` runs on the follower thread for every event committed after this
        call, by this process or any other on the database, in seq order (pg_follow.py)."""
        with self._follower_lock:
            if self._follower is None:
                self._follower = OutboxFollower(self.url, self.events_after, self.last_seq())
            return self._follower.add(listener)

    def _submit(self, fn: WriteFn, finish: Any = None) -> Future[Any]:
        return self._writer.submit(fn, finish)

    # --- writes ---------------------------------------------------------------------------
    def _create(
        self,
        claim: IdempotencyClaim | None,
        apply: Callable[[psycopg.Connection, list[PendingEvent]], dict[str, Any]],
    ) -> Future[StoredResponse]:
        """Insert first, claim the key second: two statements for a new order. A key that is
        already there (even one another process is committing right now: the unique index makes
        us wait for it) turns the job into its replay, and the writer rolls our rows back."""

        def fn(conn: psycopg.Connection, outbox: list[PendingEvent]) -> StoredResponse:
            try:
                body = apply(conn, outbox)
            except Conflict:
                if claim is not None:
                    raise Answer(_prior(conn, claim)) from None  # a retry: its first answer
                raise
            if claim is not None:
                row = conn.execute(
                    "INSERT INTO idempotency VALUES (%s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (scope, key) DO NOTHING RETURNING 1",
                    (claim.scope, claim.key, claim.request_hash, 201, rows.dumps(body),
                     time.time()),
                ).fetchone()
                if row is None:
                    raise Answer(_prior(conn, claim))
            return StoredResponse(201, body)

        return self._submit(fn)

    def create_order(
        self, order: OrderRecord, claim: IdempotencyClaim | None
    ) -> Future[StoredResponse]:
        def apply(conn: psycopg.Connection, outbox: list[PendingEvent]) -> dict[str, Any]:
            record = _insert_new(conn, order, "order", "WO", _insert_order)
            body = record.as_dict()
            outbox.append(PendingEvent("order", "received", record.created_s, body))
            return body

        return self._create(claim, apply)

    def create_task(
        self, task: TaskRecord, claim: IdempotencyClaim | None
    ) -> Future[StoredResponse]:
        def apply(conn: psycopg.Connection, outbox: list[PendingEvent]) -> dict[str, Any]:
            record = _insert_new(conn, task, "task", "WT", _insert_task)
            step = {"from": None, "to": record.state, "at_s": record.created_s,
                    "reason": "received"}
            _append_task_history(conn, record.id, step)
            data = {
                "task_id": record.id,
                "task_kind": record.kind,
                "state": record.state,
                "from_state": None,
                "order_id": record.order_id,
                "source": record.source,
            }
            outbox.append(PendingEvent("task", "received", record.created_s, data))
            return replace(record, history=(step,)).as_dict()

        return self._create(claim, apply)

    def apply_batch(self, batch: StateBatch) -> Future[list[StoredEvent]]:
        def fn(conn: psycopg.Connection, outbox: list[PendingEvent]) -> None:
            for change in batch.orders:
                sets = {k: v for k, v in change.items()
                        if k in ("state", "done_s", "station_id", "priority")}
                if sets:
                    assignments = ", ".join(f"{k} = %s" for k in sets)
                    conn.execute(
                        f"UPDATE orders SET {assignments} WHERE id = %s",  # type: ignore[arg-type]
                        (*sets.values(), change["id"]),
                    )
            with conn.cursor() as cur:
                if batch.picks:
                    cur.executemany(
                        "UPDATE order_lines SET picked = LEAST(quantity, picked + %s)"
                        " WHERE order_id = %s AND sku = %s",
                        [(int(units), oid, sku) for oid, sku, units in batch.picks],
                    )
                if batch.tasks:
                    cur.executemany(UPSERT_TASK, [_task_params(t) for t in batch.tasks])
                # One statement per row, sent together (executemany pipelines them).
                if batch.task_history:
                    cur.executemany(APPEND_HISTORY, [_history_params(task_id, step)
                                                     for task_id, step in batch.task_history])
                if batch.alarms:
                    cur.executemany(UPSERT_ALARM, [_alarm_params(a) for a in batch.alarms])
                if batch.meta:
                    cur.executemany(
                        "INSERT INTO meta VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = %s",
                        [(k, v, v) for k, v in batch.meta.items()],
                    )
            for event in batch.events:
                outbox.append(PendingEvent(event.topic, event.kind, event.at_s, event.data))

        return self._submit(fn, finish=lambda _value, stored: list(stored))

    def create_token(self, token_id: str, token_hash: str, role: str, name: str) -> Future[None]:
        def fn(conn: psycopg.Connection, _outbox: list[PendingEvent]) -> None:
            conn.execute(
                "INSERT INTO api_tokens (id, hash, role, name, created_at)"
                " VALUES (%s, %s, %s, %s, %s)",
                (token_id, token_hash, role, name, time.time()),
            )

        return self._submit(fn)

    def set_meta(self, key: str, value: str) -> Future[None]:
        def fn(conn: psycopg.Connection, _outbox: list[PendingEvent]) -> None:
            conn.execute(
                "INSERT INTO meta VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = %s",
                (key, value, value),
            )

        return self._submit(fn)

    def append_kpi_sample(self, time_s: float, sample: dict[str, Any]) -> Future[None]:
        text, wall = rows.dumps(sample), time.time()

        def fn(conn: psycopg.Connection, _outbox: list[PendingEvent]) -> None:
            conn.execute(
                "INSERT INTO kpi_samples (wall_time, time_s, sample) VALUES (%s, %s, %s)",
                (wall, float(time_s), text),
            )

        return self._submit(fn)

    def prune(self, before_wall_s: float, batch_rows: int = PRUNE_BATCH_ROWS) -> PruneResult:
        """Each batch is one short autocommit DELETE on its own connection, beside the writer:
        deleting old rows takes no lock that an insert of new ones waits for."""
        counts: dict[str, int] = {}
        for name, sql, params in (
            ("events", PRUNE_EVENTS, (batch_rows, before_wall_s)),
            ("kpi_samples", PRUNE_KPI, (batch_rows, before_wall_s)),
            ("idempotency_keys", PRUNE_IDEMPOTENCY, (before_wall_s, batch_rows)),
        ):
            total = 0
            while True:
                with self._pool.connection() as conn:
                    n = conn.execute(sql, params).rowcount  # type: ignore[arg-type]
                total += n
                if n < batch_rows:
                    break
            counts[name] = total
        return PruneResult(**counts)

    def close(self) -> None:
        self.stop_retention()
        self._writer.close()
        follower, self._follower = self._follower, None
        if follower is not None and not self._pool.closed:
            follower.close(wake=self._wake_follower)
        self._pool.close()

    def _wake_follower(self) -> None:
        with self._pool.connection() as conn:
            conn.execute("SELECT pg_notify(%s, 'close')", (EVENTS_CHANNEL,))


PRUNE_EVENTS = (
    "DELETE FROM events WHERE seq IN (SELECT seq FROM (SELECT seq, wall_time FROM events"
    " ORDER BY seq LIMIT %s) o WHERE wall_time < %s) AND seq < (SELECT MAX(seq) FROM events)"
)
PRUNE_KPI = (
    "DELETE FROM kpi_samples WHERE seq IN (SELECT seq FROM (SELECT seq, wall_time FROM"
    " kpi_samples ORDER BY seq LIMIT %s) o WHERE wall_time < %s)"
)
PRUNE_IDEMPOTENCY = (
    "DELETE FROM idempotency WHERE (scope, key) IN (SELECT scope, key FROM idempotency"
    " WHERE created_at < %s ORDER BY created_at LIMIT %s)"
)
UPSERT_TASK = (
    "INSERT INTO tasks (id, kind, state, priority, created_s, order_id, resource_id, payload,"
    " source) VALUES (%(id)s, %(kind)s, %(state)s, %(priority)s, %(created_s)s, %(order_id)s,"
    " %(resource_id)s, %(payload)s, %(source)s)"
    " ON CONFLICT (id) DO UPDATE SET state = excluded.state,"
    " resource_id = excluded.resource_id, priority = excluded.priority"
)


def _task_params(task: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": task["id"],
        "kind": str(task.get("kind", "")),
        "state": str(task.get("state", "queued")),
        "priority": int(task.get("priority", 0)),
        "created_s": float(task.get("created_s", 0.0)),
        "order_id": task.get("order_id"),
        "resource_id": task.get("resource_id"),
        "payload": rows.dumps(task.get("payload") or {}),
        "source": task.get("source", "sim"),
    }


def _insert_order(conn: psycopg.Connection, order: OrderRecord, prefix: str) -> str | None:
    """Insert the order and its lines in one statement; its id, or None if the id is taken.
    Without an id, the next number of order_number is used (a client's id may hold it)."""
    row = conn.execute(
        "WITH o AS (INSERT INTO orders (id, state, priority, due_s, station_id, created_s,"
        " created_at, done_s, source, due_at) VALUES (COALESCE(%s, %s || '-' ||"
        " lpad(nextval('order_number')::text, 8, '0')), %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (id) DO NOTHING RETURNING id),"
        " l AS (INSERT INTO order_lines (order_id, line_no, sku, quantity, picked)"
        " SELECT o.id, t.n, t.sku, t.quantity, t.picked FROM o,"
        " unnest(%s::int[], %s::text[], %s::int[], %s::int[]) AS t(n, sku, quantity, picked))"
        " SELECT id FROM o",
        (order.id or None, prefix, order.state, order.priority, order.due_s, order.station_id,
         order.created_s, order.created_at, order.done_s, order.source, order.due_at,
         list(range(len(order.lines))), [ln.sku for ln in order.lines],
         [ln.quantity for ln in order.lines], [ln.picked for ln in order.lines]),
    ).fetchone()
    return None if row is None else str(row[0])


def _insert_task(conn: psycopg.Connection, task: TaskRecord, prefix: str) -> str | None:
    params = {**_task_params(task.as_dict()), "id": task.id or None, "prefix": prefix}
    row = conn.execute(
        "INSERT INTO tasks (id, kind, state, priority, created_s, order_id, resource_id, payload,"
        " source) VALUES (COALESCE(%(id)s, %(prefix)s || '-' ||"
        " lpad(nextval('task_number')::text, 8, '0')), %(kind)s, %(state)s, %(priority)s,"
        " %(created_s)s, %(order_id)s, %(resource_id)s, %(payload)s, %(source)s)"
        " ON CONFLICT (id) DO NOTHING RETURNING id",
        params,
    ).fetchone()
    return None if row is None else str(row[0])


def _insert_new(
    conn: psycopg.Connection, record: Any, what: str, prefix: str,
    insert: Callable[[psycopg.Connection, Any, str], str | None],
) -> Any:
    """Insert with the caller's id (Conflict if taken) or the next number of a database
    sequence, skipping ids a client already chose. A sequence never hands one number to two
    processes; a number burned by a rolled-back job stays unused."""
    while True:
        got = insert(conn, record, prefix)
        if got is not None:
            return record if record.id else replace(record, id=got)
        if record.id:
            raise Conflict(f"{what}_exists", f"{what} {record.id} already exists", field="id")


def _prior(conn: psycopg.Connection, claim: IdempotencyClaim) -> StoredResponse:
    """The committed answer for `claim`'s key (IdempotencyMismatch if another body)."""
    row = conn.execute(
        "SELECT request_hash, status, response FROM idempotency WHERE scope = %s AND key = %s",
        (claim.scope, claim.key),
    ).fetchone()
    replay = replay_of(row, claim)
    if replay is None:  # the conflicting row was rolled back meanwhile: let the caller retry
        raise Conflict("idempotency_key_busy", "retry: the same key is being created",
                       field="Idempotency-Key")
    return replay


APPEND_HISTORY = (
    "INSERT INTO task_history (task_id, idx, from_state, to_state, at_s, reason, resource_id)"
    " VALUES (%s, (SELECT COALESCE(MAX(idx), -1) + 1 FROM task_history WHERE task_id = %s),"
    " %s, %s, %s, %s, %s)"
)
UPSERT_ALARM = (
    f"INSERT INTO alarms ({rows.ALARM_COLUMNS}) VALUES ({', '.join(['%s'] * 13)})"
    " ON CONFLICT (id) DO UPDATE SET state = excluded.state, message = excluded.message,"
    f" {rows.ALARM_KEEP}"
)


def _history_params(task_id: str, step: dict[str, Any]) -> tuple[Any, ...]:
    return (task_id, task_id, step.get("from"), step["to"], float(step.get("at_s", 0.0)),
            step.get("reason", ""), step.get("resource_id"))


def _append_task_history(conn: psycopg.Connection, task_id: str, step: dict[str, Any]) -> None:
    conn.execute(APPEND_HISTORY, _history_params(task_id, step))  # type: ignore[arg-type]


def _alarm_params(alarm: AlarmRecord) -> tuple[Any, ...]:
    return rows.alarm_params(alarm)
