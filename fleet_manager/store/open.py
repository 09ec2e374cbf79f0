"""Choosing the store: the SQLite file in the data dir (default) or a PostgreSQL database.

Every command that opens the store registers `add_database_option(parser)` and calls
`open_store(...)`, so `--database postgresql://...` (or WCS_DATABASE_URL) means the same thing
everywhere.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from fleet_manager.store.base import Store, StoreOpenError
from fleet_manager.store.retention import DEFAULT_RETENTION_DAYS, retention_seconds
from fleet_manager.store.sqlite import DB_FILE_NAME

DATABASE_ENV = "WCS_DATABASE_URL"
URL_SCHEMES = ("postgresql://", "postgres://")


def add_database_option(parser: argparse.ArgumentParser, *, retention: bool = False) -> None:
    parser.add_argument(
        "--database",
        default=os.environ.get(DATABASE_ENV) or None,
        metavar="postgresql://user:pass@host:port/db",
        help=f"use this PostgreSQL database instead of the data dir's SQLite file"
        f" (default: ${DATABASE_ENV})",
    )
    if retention:
        parser.add_argument(
            "--retention-days",
            type=float,
            default=DEFAULT_RETENTION_DAYS,
            help=f"keep events, KPI samples and idempotency keys this long (default"
            f" {DEFAULT_RETENTION_DAYS:g}; 0 keeps everything)",
        )


def check_store_options(url: str | None, retention_days: float | None = None) -> str | None:
    """None if --database (absent or a postgresql:// URL) and --retention-days are usable, else
    one line naming what is wrong (never the password)."""
    if url is not None and not url.startswith(URL_SCHEMES):
        return f"--database must be a postgresql:// URL, got {url.split('@')[-1]!r}"
    if retention_days is not None and retention_days < 0:
        return f"--retention-days must be >= 0, got {retention_days:g}"
    return None


def database_missing(data_dir: str | Path, url: str | None) -> str | None:
    """For `wcs serve`: a one-line problem if there is no store to serve yet."""
    if url is None and not (Path(data_dir) / DB_FILE_NAME).exists():
        return f"no database in {data_dir}: run `wcs run` or `wcs token create` first"
    return None


def open_store(
    data_dir: str | Path,
    database_url: str | None = None,
    *,
    durable: bool = False,
    retention_days: float | None = None,
    make_data_dir: bool = True,
) -> Store:
    """PostgresStore for a URL, else SqliteStore in data_dir. `durable` also survives power loss
    (SQLite synchronous=FULL, PostgreSQL synchronous_commit=on); `retention_days` > 0 starts the
    pruner. With PostgreSQL, data_dir (local files only) is made unless `make_data_dir` is False
(commands that only talk to the database). Raises StoreOpenError (SchemaTooNew among them) with one line, never the password."""
    problem = check_store_options(database_url, retention_days)
    if problem:
        raise StoreOpenError(problem)
    keep_s = retention_seconds(retention_days) if retention_days is not None else None
    max_jobs = int(os.environ.get("WCS_MAX_JOBS_PER_COMMIT", "512"))
    store: Store
    if database_url is not None:
        import psycopg

        from fleet_manager.store.postgres import PostgresStore

        try:
            store = PostgresStore(
                database_url, data_dir=data_dir, durable=durable, max_jobs_per_commit=max_jobs
            )
        except psycopg.Error as exc:
            where = database_url.split("@")[-1]
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StoreOpenError(f"cannot open PostgreSQL database {where}: {first}") from None
        if make_data_dir:
            _ = store.data_dir  # made on first use
    else:
        import sqlite3

        from fleet_manager.store.sqlite import SqliteStore

        try:
            store = SqliteStore.in_dir(
                data_dir, synchronous="FULL" if durable else "NORMAL",
                max_jobs_per_commit=max_jobs,
            )
        except (sqlite3.Error, OSError) as exc:
            raise StoreOpenError(f"cannot open {Path(data_dir) / DB_FILE_NAME}: {exc}") from None
    if keep_s is not None:
        store.start_retention(keep_s)
    return store
