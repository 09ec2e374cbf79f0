"""`wcs serve --api-only`: the API without a simulation, beside a control plane on one
PostgreSQL database.

RemoteRuntime has the attributes the routes use from Runtime. Orders and tasks are committed
here (the control plane picks them up from the outbox, fleet_manager/runtime/control_bridge.py);
reads go to the database; commands and live-state queries go to the control plane through the
inbox (fleet_manager/store/pg_inbox.py). The live snapshot and the simulated clock are cached
copies, refreshed in the background (at most REFRESH_S old). Requests that run arbitrary code on
the control thread (AS/RS crane resets, simulated faults) answer 503 here.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import Future
from typing import Any

from fleet_manager.api.errors import ApiError
from fleet_manager.runtime.control_bridge import CLOCK_META_KEY, COMMANDS
from fleet_manager.runtime.core import RuntimeStats
from fleet_manager.runtime.kpi_history import KpiHistory
from fleet_manager.site.model import Site
from fleet_manager.store import OrderRecord, StoredResponse, TaskRecord
from fleet_manager.store.pg_inbox import CommandClient

log = logging.getLogger(__name__)
REFRESH_S = 0.5
SNAPSHOT_IDLE_S = 30.0  # stop fetching snapshots nobody asked for in this long


class RemoteRuntime:
    """Duck-types Runtime for fleet_manager.api.app.create_app."""

    asrs = None
    sim = None

    def __init__(self, site: Site, store: Any, **_runtime_options: Any) -> None:
        """Takes Runtime's arguments; the options (speed, seed, simulator) are the control
        plane's business and ignored here."""
        if not hasattr(store, "url"):
            raise ValueError("--api-only needs --database postgresql://... shared with a control plane")
        self.site = site
        self.store = store
        self.stats = RuntimeStats()
        self._commands = CommandClient(store.url, store._pool)
        self._snapshot: dict[str, Any] = {}
        self._snapshot_json = "{}"
        self._asked_at = -SNAPSHOT_IDLE_S  # fetched once at start, then only while asked for
        self._now_s = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- life cycle -----------------------------------------------------------------------
    def add_component(self, component: Any) -> None:
        raise ValueError(f"{type(component).__name__} runs on the control plane, not --api-only")

    def start(self) -> None:
        self._refresh(snapshot=True)
        self._thread = threading.Thread(target=self._loop, name="api-only-refresh", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._commands.close()

    def _loop(self) -> None:
        while not self._stop.wait(REFRESH_S):
            try:
                self._refresh(snapshot=time.monotonic() - self._asked_at < SNAPSHOT_IDLE_S)
            except Exception:  # keep serving the last copy; try again
                log.exception("could not refresh the control plane's clock or snapshot")

    def _refresh(self, *, snapshot: bool) -> None:
        clock = self.store.get_meta(CLOCK_META_KEY)
        if clock is not None:
            self._now_s = float(clock)
        if snapshot:
            text = self._commands.send("snapshot", {}).result(timeout=30)
            self._snapshot, self._snapshot_json = json.loads(text), text

    # --- what the routes use ----------------------------------------------------------------
    @property
    def now_s(self) -> float:
        return self._now_s

    def free_units(self, _sku: str) -> int | None:
        return None  # unknown here: the simulation has the final word, as it always does

    def submit_order(self, record: OrderRecord, claim: Any) -> Future[StoredResponse]:
        return self.store.create_order(record, claim)

    def submit_task(self, record: TaskRecord, claim: Any) -> Future[StoredResponse]:
        return self.store.create_task(record, claim)

    def snapshot(self) -> dict[str, Any]:
        self._asked_at = time.monotonic()
        return self._snapshot

    def snapshot_json(self) -> str:
        self._asked_at = time.monotonic()
        return self._snapshot_json

    @property
    def kpi_history(self) -> KpiHistory:
        return KpiHistory(store=self.store)

    def call(self, _fn: Any) -> Future[Any]:
        done: Future[Any] = Future()
        done.set_exception(ApiError(
            503, "control_plane_only",
            "this request runs on the control plane: send it to `wcs serve` without --api-only",
        ))
        return done

    def __getattr__(self, name: str) -> Any:
        if name in COMMANDS:
            return lambda *args, **kwargs: self._commands.send(name, _named(name, args, kwargs))
        raise AttributeError(name)


def _named(command: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """Positional arguments by the Runtime method's parameter names."""
    import inspect

    from fleet_manager.runtime import Runtime

    params = list(inspect.signature(getattr(Runtime, command)).parameters)[1:]
    return {**dict(zip(params, args, strict=False)), **kwargs}
