"""Retention: a background thread that prunes history older than N days, in small batches."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_RETENTION_DAYS = 90.0
PRUNE_EVERY_S = 600.0
FIRST_PRUNE_AFTER_S = 5.0  # let start-up (recovery, first batches) go first


class RetentionMixin:
    """`start_retention(retention_s)` prunes every `every_s` through `self.prune(...)`; the
    store's close() calls `stop_retention()`. Each prune batch is its own short transaction, so
    writers wait at most one batch."""

    _retention_stop: threading.Event | None = None
    _retention_thread: threading.Thread | None = None

    def start_retention(
        self, retention_s: float, every_s: float = PRUNE_EVERY_S, batch_rows: int = 1000
    ) -> None:
        if retention_s <= 0:
            raise ValueError(f"retention must be > 0 s, got {retention_s}")
        stop = threading.Event()

        def loop() -> None:
            wait_s = min(FIRST_PRUNE_AFTER_S, every_s)
            while not stop.wait(wait_s):
                wait_s = every_s
                try:
                    done = self.prune(time.time() - retention_s, batch_rows)  # type: ignore[attr-defined]
                    if any(vars(done).values()):
                        log.info("retention: pruned %s", done)
                except Exception:  # a failed pass is retried next time; never stop the service
                    log.exception("retention pass failed")

        self._retention_stop = stop
        self._retention_thread = threading.Thread(target=loop, name="store-retention", daemon=True)
        self._retention_thread.start()

    def stop_retention(self) -> None:
        if self._retention_stop is not None and self._retention_thread is not None:
            self._retention_stop.set()
            self._retention_thread.join(timeout=60)
            self._retention_stop = self._retention_thread = None


def retention_seconds(days: Any) -> float | None:
    """--retention-days -> seconds; 0 keeps everything (None)."""
    value = float(days)
    if value < 0:
        raise ValueError(f"--retention-days must be >= 0, got {days}")
    return value * 86400.0 if value > 0 else None
