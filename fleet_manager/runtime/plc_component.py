"""Runtime component: the simulated sorter PLC (child process) and the PLC bridge beside the sim.

Threads: the bridge runs its own asyncio loop ("wcs-plc-bridge"); a supervisor thread
("wcs-plc-supervisor") starts the child PLC, watches it and restarts it after it dies. Neither
touches the runtime directly: the bridge publishes on a private bus whose events are queued and
re-published on the runtime's bus by a tick hook (control thread), so the store recorder and
every other subscriber only ever see the control thread. Bridge alarms become alarms of the
runtime's registry (ids, ack, `/api/v1/alarms`).

Sort plan: the sim PLC inducts items labelled with a fixed book of label groups (`demo_orders`
of its `sim:` section, e.g. `D00042-00..02`). Each order that completes at a station takes the
next label group (round robin): those barcodes now belong to that live order, so its items sort
to one order lane. Labels of no live order are strays and go to the reject lane; when the book
wraps, the oldest binding is dropped and its order releases its lane.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from pathlib import Path
from typing import Any

from fleet_manager.events import Event, EventBus
from fleet_manager.sortation import LaneAssigner, SortPlan, demo_orders
from plc_bridge.config import PlcConfig, apply_site, load_plc_config
from plc_bridge.lane_control import PlcLaneControl
from plc_bridge.service import PlcBridgeService
from sim.plc.process import READY_TIMEOUT_S, SimPlcProcess
from sim.plc.sorter_physics import SimParams

log = logging.getLogger(__name__)
DEFAULT_PLC_CONFIG = Path(__file__).resolve().parents[2] / "config" / "plc" / "demo-sorter.yaml"
SEVERITY = {
    "plc_connection_lost": "error",
    "plc_heartbeat_stale": "error",
    "plc_fault": "error",
    "plc_process_exited": "error",
}  # everything else the bridge raises (exceptions, refused starts, per-item trouble): warning
RESTART_AFTER_S = 3.0  # wall time before a dead simulated PLC is started again
_STOP_PROMPTLY_S = 10.0


class LabelBook:
    """Binds the sim PLC's label groups to live orders, one group per completed order."""

    def __init__(self, groups: dict[str, list[str]]) -> None:
        self.groups = list(groups.values())
        self.owner: list[str | None] = [None] * len(self.groups)
        self.next = 0
        self.bound = 0

    def bind(self, order_id: str, assigner: LaneAssigner) -> list[str]:
        """Give `order_id` the next label group (bridge loop thread); returns its barcodes."""
        if not self.groups:
            return []
        i, self.next = self.next, (self.next + 1) % len(self.groups)
        old = self.owner[i]
        for barcode in self.groups[i]:
            assigner.plan.items.pop(barcode, None)
        if old is not None:
            assigner.release_order(old)
        for barcode in self.groups[i]:
            assigner.plan.add(barcode, order_id)
        self.owner[i] = order_id
        self.bound += 1
        return self.groups[i]


