"""Clocks for the control plane: wall time in production, paced or manual time in simulation."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Seconds on the control plane's time line (monotone; what `now_s` means everywhere)."""

    def now_s(self) -> float: ...


class ManualClock:
    """Simulated time that moves only when told to (tests, `wcs simulate`, benchmarks)."""

    def __init__(self, start_s: float = 0.0) -> None:
        self._now_s = float(start_s)

    def now_s(self) -> float:
        return self._now_s

    def set(self, now_s: float) -> None:
        if now_s < self._now_s:
            raise ValueError(f"clock cannot go back from {self._now_s} s to {now_s} s")
        self._now_s = float(now_s)


class PacedClock:
    """Simulated time running `speed` times faster than the wall clock from `start_s`.

    `speed=0` means as fast as possible: `now_s()` is then +inf and the caller steps freely.
    `rebase()` forgets lag, so a loop that fell far behind does not sprint to catch up.
    """

    def __init__(self, speed: float = 1.0, start_s: float = 0.0) -> None:
        if speed < 0:
            raise ValueError(f"speed must be >= 0, got {speed}")
        self.speed = float(speed)
        self._start_s = float(start_s)
        self._t0 = time.monotonic()

    def now_s(self) -> float:
        if self.speed == 0:
            return float("inf")
        return self._start_s + (time.monotonic() - self._t0) * self.speed

    def rebase(self, now_s: float) -> None:
        self._start_s, self._t0 = float(now_s), time.monotonic()


class WallClock:
    """Wall time as seconds since `origin_epoch_s` (persisted by the store, so time continues
    across restarts instead of starting at 0 again); `speed` is always 1."""

    speed = 1.0

    def __init__(self, origin_epoch_s: float) -> None:
        self.origin_epoch_s = float(origin_epoch_s)

    def now_s(self) -> float:
        return time.time() - self.origin_epoch_s

    def rebase(self, now_s: float) -> None:
        """Wall time cannot be re-based: lag is real and the loop simply catches up."""

    def iso(self, now_s: float) -> str:
        return iso_utc(self.origin_epoch_s + now_s)


def iso_utc(epoch_s: float) -> str:
    """ISO 8601 UTC with milliseconds, e.g. 2026-12-06T02:11:16.123Z."""
    stamp = datetime.fromtimestamp(epoch_s, tz=UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"
