"""Following the PostgreSQL outbox: every committed event, from any process, in seq order.

Writers NOTIFY `wcs_events` in the transaction that adds events (delivered at COMMIT). The
follower LISTENs on its own connection and, on each wake-up (or every poll_s, should a
notification be lost with a dropped connection), reads `events_after(last)` until it is caught
up. Delivery is by sequence number, so nothing is skipped or repeated: the outbox numbering
(fleet_manager/store/pg_writer.py) makes event n+1 visible only after event n.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg

from fleet_manager.store.base import EventListener, StoredEvent
from fleet_manager.store.pg_writer import EVENTS_CHANNEL

log = logging.getLogger(__name__)
PAGE = 1000


class OutboxFollower:
    """Calls each listener with batches of new events on its own thread."""

    def __init__(
        self,
        url: str,
        read: Callable[[int, int], list[StoredEvent]],
        after_seq: int,
        poll_s: float = 1.0,
    ) -> None:
        self._url = url
        self._read = read
        self.last_seq = after_seq
        self._poll_s = poll_s
        self._listeners: list[EventListener] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()  # one catch-up at a time (the thread, or close)
        self._conn: psycopg.Connection | None = None
        self._thread = threading.Thread(target=self._run, name="store-outbox-follow", daemon=True)
        self._listening = threading.Event()
        self._thread.start()
        self._listening.wait(10)

    def add(self, listener: EventListener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def catch_up(self) -> None:
        with self._lock:
            while True:
                page = self._read(self.last_seq, PAGE)
                if page:
                    self.last_seq = page[-1].seq
                for listener in list(self._listeners) if page else ():
                    try:
                        listener(page)
                    except Exception:  # one listener must not starve the others
                        log.exception("outbox listener failed")
                if len(page) < PAGE:  # caught up: no second query to learn that
                    return

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._url, autocommit=True) as conn:
                    self._conn = conn
                    conn.execute(f"LISTEN {EVENTS_CHANNEL}")  # type: ignore[arg-type]
                    self._listening.set()
                    while not self._stop.is_set():
                        self.catch_up()
                        for _note in conn.notifies(timeout=self._poll_s, stop_after=1):
                            pass
            except Exception:  # server restart, dropped link: listen again, then catch up
                if not self._stop.is_set():
                    log.exception("outbox follower lost its connection; reconnecting")
                    self._stop.wait(1.0)
            finally:
                self._conn = None
                self._listening.set()

    def close(self, wake: Callable[[], None] | None = None) -> None:
        """Stop after one last catch-up, so listeners have seen every committed event."""
        self._stop.set()
        if wake is not None:
            wake()
        self._thread.join(timeout=self._poll_s + 10)
        self.catch_up()
