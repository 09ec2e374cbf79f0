"""Group commit for PostgreSQL: one writer thread, one transaction per group, events last.

Outbox sequence numbers come from a one-row counter (`event_counter`) that each transaction
updates just before COMMIT, in the same transaction as its events. The row lock serialises the
numbering: a second transaction that wants numbers waits until the first has committed, so
numbers become visible in the order they were handed out and a reader polling `seq > n` can never
later find a newly committed event below n. A sequence or identity column cannot promise that:
its values are taken at INSERT and transactions commit in any order, so 7 may be visible while 6
is still in flight, and a reader that moved past 7 skips 6 forever. (The other designs: an
advisory lock serialises the same way; reading only below the oldest in-flight snapshot's xmin
lets writers run in parallel but makes every reader's visibility lag the slowest writer.)

The cost is that event-writing transactions of all processes commit one at a time. The lock is
taken last, by one statement that updates the counter, inserts the group's events and NOTIFYs
the followers, so it is held for that statement and the COMMIT only: never while a job waits on
other locks (which could deadlock against another process holding the counter), never across
several round trips. A rollback undoes the counter update too, so numbers are gapless, as in
the SQLite store.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from fleet_manager.store import rows
from fleet_manager.store.base import StoredEvent

log = logging.getLogger(__name__)
MAX_JOBS_PER_COMMIT = 512
EVENTS_CHANNEL = "wcs_events"
# The notification is delivered at COMMIT to every LISTENing process (pg_follow.py).
NUMBER_EVENTS = (
    "WITH c AS (UPDATE event_counter SET seq = seq + %(n)s RETURNING seq),"
    " e AS (INSERT INTO events (seq, topic, kind, at_s, data, wall_time)"
    " SELECT c.seq - %(n)s + t.ord, t.topic, t.kind, t.at_s, t.data, %(wall)s FROM c,"
    " unnest(%(topics)s::text[], %(kinds)s::text[], %(ats)s::float8[], %(datas)s::text[])"
    " WITH ORDINALITY AS t(topic, kind, at_s, data, ord))"
    " SELECT c.seq, pg_notify(%(channel)s, c.seq::text) FROM c"
)


@dataclass
class PendingEvent:
    """An event a job wants in the outbox; numbered when its group commits."""

    topic: str
    kind: str
    at_s: float
    data: dict[str, Any]
    text: str = ""

    def __post_init__(self) -> None:
        self.text = rows.dumps(self.data)


WriteFn = Callable[[psycopg.Connection, list[PendingEvent]], Any]
# (job's value, its events as stored) -> what the Future resolves to
Finish = Callable[[Any, list[StoredEvent]], Any]
AfterCommit = Callable[[list[StoredEvent]], None]


@dataclass
class _Job:
    fn: WriteFn
    future: Future[Any]
    finish: Finish | None
    outbox: list[PendingEvent] = field(default_factory=list)
    stored: list[StoredEvent] = field(default_factory=list)


class Answer(Exception):
    """Raised by a job whose writes must be rolled back but whose caller gets `value` (an
    idempotent replay found after the job had already inserted its rows)."""

    def __init__(self, value: Any) -> None:
        super().__init__("answer")
        self.value = value


class PgGroupCommitWriter:
    """Jobs waiting when the writer wakes share one transaction. The fast path runs them without
    savepoints (each costs two round trips); if any job raises, the whole transaction is rolled
    back and the group runs again with a savepoint per job, so that job alone is undone. Jobs
    must therefore be safe to run twice (they only write through `conn`). Futures resolve after
    COMMIT returns."""

    def __init__(
        self,
        pool: ConnectionPool,
        after_commit: AfterCommit,
        max_jobs_per_commit: int = MAX_JOBS_PER_COMMIT,
    ) -> None:
        self._pool = pool
        self._after_commit = after_commit
        self._max_jobs = max(1, max_jobs_per_commit)
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="store-writer-pg", daemon=True)
        self._thread.start()

    def submit(self, fn: WriteFn, finish: Finish | None = None) -> Future[Any]:
        future: Future[Any] = Future()
        if self._closed:
            future.set_exception(RuntimeError("store is closed"))
            return future
        self._queue.put(_Job(fn, future, finish))
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
            jobs, stop = [first], False
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

    def number_events(self, conn: psycopg.Connection, jobs: list[_Job]) -> None:
        """Take the counter (row lock until COMMIT), number, insert and announce every pending
        event: one statement, so the lock is held for it and the COMMIT only, never across
        several round trips to this process."""
        pending = [(job, e) for job in jobs for e in job.outbox]
        if not pending:
            return
        n = len(pending)
        wall = time.time()
        row = conn.execute(
            NUMBER_EVENTS,
            {
                "n": n,
                "wall": wall,
                "topics": [e.topic for _, e in pending],
                "kinds": [e.kind for _, e in pending],
                "ats": [float(e.at_s) for _, e in pending],
                "datas": [e.text for _, e in pending],
                "channel": EVENTS_CHANNEL,
            },
        ).fetchone()
        seq = int(row[0]) - n if row else 0
        for job, e in pending:
            seq += 1
            job.stored.append(StoredEvent(seq, e.topic, e.kind, float(e.at_s), e.data, wall))

    def _commit_group(self, jobs: list[_Job]) -> None:
        try:
            with self._pool.connection() as conn:
                outcomes = self._run_group(conn, jobs, savepoints=False)
                if outcomes is None:  # a job raised: every job again, each in a savepoint
                    outcomes = self._run_group(conn, jobs, savepoints=True)
        except Exception as exc:  # noqa: BLE001 - the whole group failed (server gone, deadlock)
            for job in jobs:
                job.future.set_exception(exc)
            return
        for job, (ok, value) in zip(jobs, outcomes or [], strict=True):
            if not ok:
                job.future.set_exception(value)
                continue
            if job.stored:
                try:
                    self._after_commit(job.stored)
                except Exception:  # a listener must not undo a commit
                    log.exception("after-commit listener failed")
            job.future.set_result(job.finish(value, job.stored) if job.finish else value)

    def _run_group(
        self, conn: psycopg.Connection, jobs: list[_Job], *, savepoints: bool
    ) -> list[tuple[bool, Any]] | None:
        """One transaction over `jobs`: (ok, value or error) per job; None if, without
        savepoints, a job raised (the transaction is then rolled back)."""
        outcomes: list[tuple[bool, Any]] = []
        with conn.transaction() as tx:
            for job in jobs:
                job.outbox, job.stored = [], []
                try:
                    if savepoints:
                        with conn.transaction():  # SAVEPOINT: this job alone rolls back
                            outcomes.append((True, job.fn(conn, job.outbox)))
                    else:
                        outcomes.append((True, job.fn(conn, job.outbox)))
                except Answer as answer:
                    if not savepoints:
                        raise psycopg.Rollback(tx) from None
                    job.outbox = []
                    outcomes.append((True, answer.value))
                except Exception as exc:
                    if conn.broken:
                        raise
                    if not savepoints:
                        raise psycopg.Rollback(tx) from None
                    job.outbox = []
                    outcomes.append((False, exc))
            self.number_events(conn, [j for j, (ok, _) in zip(jobs, outcomes) if ok])
        return outcomes if len(outcomes) == len(jobs) else None