class PlcComponent:
    """`runtime.add_component(PlcComponent(map_path))` before `runtime.start()`; replaces the
    runtime's lane control with the PLC-backed one. `spawn_sim=False` connects to a PLC at the
    config's address instead of starting the simulated one."""

    def __init__(
        self,
        map_path: str | Path,
        *,
        config_path: str | Path = DEFAULT_PLC_CONFIG,
        workdir: Path | None = None,
        spawn_sim: bool = True,
        restart_after_s: float = RESTART_AFTER_S,
    ) -> None:
        self.map_path = Path(map_path)
        self.config_path = Path(config_path)
        self.workdir = workdir
        self.spawn_sim = spawn_sim
        self.restart_after_s = restart_after_s
        self.config: PlcConfig | None = None
        self.service: PlcBridgeService | None = None
        self.lane_control: PlcLaneControl | None = None
        self.plc: SimPlcProcess | None = None
        self.book = LabelBook({})
        self._inbox: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self._alarm_ids: dict[str, list[str]] = {}  # bridge alarm code -> registry alarm ids
        self._runtime: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._started = threading.Event()
        self._start_error: BaseException | None = None

    # --- life cycle (main thread) ---------------------------------------------------------
    def start(self, runtime: Any) -> None:
        self._runtime = runtime
        config = apply_site(load_plc_config(self.config_path), runtime.site)
        if self.spawn_sim:
            self._start_supervisor()
            assert self.plc is not None
            config = config.with_connection(transport="tcp", host="127.0.0.1", port=self.plc.port)
        self.config = config
        assert config.sorter is not None, f"{config.source}: no sorter"
        params = SimParams.from_mapping(config.sim)
        self.book = LabelBook(demo_orders(params.orders, params.seed))
        assigner = LaneAssigner(config.sorter.sorter.lanes, SortPlan())
        plc_bus = EventBus()
        plc_bus.subscribe(self._inbox.put)  # any thread -> control thread
        self.service = PlcBridgeService(config, plc_bus, assigner, clock=lambda: runtime.now_s)
        self.service.transport.add_listener(self._on_connection)
        self._loop = asyncio.new_event_loop()
        self._spawn(self._loop.run_forever, "wcs-plc-bridge")
        asyncio.run_coroutine_threadsafe(self.service.start(), self._loop).result(10)
        # Set before the first API call reaches the runtime; read only on the control thread.
        self.lane_control = PlcLaneControl(self.service)
        runtime.lane_control = self.lane_control
        runtime.bus.subscribe(self._on_runtime_event)
        runtime.add_snapshot_part("conveyor_items", self.conveyor_items)
        runtime.add_tick_hook(self._tick)

    def stop(self) -> None:
        self._stopping.set()
        loop, service = self._loop, self.service
        if loop is not None and service is not None and loop.is_running():
            try:
                asyncio.run_coroutine_threadsafe(service.stop(), loop).result(_STOP_PROMPTLY_S)
            except Exception:  # stopping anyway
                log.exception("PLC bridge did not stop cleanly")
            loop.call_soon_threadsafe(loop.stop)
        for thread in self._threads:  # the supervisor first: it may be restarting the PLC
            thread.join(_STOP_PROMPTLY_S + READY_TIMEOUT_S)
        if self.plc is not None:
            self.plc.stop()
        if loop is not None and not loop.is_running():
            loop.close()

    def _spawn(self, target: Any, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    # --- the child PLC (supervisor thread) ----
    def _start_supervisor(self) -> None:
        workdir = self.workdir
        extra = ["--map", str(self.map_path)]
        if workdir is not None:
            workdir.mkdir(parents=True, exist_ok=True)
            extra += ["--state-dir", str(workdir / "state"), "--events-file"]
            extra += [str(workdir / "events.jsonl")]
        self.plc = SimPlcProcess(
            self.config_path,
            extra=extra,
            stderr_path=workdir / "sim-plc.stderr" if workdir else None,
            detach=True,
        )
        self._spawn(self._supervise, "wcs-plc-supervisor")
        self._started.wait()
        if self._start_error is not None:
            raise RuntimeError(f"cannot start the simulated PLC: {self._start_error}")

    def _supervise(self) -> None:
        plc = self.plc
        assert plc is not None
        try:
            plc.start()
        except Exception as exc:  # noqa: BLE001 - reported by start() on the main thread
            self._start_error = exc
        self._started.set()
        if self._start_error is not None:
            return
        while not self._stopping.wait(0.2):
            if plc.proc is None or plc.proc.poll() is None:
                continue
            code = plc.proc.returncode
            self._inbox.put(Event("alarm", "process_exited", 0.0, {"exit_code": code}))
            if self._stopping.wait(self.restart_after_s):
                return
            try:
                plc.restart()
                self._inbox.put(Event("alarm", "process_restarted", 0.0, {"pid": plc.proc.pid}))
            except Exception as exc:  # noqa: BLE001 - tried again after the next pause
                log.warning("simulated PLC did not restart: %s", exc)

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
        if event.topic == "order" and event.kind in ("done", "completed"):
            order_id = event.data.get("order_id")
            loop, service = self._loop, self.service
            if order_id and loop is not None and service is not None and service.assigner:
                loop.call_soon_threadsafe(self.book.bind, str(order_id), service.assigner)

    def _tick(self, now_s: float) -> None:
        """Re-publish what the bridge and the supervisor queued, on the control thread."""
        while True:
            try:
                event = self._inbox.get_nowait()
            except queue.Empty:
                return
            if event.topic == "alarm":
                self._alarm(event, now_s)
            else:
                self._runtime.bus.publish(Event(event.topic, event.kind, now_s, event.data))

    def _alarm(self, event: Event, now_s: float) -> None:
        alarms = self._runtime.sim.alarms
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
            f" orders labelled {self.book.bound}"
        )
