"""Read side of the PostgreSQL store: pooled autocommit connections, one statement per read.

Each read is a single statement (orders with their lines, tasks with their history, joined), so
it sees one consistent snapshot without an explicit transaction.
"""

from __future__ import annotations

import json
from typing import Any

from psycopg_pool import ConnectionPool

from fleet_manager.store import rows
from fleet_manager.store.base import (
    AlarmRecord,
    IdempotencyClaim,
    OrderQuery,
    OrderRecord,
    StoredEvent,
    StoredResponse,
    TaskRecord,
    TokenRecord,
)
from fleet_manager.store.filters import next_page, order_filter, page_size, task_filter
from fleet_manager.store.sqlite_reads import OPEN_ORDER_STATES, OPEN_TASK_STATES, replay_of

ORDERS_WITH_LINES = (
    "WITH o AS (SELECT {cols} FROM orders WHERE {where} ORDER BY seq LIMIT %s)"
    " SELECT o.*, l.sku, l.quantity, l.picked FROM o"
    " LEFT JOIN order_lines l ON l.order_id = o.id ORDER BY o.seq, l.line_no"
)
TASKS_WITH_HISTORY = (
    "WITH t AS (SELECT {cols} FROM tasks WHERE {where} ORDER BY seq LIMIT %s)"
    " SELECT t.*, h.from_state, h.to_state, h.at_s, h.reason, h.resource_id FROM t"
    " LEFT JOIN task_history h ON h.task_id = t.id ORDER BY t.seq, h.idx"
)


def _grouped(found: list[tuple], width: int) -> list[tuple[tuple, list[tuple]]]:
    """Joined rows -> (parent row, [child rows]) in order; a parent without children has []."""
    out: list[tuple[tuple, list[tuple]]] = []
    for row in found:
        parent, child = row[:width], row[width:]
        if not out or out[-1][0][0] != parent[0]:
            out.append((parent, []))
        if child[0] is not None or child[1] is not None:
            out[-1][1].append(child)
    return out


class PostgresReads:
    """Queries of PostgresStore."""

    _pool: ConnectionPool

    def _all(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[tuple]:
        with self._pool.connection() as conn:
            return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]

    def _one(self, sql: str, params: tuple[Any, ...] = ()) -> tuple | None:
        with self._pool.connection() as conn:
            return conn.execute(sql, params).fetchone()  # type: ignore[arg-type]

    def _orders(self, where: str, params: list[Any], limit: int) -> list[tuple[int, OrderRecord]]:
        sql = ORDERS_WITH_LINES.format(cols=rows.ORDER_COLUMNS, where=where)
        return [
            (parent[0], rows.order_from_row(parent, lines))
            for parent, lines in _grouped(self._all(sql, [*params, limit]), rows.ORDER_WIDTH)
        ]

    def get_order(self, order_id: str) -> OrderRecord | None:
        found = self._orders("id = %s", [order_id], 1)
        return found[0][1] if found else None

    def list_orders(self, query: OrderQuery) -> tuple[list[OrderRecord], int | None]:
        where, params = order_filter(query, "%s")
        limit = page_size(query.limit)
        found, cursor = next_page(self._orders(where, params, limit + 1), limit)
        return [o for _, o in found], cursor

    def open_orders(self) -> list[OrderRecord]:
        found = self._orders("state = ANY(%s)", [list(OPEN_ORDER_STATES)], 2**62)
        return [o for _, o in found]

    def count_orders(self) -> dict[str, int]:
        return {s: int(n) for s, n in self._all("SELECT state, COUNT(*) FROM orders GROUP BY state")}

    def _tasks(self, where: str, params: list[Any], limit: int) -> list[tuple[int, TaskRecord]]:
        sql = TASKS_WITH_HISTORY.format(cols=rows.TASK_COLUMNS, where=where)
        return [
            (parent[0], rows.task_from_row(parent, history))
            for parent, history in _grouped(self._all(sql, [*params, limit]), 10)
        ]

    def get_task(self, task_id: str) -> TaskRecord | None:
        found = self._tasks("id = %s", [task_id], 1)
        return found[0][1] if found else None

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
            "%s", state=state, kind=kind, order_id=order_id, after_cursor=after_cursor
        )
        limit = page_size(limit)
        found, cursor = next_page(self._tasks(where, params, limit + 1), limit)
        return [t for _, t in found], cursor

    def open_tasks(self) -> list[TaskRecord]:
        return [t for _, t in self._tasks("state = ANY(%s)", [list(OPEN_TASK_STATES)], 2**62)]

    def events_after(self, seq: int, limit: int = 1000) -> list[StoredEvent]:
        found = self._all(
            "SELECT seq, topic, kind, at_s, data, wall_time FROM events WHERE seq > %s ORDER BY seq LIMIT %s",
            (seq, limit),
        )
        return [rows.event_from_row(r) for r in found]

    def last_seq(self) -> int:
        # The counter, not MAX(seq): it stays right when retention has pruned old events.
        row = self._one("SELECT seq FROM event_counter")
        return int(row[0]) if row else 0

    def find_token(self, token_id: str) -> tuple[TokenRecord, str] | None:
        row = self._one(
            "SELECT id, role, name, created_at, hash FROM api_tokens"
            " WHERE id = %s AND revoked_at IS NULL",
            (token_id,),
        )
        if row is None:
            return None
        return TokenRecord(row[0], row[1], row[2], row[3]), row[4]

    def count_tokens(self) -> int:
        row = self._one("SELECT COUNT(*) FROM api_tokens")
        return int(row[0]) if row else 0

    def list_alarms(self, state: str | None = None) -> list[AlarmRecord]:
        sql = f"SELECT {rows.ALARM_COLUMNS} FROM alarms"
        params: tuple[Any, ...] = ()
        if state:
            sql += " WHERE state = %s"
            params = (state,)
        return [rows.alarm_from_row(r) for r in self._all(sql + " ORDER BY raised_s, id", params)]

    def highest_ids(self) -> dict[str, dict[str, int]]:
        """Per table, per id prefix ("T" of "T-000042"), the highest number in use."""
        out: dict[str, dict[str, int]] = {}
        for table in ("tasks", "alarms"):
            best: dict[str, int] = {}
            for (value,) in self._all(f"SELECT id FROM {table}"):
                prefix, _, number = str(value).rpartition("-")
                if prefix and number.isdigit():
                    best[prefix] = max(best.get(prefix, 0), int(number))
            out[table] = best
        return out

    def idempotent_response(self, claim: IdempotencyClaim) -> StoredResponse | None:
        row = self._one(
            "SELECT request_hash, status, response FROM idempotency WHERE scope = %s AND key = %s",
            (claim.scope, claim.key),
        )
        return replay_of(row, claim)

    def get_meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key = %s", (key,))
        return None if row is None else str(row[0])

    def kpi_samples(self, limit: int) -> list[tuple[float, dict[str, Any]]]:
        found = self._all(
            "SELECT wall_time, sample FROM kpi_samples ORDER BY seq DESC LIMIT %s", (limit,)
        )
        return [(float(wall), json.loads(text)) for wall, text in reversed(found)]
