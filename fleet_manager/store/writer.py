"""Single writer thread with group commit: many small writes share one SQLite transaction."""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

WriteFn = Callable[[sqlite3.Connection], Any]
AfterCommit = Callable[[Any], None]

MAX_JOBS_PER_COMMIT = 512
log = logging.getLogger(__name__)


@dataclass
class _Job:
    fn: WriteFn
    future: Future[Any]
    after_commit: AfterCommit | None = None


class GroupCommitWriter:
    """Owns the one write connection. Each job runs inside its own SAVEPOINT, so a job that
    raises is rolled back alone; all jobs waiting when the writer wakes commit together.
    Futures resolve only after COMMIT returns, so a caller that sees success is durable."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        name: str = "store-writer",
        max_jobs_per_commit: int = MAX_JOBS_PER_COMMIT,
    ):
        self._conn = conn
        self._max_jobs = max(1, max_jobs_per_commit)
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: WriteFn, after_commit: AfterCommit | None = None) -> Future[Any]:
        """Queue `fn(conn)`; `after_commit(result)` runs on the writer thread after COMMIT."""
        future: Future[Any] = Future()
        if self._closed:
            future.set_exception(RuntimeError("store is closed"))
            return future
        self._queue.put(_Job(fn, future, after_commit))
        return future

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            jobs = [first]
            stop = False
            while len(jobs) < self._max_jobs:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stop = True
                    break
                jobs.append(job)
            self._commit_group(jobs)
            if stop:
                return

    def _commit_group(self, jobs: list[_Job]) -> None:
        conn = self._conn
        outcomes: list[tuple[bool, Any]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for job in jobs:
                conn.execute("SAVEPOINT job")
                try:
                    outcomes.append((True, job.fn(conn)))
                    conn.execute("RELEASE job")
                except Exception as exc:  # noqa: BLE001 - the job's error belongs to its caller
                    conn.execute("ROLLBACK TO job")
                    conn.execute("RELEASE job")
                    outcomes.append((False, exc))
            conn.execute("COMMIT")
        except Exception as exc:  # noqa: BLE001 - the whole group failed (disk full, locked)
            if conn.in_transaction:
                conn.rollback()
            for job in jobs:
                job.future.set_exception(exc)
            return
        for job, (ok, value) in zip(jobs, outcomes, strict=True):
            if ok:
                if job.after_commit is not None:
                    try:
                        job.after_commit(value)
                    except Exception:  # a listener must not undo a commit
                        log.exception("after-commit listener failed")
                job.future.set_result(value)
            else:
                job.future.set_exception(value)
