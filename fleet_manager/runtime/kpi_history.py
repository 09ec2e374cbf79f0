"""Bounded ring of KPI samples taken from live snapshots: the last hour at one per 10 sim s.

Filled on the control thread (`record`, from each snapshot), read by API threads (`window`).
With a store, every kept sample is also written there, and a new ring starts from the stored
ones: the charts survive a restart. Each run's simulated clock starts again, so samples of
earlier runs are moved back in time to end one step before the current run's first sample;
the curve stays one line, with the past at earlier (possibly negative) `time_s`.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Mapping
from concurrent.futures import Future
from typing import Any

from fleet_manager.store.base import Store

log = logging.getLogger(__name__)

STEP_S = 10.0  # simulated seconds between samples (coarser when snapshots are further apart)
HORIZON_S = 3600.0  # how far back the ring reaches

KpiSample = dict[str, Any]


def robot_state(robot: Mapping[str, Any]) -> str:
    """Same classification as the monitor's map and robot table."""
    if robot.get("out_of_service"):
        return "out_of_service"
    if robot.get("error"):
        return "fault"
    if robot.get("paused"):
        return "paused"
    return str(robot.get("state") or "unknown")


def sample_of(snapshot: Mapping[str, Any]) -> KpiSample:
    """The fields the KPI charts need, from one live snapshot."""
    k = snapshot.get("kpis")
    k = k if isinstance(k, Mapping) else {}
    states: dict[str, int] = {}
    for robot in snapshot.get("robots") or []:
        if isinstance(robot, Mapping):
            s = robot_state(robot)
            states[s] = states.get(s, 0) + 1
    idle = k.get("station_idle_share")
    idle = idle if isinstance(idle, Mapping) else {}
    return {
        "time_s": round(float(snapshot.get("time_s") or 0.0), 3),
        "units_picked": int(k.get("units_picked") or 0),
        "units_per_h": float(k.get("units_per_h") or 0.0),
        "orders_completed": int(k.get("orders_completed") or 0),
        "orders_open": int(k.get("orders_open") or 0),
        "robot_states": dict(sorted(states.items())),
        "station_utilisation": {s: round(1.0 - float(v), 4) for s, v in sorted(idle.items())},
    }


class KpiHistory:
    """At most horizon_s / step_s + 1 samples, at least step_s apart, oldest first."""

    def __init__(
        self, step_s: float = STEP_S, horizon_s: float = HORIZON_S, store: Store | None = None
    ) -> None:
        if step_s <= 0 or horizon_s < step_s:
            raise ValueError(f"KPI history: need 0 < step_s <= horizon_s, got {step_s}, {horizon_s}")
        self.step_s = step_s
        self.horizon_s = horizon_s
        self._ring: deque[KpiSample] = deque(maxlen=int(horizon_s // step_s) + 1)
        self._lock = threading.Lock()
        self._store = store
        if store is not None:
            for _wall_s, sample in store.kpi_samples(self._ring.maxlen or 1):
                self._keep(float(sample.get("time_s") or 0.0), dict(sample))

    def record(self, snapshot: Mapping[str, Any]) -> bool:
        """Keep a sample of `snapshot` if step_s has passed since the last one (True if kept)."""
        t = float(snapshot.get("time_s") or 0.0)
        sample = sample_of(snapshot)
        if not self._keep(t, sample):
            return False
        if self._store is not None:
            # Not awaited: the control thread never waits on the disk for a chart point.
            self._store.append_kpi_sample(t, sample).add_done_callback(_log_failure)
        return True

    def _keep(self, t: float, sample: KpiSample) -> bool:
        with self._lock:
            if self._ring:
                last = self._ring[-1]["time_s"]
                if t < last:  # the clock went back (a new run): the past moves before its start
                    shift = (t - self.step_s) - last
                    for old in self._ring:
                        old["time_s"] = round(old["time_s"] + shift, 3)
                elif t - last < self.step_s:
                    return False
            self._ring.append({**sample, "time_s": round(t, 3)})
            while self._ring and self._ring[0]["time_s"] < t - self.horizon_s:
                self._ring.popleft()
            return True

    def window(self, window_s: float) -> list[KpiSample]:
        """Samples no older than window_s before the newest one, oldest first."""
        with self._lock:
            if not self._ring:
                return []
            since = self._ring[-1]["time_s"] - window_s
            return [dict(s) for s in self._ring if s["time_s"] >= since]


def _log_failure(done: Future[Any]) -> None:
    if done.exception() is not None:
        log.warning("KPI sample not stored: %s", done.exception())
