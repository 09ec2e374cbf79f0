"""Read side of the SQLite store: per-thread connections, each read a consistent WAL snapshot."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from fleet_manager.store import rows
from fleet_manager.store.base import (
    AlarmRecord,
    IdempotencyClaim,
    IdempotencyMismatch,
    OrderQuery,
    OrderRecord,
    StoredEvent,
    StoredResponse,
    TaskRecord,
    TokenRecord,
)
from fleet_manager.store.filters import next_page, order_filter, page_size, task_filter

OPEN_ORDER_STATES = ("open", "in_progress")
OPEN_TASK_STATES = ("queued", "assigned", "active")


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
    conn.execute("PRAGMA busy_timeout = 30000")
    return conn


class SqliteReads:
    """Queries of SqliteStore; never writes (query_only connections)."""

    path: Path
    _local: threading.local
    _readers: list[sqlite3.Connection]
    _readers_lock: threading.Lock

    def _reader(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path)
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
        where, params = order_filter(query, "?")
        limit = page_size(query.limit)
        found, cursor = next_page(self._orders_where(where, params, limit + 1), limit)
        return self._orders(found), cursor

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
        where, params = task_filter(
            "?", state=state, kind=kind, order_id=order_id, after_cursor=after_cursor
        )
        limit = page_size(limit)
        found, cursor = next_page(
            self._reader()
            .execute(
                f"SELECT {rows.TASK_COLUMNS} FROM tasks WHERE {where} ORDER BY seq LIMIT ?",
                (*params, limit + 1),
            )
            .fetchall(),
            limit,
        )
        return self._tasks(found), cursor

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
            "SELECT seq, topic, kind, at_s, data, wall_time FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
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

    def idempotent_response(self, claim: IdempotencyClaim) -> StoredResponse | None:
        """The committed answer to an earlier create with this key (replayed=True), None if the
        key is new; IdempotencyMismatch if it came with another body. Read before any pre-check
        so a retry gets the original answer even when the world has moved on since."""
        row = (
            self._reader()
            .execute(
                "SELECT request_hash, status, response FROM idempotency"
                " WHERE scope = ? AND key = ?",
                (claim.scope, claim.key),
            )
            .fetchone()
        )
        return replay_of(row, claim)

    def get_meta(self, key: str) -> str | None:
        row = self._reader().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])


def replay_of(row: tuple | None, claim: IdempotencyClaim) -> StoredResponse | None:
    """(request_hash, status, response) of an idempotency row -> the replayed answer."""
    if row is None:
        return None
    if row[0] != claim.request_hash:
        raise IdempotencyMismatch(
            "idempotency_key_reused",
            "this Idempotency-Key was already used with a different request body",
            field="Idempotency-Key",
        )
    return StoredResponse(int(row[1]), json.loads(row[2]), replayed=True)
