"""Durable history of the SQLite store: KPI samples and retention pruning in small batches."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from fleet_manager.store import rows
from fleet_manager.store.base import PruneResult, StoredEvent

# Each statement deletes up to N rows of the oldest N (seq order): old rows are found through the
# primary key, never by scanning the table for a timestamp.
PRUNE_EVENTS = (
    "DELETE FROM events WHERE seq IN (SELECT seq FROM (SELECT seq, wall_time FROM events"
    " ORDER BY seq LIMIT ?) WHERE wall_time < ?) AND seq < (SELECT MAX(seq) FROM events)"
)
PRUNE_KPI = (
    "DELETE FROM kpi_samples WHERE seq IN (SELECT seq FROM (SELECT seq, wall_time FROM"
    " kpi_samples ORDER BY seq LIMIT ?) WHERE wall_time < ?)"
)
PRUNE_IDEMPOTENCY = (
    "DELETE FROM idempotency WHERE (scope, key) IN (SELECT scope, key FROM idempotency"
    " WHERE created_at < ? ORDER BY created_at LIMIT ?)"
)

Job = Callable[[sqlite3.Connection, list[StoredEvent]], Any]


class SqliteHistory:
    """KPI samples and pruning; mixed into SqliteStore (needs `_submit` and `_reader`)."""

    _submit: Callable[[Job], Future[Any]]
    _reader: Callable[[], sqlite3.Connection]

    def append_kpi_sample(self, time_s: float, sample: dict[str, Any]) -> Future[None]:
        text, wall = rows.dumps(sample), time.time()

        def fn(conn: sqlite3.Connection, _emitted: list[StoredEvent]) -> None:
            conn.execute(
                "INSERT INTO kpi_samples (wall_time, time_s, sample) VALUES (?, ?, ?)",
                (wall, float(time_s), text),
            )

        return self._submit(fn)

    def kpi_samples(self, limit: int) -> list[tuple[float, dict[str, Any]]]:
        found = self._reader().execute(
            "SELECT wall_time, sample FROM kpi_samples ORDER BY seq DESC LIMIT ?", (limit,)
        ).fetchall()
        return [(float(wall), json.loads(text)) for wall, text in reversed(found)]

    def prune(self, before_wall_s: float, batch_rows: int = 1000) -> PruneResult:
        """Each batch is its own write job: the writer commits other work between batches."""
        counts = {}
        for name, sql, params in (
            ("events", PRUNE_EVENTS, (batch_rows, before_wall_s)),
            ("kpi_samples", PRUNE_KPI, (batch_rows, before_wall_s)),
            ("idempotency_keys", PRUNE_IDEMPOTENCY, (before_wall_s, batch_rows)),
        ):
            total = 0
            while True:
                n = self._submit(_delete(sql, params)).result()
                total += n
                if n < batch_rows:
                    break
            counts[name] = total
        return PruneResult(**counts)


def _delete(sql: str, params: tuple[Any, ...]) -> Job:
    def fn(conn: sqlite3.Connection, _emitted: list[StoredEvent]) -> int:
        return int(conn.execute(sql, params).rowcount)

    return fn
