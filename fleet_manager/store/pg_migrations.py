"""PostgreSQL schema migrations: numbered, applied once each under an advisory lock.

The same story as the SQLite ones (fleet_manager/store/migrations.py): append (next number, SQL),
never edit a released one; a database newer than this program is refused with SchemaTooNew.
Several processes may start at once: the advisory lock lets exactly one of them migrate.
"""

from __future__ import annotations

import time

import psycopg

from fleet_manager.store.migrations import SchemaTooNew

MIGRATION_LOCK = 0x574353_4D4947  # "WCS" "MIG": any constant, shared by every process

MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE orders (
            seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            state TEXT NOT NULL,
            priority INTEGER NOT NULL DEFAULT 0,
            due_s DOUBLE PRECISION,
            station_id TEXT,
            created_s DOUBLE PRECISION NOT NULL,
            created_at DOUBLE PRECISION NOT NULL,
            done_s DOUBLE PRECISION,
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
        );
        CREATE INDEX order_lines_sku ON order_lines (sku);
        CREATE TABLE tasks (
            seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            state TEXT NOT NULL,
            priority INTEGER NOT NULL DEFAULT 0,
            created_s DOUBLE PRECISION NOT NULL,
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
            at_s DOUBLE PRECISION NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            resource_id TEXT,
            PRIMARY KEY (task_id, idx)
        );
        -- seq comes from event_counter, never from a sequence: see postgres.py.
        CREATE TABLE events (
            seq BIGINT PRIMARY KEY,
            topic TEXT NOT NULL,
            kind TEXT NOT NULL,
            at_s DOUBLE PRECISION NOT NULL,
            data TEXT NOT NULL,
            wall_time DOUBLE PRECISION NOT NULL
        );
        CREATE TABLE event_counter (
            one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
            seq BIGINT NOT NULL
        );
        INSERT INTO event_counter (seq) VALUES (0);
        CREATE SEQUENCE order_number;
        CREATE SEQUENCE task_number;
        CREATE TABLE idempotency (
            scope TEXT NOT NULL,
            key TEXT NOT NULL,
            request_hash TEXT NOT NULL,
            status INTEGER NOT NULL,
            response TEXT NOT NULL,
            created_at DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (scope, key)
        );
        CREATE INDEX idempotency_created ON idempotency (created_at);
        CREATE TABLE api_tokens (
            id TEXT PRIMARY KEY,
            hash TEXT NOT NULL,
            role TEXT NOT NULL,
            name TEXT NOT NULL,
            created_at DOUBLE PRECISION NOT NULL,
            revoked_at DOUBLE PRECISION
        );
        CREATE TABLE alarms (
            id TEXT PRIMARY KEY,
            code TEXT NOT NULL,
            message TEXT NOT NULL,
            raised_s DOUBLE PRECISION NOT NULL,
            state TEXT NOT NULL,
            severity TEXT NOT NULL DEFAULT 'warning',
            resource_id TEXT,
            acked_by TEXT,
            acked_at DOUBLE PRECISION
        );
        CREATE TABLE kpi_samples (
            seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            wall_time DOUBLE PRECISION NOT NULL,
            time_s DOUBLE PRECISION NOT NULL,
            sample TEXT NOT NULL
        );
        """,
    ),
    (
        2,
        """
        -- Commands from API-only processes to the control plane (fleet_manager/store/pg_inbox.py).
        CREATE TABLE inbox (
            seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            command TEXT NOT NULL,
            args TEXT NOT NULL,
            created_at DOUBLE PRECISION NOT NULL,
            done_at DOUBLE PRECISION,
            ok BOOLEAN,
            result TEXT
        );
        CREATE INDEX inbox_pending ON inbox (seq) WHERE done_at IS NULL;
        """,
    ),
    (
        3,
        """
        -- One alarm shape (issue 19): when it cleared, and wall times beside simulated seconds.
        ALTER TABLE alarms ADD COLUMN cleared_s DOUBLE PRECISION;
        ALTER TABLE alarms ADD COLUMN raised_wall DOUBLE PRECISION;
        ALTER TABLE alarms ADD COLUMN acked_wall DOUBLE PRECISION;
        ALTER TABLE alarms ADD COLUMN cleared_wall DOUBLE PRECISION;
        """,
    ),
    (
        4,
        """
        -- Orders' due time as wall clock (unix seconds) beside the simulated due_s (issue 19).
        ALTER TABLE orders ADD COLUMN due_at DOUBLE PRECISION;
        """,
    ),
]

LATEST_VERSION = MIGRATIONS[-1][0]


def current_version(conn: psycopg.Connection) -> int:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_version"
        " (version INTEGER PRIMARY KEY, applied_at DOUBLE PRECISION)"
    )
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0) if row else 0


def migrate(conn: psycopg.Connection) -> list[int]:
    """Apply every pending migration, each in its own transaction; return the versions applied.
    `conn` must be in autocommit mode."""
    conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
    try:
        have = current_version(conn)
        if have > LATEST_VERSION:
            raise SchemaTooNew(
                f"database schema version {have} is newer than this program's {LATEST_VERSION}"
            )
        applied: list[int] = []
        for version, sql in MIGRATIONS:
            if version <= have:
                continue
            with conn.transaction():  # a failed migration leaves no trace
                conn.execute(sql)  # type: ignore[arg-type]  # trusted, static DDL
                conn.execute(
                    "INSERT INTO schema_version VALUES (%s, %s)", (version, time.time())
                )
            applied.append(version)
        return applied
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
