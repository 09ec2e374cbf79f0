"""Runtime component: the PLC bridge to one sorter PLC, beside the control plane.

Threads: the bridge runs its own asyncio loop ("wcs-plc-bridge"). It never touches the runtime
directly: the bridge publishes on a private bus whose events are queued and re-published on the
runtime's bus by a tick hook (control thread), so the store recorder and every other subscriber
only ever see the control thread. Bridge alarms become alarms of the runtime's registry (ids,
ack, `/api/v1/alarms`).

The PLC is reached at the address of its config (or the plant file's); a simulated floor may
hand in a `supervisor` that starts the PLC process first and reports its deaths (sim side).

Sort plan: items of each order completed at a station are labelled, planned and announced to
the PLC by `OrderTotes` (fleet_manager/runtime/order_totes.py); the sorter sends them to their
order's lane, anything else to reject.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from fleet_manager.domain import Task, TaskKind
from fleet_manager.events import Event, EventBus
from fleet_manager.runtime.order_totes import OrderTotes
from fleet_manager.sortation import LaneAssigner, SortPlan
from plc_bridge.config import PlcConfig, apply_site, load_plc_config
from plc_bridge.lane_control import PlcLaneControl
from plc_bridge.service import PlcBridgeService

log = logging.getLogger(__name__)
DEFAULT_PLC_CONFIG = Path(__file__).resolve().parents[2] / "config" / "plc" / "demo-sorter.yaml"
SEVERITY = {
    "plc_connection_lost": "error",
    "plc_heartbeat_stale": "error",
    "plc_fault": "error",
    "plc_process_exited": "error",
}  # everything else the bridge raises (exceptions, refused starts, per-item trouble): warning
_STOP_PROMPTLY_S = 10.0


class PlcSupervisor(Protocol):
    """Starts the PLC before the bridge connects (a simulator's process) and reports its life."""

    pid: int | None

    def start(self, report: Callable[[Event], None]) -> tuple[str, int]: ...

    def stop(self) -> None: ...


class PlcComponent:
    """`runtime.add_component(PlcComponent(...))` before `runtime.start()`; replaces the
    runtime's lane control with the PLC-backed one. The PLC is reached at `connection`
    (transport/host/port/serial fields of plc_bridge.config.Connection) or, without it, at the
    config file's address; a `supervisor` starts a simulated PLC first and gives its address."""

    def __init__(
        self,
        *,
        config_path: str | Path = DEFAULT_PLC_CONFIG,
        connection: dict[str, Any] | None = None,
        supervisor: PlcSupervisor | None = None,
        name: str | None = None,
    ) -> None:
        self.config_path = Path(config_path)
        self.connection = dict(connection or {})
        self.supervisor = supervisor
        self.name = name
        self.config: PlcConfig | None = None
        self.service: PlcBridgeService | None = None
        self.lane_control: PlcLaneControl | None = None
        self._inbox: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self.totes = OrderTotes(lambda: self.service, lambda: self._loop, self._inbox.put)
        self._alarm_ids: dict[str, list[str]] = {}  # bridge alarm code -> registry alarm ids
        self._runtime: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # --- life cycle (main thread) ---------------------------------------------------------
    def start(self, runtime: Any) -> None:
        self._runtime = runtime
        config = apply_site(load_plc_config(self.config_path), runtime.site)
        if self.name:
            config = _renamed(config, self.name)
        if self.connection:
            config = config.with_connection(**self.connection)
        if self.supervisor is not None:
            host, port = self.supervisor.start(self._inbox.put)
            config = config.with_connection(transport="tcp", host=host, port=port)
        self.config = config
        assert config.sorter is not None, f"{config.source}: no sorter"
        assigner = LaneAssigner(config.sorter.sorter.lanes, SortPlan())
        plc_bus = EventBus()
        plc_bus.subscribe(self._inbox.put)  # any thread -> control thread
        plc_bus.subscribe(self.totes.on_sort_event)  # bridge loop: release sorted orders
        self.service = PlcBridgeService(config, plc_bus, assigner, clock=lambda: runtime.now_s)
        self.service.transport.add_listener(self._on_connection)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="wcs-plc-bridge", daemon=True
        )
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.service.start(), self._loop).result(10)
        # Set before the first API call reaches the runtime; read only on the control thread.
        self.lane_control = PlcLaneControl(self.service)
        runtime.lane_control = self.lane_control
        runtime.bus.subscribe(self._on_runtime_event)
        runtime.add_snapshot_part("conveyor_items", self.conveyor_items)
        runtime.add_tick_hook(self._tick)
        runtime.task_runners[TaskKind.SORT] = self._run_sort_task

    def stop(self) -> None:
        loop, service = self._loop, self.service
        if loop is not None and service is not None and loop.is_running():
            try:
                asyncio.run_coroutine_threadsafe(service.stop(), loop).result(_STOP_PROMPTLY_S)
            except Exception:  # stopping anyway
                log.exception("PLC bridge did not stop cleanly")
            loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(_STOP_PROMPTLY_S)
        if self.supervisor is not None:
            self.supervisor.stop()
        if loop is not None and not loop.is_running():
            loop.close()

    # --- bridge loop thread ----------------------------------------------------------------
    def _on_connection(self, connected: bool, _reason: str) -> None:
        """A (re)started PLC forgets lane flags: tell it every lane the WCS has disabled."""
        service = self.service
        if not connected or service is None or service.assigner is None:
            return
        for lane_id, enabled in service.assigner.enabled.items():
            if not enabled:
                asyncio.ensure_future(service.tell_plc_lane_enabled(lane_id, False))

    # --- control thread --------------------------------------------------------------------
    def conveyor_items(self) -> list[dict[str, Any]]:
        """Items the bridge tracks between scanner and divert, placed by belt speed."""
        service = self.service
        if service is None or service.sorter is None:
            return []
        return service.sorter.tracked_positions()

    def _on_runtime_event(self, event: Event) -> None:
        """An order done at its station: its items go to the sorter (control thread)."""
        if event.topic == "order" and event.kind in ("done", "completed"):
            order = self._runtime.plane.orders.get(str(event.data.get("order_id")))
            if order is not None:
                units = sum(line.quantity - line.open_quantity for line in order.lines)
                self.totes.label(order.id, units, event.at_s)

    def _run_sort_task(self, task: Task) -> bool:
        """A WMS sort task with a barcode runs on this sorter (control thread)."""
        p = task.payload
        sorter = self.config.sorter if self.config else None
        if not p.get("barcode") or sorter is None or p.get("sorter_id") != sorter.sorter.id:
            return False  # nothing the PLC can track: the timed model runs it
        self.totes.sort_task(task.id, str(p["barcode"]), p.get("lane_id"))
        return True

    def _tick(self, now_s: float) -> None:
        """Re-publish what the bridge and the supervisor queued, on the control thread."""
        while True:
            try:
                event = self._inbox.get_nowait()
            except queue.Empty:
                return
            if event.topic == "alarm":
                self._alarm(event, now_s)
            elif event.topic == "task" and event.kind == "device_outcome":
                data = event.data
                self._runtime.timed.complete(data["task_id"], data["ok"], now_s, data["reason"])
            else:
                self._runtime.bus.publish(Event(event.topic, event.kind, now_s, event.data))

    def _alarm(self, event: Event, now_s: float) -> None:
        alarms = self._runtime.plane.alarms
        data = dict(event.data)
        name = self.config.name if self.config else "plc"
        source = f"plc:{name}"
        if event.kind == "process_exited":
            code = "plc_process_exited"
            data["message"] = f"simulated PLC process exited (code {data['exit_code']})"
        elif event.kind == "process_restarted":
            self._clear("plc_process_exited", alarms, every=True)
            return
        else:
            code = str(data.get("code", "plc_alarm"))
        if event.kind == "cleared":
            self._clear(code, alarms)
            return
        ids = self._alarm_ids.setdefault(code, [])
        active = [i for i in ids if alarms.get(i).active and not alarms.get(i).acknowledged_by]
        if active and code not in SEVERITY:
            return  # per-item trouble: one unacknowledged alarm per code is enough
        detail = {k: v for k, v in data.items() if k not in ("code", "plc", "message")}
        message = str(data.get("message") or code)
        if detail:
            message += " " + " ".join(f"{k}={v}" for k, v in sorted(detail.items()))
        alarm = alarms.raise_alarm(source, code, SEVERITY.get(code, "warning"), message)
        ids.append(alarm.id)
        log.warning("PLC alarm %s at %.1f s: %s", code, now_s, message)

    def _clear(self, code: str, alarms: Any, every: bool = False) -> None:
        """The bridge clears once per alarm it raised (per register, per fault...): the oldest
        open alarm of that code goes; `every` clears them all."""
        ids = self._alarm_ids.get(code, [])
        while ids:
            alarms.clear(ids.pop(0))
            if not every:
                return

    # --- reads -----------------------------------------------------------------------------
    def summary(self) -> str:
        """One short status phrase for `wcs run`'s periodic line."""
        service = self.service
        if service is None:
            return "plc off"
        state = "up" if service.transport.connected else "DOWN"
        running = service.conveyors  # running | stopped | unknown
        counters = service.sorter.counters if service.sorter else {}
        return (
            f"plc {state} {running} scanned {counters.get('scanned', 0)}"
            f" orders labelled {self.totes.labelled}"
        )


def _renamed(config: PlcConfig, name: str) -> PlcConfig:
    """The plant file names the PLC (alarm sources say `plc:<name>`)."""
    from dataclasses import replace

    return replace(config, name=name)
