"""The control plane's side of API-only processes on one PostgreSQL database.

Orders and tasks that an API-only process commits arrive here through the outbox: their
`received` events, followed in sequence order, queue them for the simulation (the runtime
submits each id once per run, whatever else queued it). Commands (cancel, robot commands,
alarm acknowledgements, queries of live state) arrive through the inbox table and run as the
same Runtime methods the in-process API calls. The simulated clock and the live snapshot are
published for the API processes: `control.now_s` in meta, the snapshot on request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from fleet_manager.runtime.recovery import order_from_body
from fleet_manager.store.base import StoredEvent

log = logging.getLogger(__name__)
CLOCK_META_KEY = "control.now_s"
CLOCK_EVERY_S = 0.5

# inbox command -> Runtime method; arguments are passed by name
COMMANDS = (
    "cancel_order",
    "set_order_priority",
    "cancel_task",
    "command_robot",
    "ack_alarm",
    "set_lane_enabled",
    "lanes",
    "where_is",
    "check_asrs",
    "check_pod_fetch",
)


class ControlBridge:
    """A runtime component (start(runtime) / stop()); needs a PostgresStore."""

    def __init__(self) -> None:
        self._runtime: Any = None
        self._remove: Callable[[], None] | None = None
        self._server: Any = None
        self._clock_at = 0.0

    def start(self, runtime: Any) -> None:
        from fleet_manager.store.pg_inbox import CommandServer

        self._runtime = runtime
        store = runtime.store
        self._remove = store.add_event_listener(self._on_events)
        # Listening first, then the open rows: an order committed in between is seen twice
        # (and submitted once), never missed.
        for order in store.open_orders():
            runtime.queue_stored_order(order)
        for task in store.open_tasks():
            if task.source == "api":
                runtime.queue_stored_task(task)
        self._server = CommandServer(store.url, store._pool, self._handle)
        runtime.add_tick_hook(self._publish_clock)

    def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._remove is not None:
            self._remove()
            self._remove = None

    def _on_events(self, events: list[StoredEvent]) -> None:
        rt = self._runtime
        for e in events:
            if e.kind != "received":
                continue
            if e.topic == "order" and e.data.get("id"):
                rt.queue_stored_order(order_from_body(e.data))
            elif e.topic == "task" and e.data.get("source") == "api" and e.data.get("task_id"):
                task = rt.store.get_task(e.data["task_id"])
                if task is not None:
                    rt.queue_stored_task(task)

    def _handle(self, command: str, args: dict[str, Any]) -> Future[Any]:
        rt = self._runtime
        if command == "snapshot":
            done: Future[Any] = Future()
            done.set_result(rt.snapshot_json())
            return done
        if command not in COMMANDS:
            raise ValueError(f"unknown command {command!r}")
        return getattr(rt, command)(**args)

    def _publish_clock(self, now_s: float) -> None:
        if time.monotonic() - self._clock_at >= CLOCK_EVERY_S:
            self._clock_at = time.monotonic()
            self._runtime.store.set_meta(CLOCK_META_KEY, repr(float(now_s)))
