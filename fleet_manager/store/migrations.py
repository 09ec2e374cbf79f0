"""Numbered schema migrations: each runs once, in order, recorded in schema_version.

Add a migration by appending (next number, SQL) to MIGRATIONS; never edit a released one.
"""

from __future__ import annotations

import sqlite3
import time

from fleet_manager.store.base import StoreOpenError

MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE orders (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            state TEXT NOT NULL,
            priority INTEGER NOT NULL DEFAULT 0,
            due_s REAL,
            station_id TEXT,
            created_s REAL NOT NULL,
            created_at REAL NOT NULL,
            done_s REAL,
            source TEXT NOT NULL DEFAULT 'api'
        );
        CREATE INDEX orders_state ON orders (state, seq);
        CREATE TABLE order_lines (
            order_id TEXT NOT NULL REFERENCES orders (id),
            line_no INTEGER NOT NULL,
            sku TEXT NOT NULL,
            quantity INTEGER NOT NULL CHECK (quantity > 0),
            picked INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (order_id, line_no)
        ) WITHOUT ROWID;
        CREATE INDEX order_lines_sku ON order_lines (sku);
        CREATE TABLE tasks (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            state TEXT NOT NULL,
            priority INTEGER NOT NULL DEFAULT 0,
            created_s REAL NOT NULL,
            order_id TEXT,
            resource_id TEXT,
            payload TEXT NOT NULL DEFAULT '{}',
            source TEXT NOT NULL DEFAULT 'sim'
        );
        CREATE INDEX tasks_state ON tasks (state, seq);
        CREATE INDEX tasks_order ON tasks (order_id);
        CREATE TABLE task_history (
            task_id TEXT NOT NULL,
            idx INTEGER NOT NULL,
            from_state TEXT,
            to_state TEXT NOT NULL,
            at_s REAL NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            resource_id TEXT,
            PRIMARY KEY (task_id, idx)
        ) WITHOUT ROWID;
        CREATE TABLE events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            topic TEXT NOT NULL,
            kind TEXT NOT NULL,
            at_s REAL NOT NULL,
            data TEXT NOT NULL,
            wall_time REAL NOT NULL
        );
        CREATE TABLE idempotency (
            scope TEXT NOT NULL,
            key TEXT NOT NULL,
            request_hash TEXT NOT NULL,
            status INTEGER NOT NULL,
            response TEXT NOT NULL,
            created_at REAL NOT NULL,
            PRIMARY KEY (scope, key)
        ) WITHOUT ROWID;
        CREATE TABLE api_tokens (
            id TEXT PRIMARY KEY,
            hash TEXT NOT NULL,
            role TEXT NOT NULL,
            name TEXT NOT NULL,
            created_at REAL NOT NULL,
            revoked_at REAL
        );
        CREATE TABLE alarms (
            id TEXT PRIMARY KEY,
            code TEXT NOT NULL,
            message TEXT NOT NULL,
            raised_s REAL NOT NULL,
            state TEXT NOT NULL,
            severity TEXT NOT NULL DEFAULT 'warning',
            resource_id TEXT,
            acked_by TEXT,
            acked_at REAL
        );
        """,
    ),
    (
        2,
        """
        CREATE TABLE kpi_samples (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            wall_time REAL NOT NULL,
            time_s REAL NOT NULL,
            sample TEXT NOT NULL
        );
        CREATE INDEX idempotency_created ON idempotency (created_at);
        """,
    ),
    (
        3,
        """
        -- One alarm shape (issue 19): when it cleared, and wall times beside simulated seconds.
        ALTER TABLE alarms ADD COLUMN cleared_s REAL;
        ALTER TABLE alarms ADD COLUMN raised_wall REAL;
        ALTER TABLE alarms ADD COLUMN acked_wall REAL;
        ALTER TABLE alarms ADD COLUMN cleared_wall REAL;
        """,
    ),
    (
        4,
        """
        -- Orders' due time as wall clock (unix seconds) beside the simulated due_s (issue 19).
        ALTER TABLE orders ADD COLUMN due_at REAL;
        """,
    ),
]

LATEST_VERSION = MIGRATIONS[-1][0]


class SchemaTooNew(StoreOpenError):
    """The database was written by a newer version of this program."""


def current_version(conn: sqlite3.Connection) -> int:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at REAL)"
    )
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def migrate(conn: sqlite3.Connection) -> list[int]:
    """Apply every pending migration, each in its own transaction; return the versions applied."""
    have = current_version(conn)
    if have > LATEST_VERSION:
        raise SchemaTooNew(
            f"database schema version {have} is newer than this program's {LATEST_VERSION}"
        )
    applied: list[int] = []
    for version, sql in MIGRATIONS:
        if version <= have:
            continue
        # executescript commits first; wrap explicitly so a failed migration leaves no trace.
        try:
            conn.executescript(
                f"BEGIN;\n{sql}\n"
                f"INSERT INTO schema_version VALUES ({version}, {time.time()});\nCOMMIT;"
            )
        except sqlite3.Error:
            if conn.in_transaction:
                conn.rollback()
            raise
        applied.append(version)
    return applied
