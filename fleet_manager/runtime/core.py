"""The runtime: one control thread owns the control plane; the store records every change.

Flow: an order is committed to the store first (the API answers 201 only then), then queued for
the control thread, which submits it to the control plane. Each tick the thread steps the plane
up to its clock (the wall clock in production, wall time x speed for a simulated floor), and
hands all bus events of the tick, with the order/task/alarm rows they change, to the store as
one transaction (outbox). On start, orders that were accepted but not finished are submitted
again (once); tasks left open by a previous run are closed. What the plane drives (robots, PLCs,
cranes) comes in one `Equipment` bundle: the runtime never knows whether it is real.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from typing import Any

from fleet_manager.clock import PacedClock, WallClock
from fleet_manager.domain import Order, OrderLine, Task, TaskKind, TaskState
from fleet_manager.events import EventBus
from fleet_manager.runtime.asrs_component import ASRS_KINDS, AsrsComponent
from fleet_manager.runtime.equipment import Component, Equipment, load_equipment
from fleet_manager.runtime.kpi_history import KpiHistory
from fleet_manager.runtime.lanes import LaneControl, SiteLanes
from fleet_manager.runtime.queries import where_is
from fleet_manager.runtime.recorder import EventRecorder, task_fields
from fleet_manager.runtime.recovery import (
    ROBOT_STATES_KEY,
    clear_dead_run_alarms,
    close_dead_run_tasks,
    continue_ids,
    order_from_body,
    pod_stock_meta,
    restore_pod_stock,
    restore_robot_states,
    robot_states_json,
)
from fleet_manager.runtime.timed_tasks import TIMED_KINDS, TimedTasks
from fleet_manager.site.model import Site
from fleet_manager.store import OrderRecord, StateBatch, StoredResponse, TaskRecord
from fleet_manager.store.base import Store

log = logging.getLogger(__name__)
SimCall = Callable[[Any], Any]
CLOCK_ORIGIN_KEY = "clock_origin_epoch_s"
SIM_NOW_KEY = "sim_now_s"  # the paced clock's simulated time at the last commit

@dataclass
class RuntimeConfig:
    speed: float = 1.0  # paced clock: simulated s per wall s; 0 = as fast as possible
    tick_s: float = 0.05  # wall time between control ticks
    snapshot_hz: float = 6.0  # live views want >= 5 Hz; fixed-rate schedule below
    max_steps_per_tick: int = 200  # never stall the loop catching up after a pause
    max_step_wall_s: float = 0.1  # nor spend longer than this stepping in one tick
    seed: int = 0
    sim_config: Any = None
    asrs: bool = True  # AS/RS tasks on the controller + the equipment's crane (False: timed)


@dataclass
class _Pending:
    future: Future[Any]
    value: Any = None
    error: BaseException | None = None


@dataclass
class RuntimeStats:
    ticks: int = 0
    steps: int = 0
    orders_submitted: int = 0
    orders_rejected: int = 0
    events_recorded: int = 0
    lag_s: float = 0.0
    step_errors: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class Runtime:
    """Composes Site + ControlPlane + Store + EventBus + Equipment and paces the plane.

    Without `equipment` the runtime drives the simulated floor plug-in (`wcs.equipment` entry
    point "simulated"); `sim_factory` is a shorthand for equipment that only builds the plane.
    """

    def __init__(
        self,
        site: Site,
        store: Store,
        *,
        config: RuntimeConfig | None = None,
        equipment: Equipment | None = None,
        sim_factory: Callable[..., Any] | None = None,
    ):
        self.site = site
        self.store = store
        self.config = config or RuntimeConfig()
        self.bus = EventBus()
        if equipment is None:
            equipment = (
                Equipment(build_plane=sim_factory)
                if sim_factory is not None
                else load_equipment("simulated")
            )
        self.equipment = equipment
        self.clock: PacedClock | WallClock
        extra: dict[str, Any] = {}
        if equipment.clock == "wall":
            self.clock = WallClock(_clock_origin(store))
            extra["start_s"] = self.clock.now_s()
        else:
            speed = equipment.speed if equipment.speed is not None else self.config.speed
            self.clock = PacedClock(speed)
            # Simulated time goes on from where the last run stopped, never back to 0.
            extra["start_s"] = float(store.get_meta(SIM_NOW_KEY) or 0.0)
        self.plane = equipment.build_plane(
            site, seed=self.config.seed, config=self.config.sim_config, bus=self.bus, **extra
        )
        continue_ids(self.plane, store)
        self.stats = RuntimeStats()
        # Replaced by the PLC bridge's sorter control when one is wired in.
        self.lane_control: LaneControl = SiteLanes(site, self.bus)
        # AS/RS, conveyor and sort tasks from the API; AMR tasks go to the simulation.
        self.timed = TimedTasks(site, self.bus)
        # A device that runs tasks of a kind itself (the sorter PLC: sort tasks with a barcode)
        # registers here; `runner(task)` answers whether it took the task, and reports its
        # outcome with `timed.complete`.
        self.task_runners: dict[TaskKind, Callable[[Task], bool]] = {}
        self._api_task_ids: set[str] = set()
        self.recorder = EventRecorder(self.bus, self._lookup_task, self._api_task_ids)
        # Lock-outs, pauses, faults and pods held survive a restart (written with the events).
        self._robot_states = restore_robot_states(self.plane, store)
        # Stock is what the last run left (each change stored with the event that made it).
        restore_pod_stock(self.plane, store)
        self._sim_now_written = 0.0
        self._inbox: queue.SimpleQueue[tuple[SimCall, _Pending | None]] = queue.SimpleQueue()
        self._submitted: set[str] = set()
        self._components: list[Component] = []
        self._tick_hooks: list[Callable[[float], None]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._snapshot: dict[str, Any] = {}
        self._snapshot_json = "{}"
        self._snapshot_lock = threading.Lock()
        self._snapshot_parts: dict[str, Callable[[], Any]] = {}
        self._free_units: dict[str, int] = {}
        self.kpi_history = KpiHistory(store=store)  # the charts start with the stored last hour
        self.now_s = float(getattr(self.plane, "now_s", 0.0))
        # Built before the control thread starts: restart recovery hands it open WMS tasks.
        self.asrs: AsrsComponent | None = None
        if site.asrs and self.config.asrs and equipment.crane_driver is not None:
            self.asrs = AsrsComponent.build(self, seed=self.config.seed)
            self.add_component(self.asrs)
            self.add_tick_hook(self.asrs.tick)

    # --- life cycle -----------------------------------------------------------------------
    def add_component(self, component: Component) -> None:
        self._components.append(component)

    def add_tick_hook(self, hook: Callable[[float], None]) -> None:
        """`hook(now_s)` runs on the control thread after every tick."""
        self._tick_hooks.append(hook)

    def add_snapshot_part(self, key: str, part: Callable[[], Any]) -> None:
        """`part()` fills `key` of every live snapshot (e.g. conveyor items from the PLC bridge)."""
        self._snapshot_parts[key] = part

    def start(self) -> None:
        self._recover()
        self._take_snapshot()
        self._thread = threading.Thread(target=self._loop, name="wcs-runtime", daemon=True)
        self._thread.start()
        for component in [*self.equipment.components, *self._components]:
            component.start(self)

    def stop(self) -> None:
        for component in reversed([*self.equipment.components, *self._components]):
            try:
                component.stop()
            except Exception:
                log.exception("component %r failed to stop", component)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
            if self._thread.is_alive():  # never flush beside a live control thread
                log.error("runtime control thread did not stop within 60 s")
                return
        self._flush()
        # Ticks hand their batch (and tick hooks their orders) to the writer without waiting,
        # so the loop's last writes may still be queued: stop only once they are committed, or
        # whoever reads the store next (a restart's recovery) sees tasks open that this run
        # already finished. The writer is FIFO, so an empty batch after them is a barrier.
        wait([self.store.apply_batch(StateBatch(meta={SIM_NOW_KEY: repr(self.now_s)}))], timeout=60)
        if self.asrs is not None:
            self.asrs.close()

    def _recover(self) -> None:
        """Close tasks a dead run left open, and queue its unfinished orders (once each)."""
        batch, resubmit = close_dead_run_tasks(self.store, self.now_s)
        alarms = clear_dead_run_alarms(self.store, self.now_s)
        batch.alarms += alarms.alarms
        batch.events += alarms.events
        if batch:
            self.store.apply_batch(batch).result()
        for task in resubmit:
            self._inbox.put((self._resubmit_task_call(task), None))
        for order in self.store.open_orders():
            self._inbox.put((self._submit_order_call(order), None))

    # --- writes from the API (thread-safe) ------------------------------------------------
    def submit_order(self, record: OrderRecord, claim: Any) -> Future[StoredResponse]:
        """Commit the order, then queue it for the simulation; the Future is the commit."""
        future = self.store.create_order(record, claim)

        def queue_it(done: Future[StoredResponse]) -> None:
            if done.exception() is None and not done.result().replayed:
                body = done.result().body
                self._inbox.put((self._submit_order_call(order_from_body(body)), None))

        future.add_done_callback(queue_it)
        return future

    def submit_task(self, record: TaskRecord, claim: Any) -> Future[StoredResponse]:
        future = self.store.create_task(record, claim)

        def queue_it(done: Future[StoredResponse]) -> None:
            if done.exception() is None and not done.result().replayed:
                stored = TaskRecord(**{**done.result().body, "history": ()})
                self._inbox.put((self._resubmit_task_call(stored), None))

        future.add_done_callback(queue_it)
        return future

    @property
    def sim(self) -> Any:
        """The control plane (the name predates real equipment; `plane` says what it is)."""
        return self.plane

    def queue_stored_order(self, record: OrderRecord) -> None:
        """Hand an order another process committed to the control plane (once per run)."""
        self._inbox.put((self._submit_order_call(record), None))

    def queue_stored_task(self, record: TaskRecord) -> None:
        """Hand a WMS task another process committed to its executor (once per run)."""
        self._inbox.put((self._resubmit_task_call(record), None))

    def call(self, fn: SimCall) -> Future[Any]:
        """Run `fn(plane)` on the control thread; resolves after the tick's events are committed."""
        pending = _Pending(Future())
        self._inbox.put((fn, pending))
        return pending.future

    def cancel_order(self, order_id: str) -> Future[Any]:
        return self.call(lambda sim: sim.cancel_order(order_id))

    def set_order_priority(self, order_id: str, priority: int) -> Future[Any]:
        return self.call(lambda sim: sim.set_order_priority(order_id, priority))

    def cancel_task(self, task_id: str) -> Future[Any]:
        def cancel(sim: Any) -> None:
            if self.asrs is not None and self.asrs.task(task_id) is not None:
                self.asrs.cancel(task_id, "cancelled by request")
            elif task_id in self.timed.tasks:
                self.timed.cancel(task_id, self.now_s)
            else:
                sim.cancel_task(task_id)

        return self.call(cancel)

    def command_robot(self, robot_id: str, command: str) -> Future[Any]:
        return self.call(lambda sim: sim.command_robot(robot_id, command))

    def instant_actions(self, robot_id: str) -> Future[Any]:
        return self.call(lambda plane: plane.instant_actions(robot_id))

    def instant_action(self, robot_id: str, action_type: str, params: dict[str, Any]) -> Future[Any]:
        return self.call(lambda plane: plane.instant_action(robot_id, action_type, params))

    def confirm_station(self, station_id: str, pod_id: str) -> Future[Any]:
        return self.call(lambda plane: plane.confirm_station(station_id, pod_id))

    def ack_alarm(self, alarm_id: str, user: str) -> Future[Any]:
        return self.call(lambda sim: sim.alarms.acknowledge(alarm_id, user).as_dict())

    def set_lane_enabled(self, lane_id: str, enabled: bool) -> Future[Any]:
        return self.call(
            lambda _sim: self.lane_control.set_lane_enabled(lane_id, enabled, self.now_s)
        )

    def lanes(self) -> Future[Any]:
        return self.call(lambda _sim: self.lane_control.lanes())

    def where_is(self, sku: str) -> Future[Any]:
        """Pods (with slot and node), robots and AS/RS totes holding `sku`, with quantities."""

        def query(sim: Any) -> dict[str, Any]:
            found = where_is(self.site, sim, sku)
            if self.asrs is not None:  # beside the pods: total_units stays the pods' sum
                found["totes"] = self.asrs.where_is(sku)
                found["tote_units"] = sum(t["quantity"] for t in found["totes"])
            return found

        return self.call(query)

    def check_asrs(self, kind: str, payload: dict[str, Any]) -> Future[Any]:
        """Raises AsrsRequestError (status, code, field) if the AS/RS cannot take this request
        now; resolves to None (nothing checked) when the runtime has no AS/RS controller."""
        return self.call(lambda _sim: self.asrs.check(kind, payload) if self.asrs else None)

    def check_pod_fetch(self, pod_id: str) -> Future[str | None]:
        """Why the dispatcher would refuse a fetch of this (known) pod now, or None."""

        def check(sim: Any) -> str | None:
            present = getattr(getattr(sim, "dispatcher", sim), "present", None)
            return present.unavailable(pod_id) if present is not None else None

        return self.call(check)

    # --- reads (thread-safe) --------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        with self._snapshot_lock:
            return self._snapshot

    def snapshot_json(self) -> str:
        with self._snapshot_lock:
            return self._snapshot_json

    # --- the control thread ---------------------------------------------------------------
    def _submit_order_call(self, record: OrderRecord) -> SimCall:
        def submit(sim: Any) -> None:
            if record.id in self._submitted:
                return  # exactly once per run, whatever path queued it twice
            self._submitted.add(record.id)
            lines = [
                OrderLine(ln.sku, ln.quantity - ln.picked)
                for ln in record.lines
                if ln.quantity > ln.picked
            ]
            order = Order(record.id, lines, self.now_s, record.priority, record.due_s)
            order.station_id = record.station_id
            try:
                sim.submit_order(order)
                self.stats.orders_submitted += 1
            except ValueError as exc:  # IntakeError and friends: the order cannot be done here
                self.stats.orders_rejected += 1
                self.bus.emit(
                    "order",
                    "rejected",
                    self.now_s,
                    order_id=record.id,
                    state="failed",
                    reason=str(exc),
                )

        return submit

    def _resubmit_task_call(self, record: TaskRecord) -> SimCall:
        def submit(sim: Any) -> None:
            if record.id in self._submitted:
                return
            self._submitted.add(record.id)
            self._api_task_ids.add(record.id)
            task = Task(
                record.id,
                TaskKind(record.kind),
                self.now_s,
                record.priority,
                order_id=record.order_id,
                payload=dict(record.payload),
            )
            try:
                if self.asrs is not None and task.kind in ASRS_KINDS:
                    self.asrs.submit(task, self.now_s)
                elif task.kind in TIMED_KINDS:
                    runner = self.task_runners.get(task.kind)
                    # Its outcome comes back on this thread in a later tick, after the submit.
                    external = runner is not None and runner(task)
                    self.timed.submit(task, self.now_s, external=external)
                else:
                    sim.submit_task(task)
            except ValueError as exc:
                self.bus.emit(
                    "task",
                    "failed",
                    self.now_s,
                    task_id=record.id,
                    task_kind=record.kind,
                    from_state=record.state,
                    to_state=TaskState.FAILED.value,
                    reason=str(exc),
                )

        return submit

    def _lookup_task(self, task_id: str) -> Any:
        mine = self.asrs.task(task_id) if self.asrs is not None else None
        if mine is not None:
            return mine
        if task_id in self.timed.tasks:
            return self.timed.tasks[task_id]
        tasks = getattr(self.plane, "tasks", None)
        if isinstance(tasks, dict):
            return tasks.get(task_id)
        return None

    def _drain_inbox(self) -> list[_Pending]:
        done: list[_Pending] = []
        while True:
            try:
                fn, pending = self._inbox.get_nowait()
            except queue.Empty:
                return done
            try:
                value = fn(self.plane)
                if pending is not None:
                    pending.value = value
            except Exception as exc:  # handed back to the caller, who maps it to 404/409
                if pending is None:
                    log.exception("queued simulation call failed")
                else:
                    pending.error = exc
            if pending is not None:
                done.append(pending)

    def _loop(self) -> None:
        cfg = self.config
        self.clock.rebase(self.now_s)
        next_snapshot = 0.0
        while not self._stop.is_set():
            tick_start = time.monotonic()
            answered = self._drain_inbox()
            target = self.clock.now_s()
            steps = 0
            budget_end = tick_start + cfg.max_step_wall_s
            try:
                while self.plane.now_s < target and steps < cfg.max_steps_per_tick:
                    self.plane.step()
                    steps += 1
                    # Stay responsive: commands and the stop flag wait for the tick to end.
                    if self._stop.is_set() or time.monotonic() > budget_end:
                        break
            except Exception as exc:  # noqa: BLE001 - keep serving; shown in stats and the log
                self._step_failed(exc)
            self.now_s = float(self.plane.now_s)
            self.stats.ticks += 1
            self.stats.steps += steps
            self.stats.lag_s = max(0.0, target - self.now_s) if target < float("inf") else 0.0
            if self.stats.lag_s > 5.0:  # fell far behind: forget the debt rather than sprint
                self.clock.rebase(self.now_s)
            self.timed.tick(self.now_s)
            for hook in self._tick_hooks:
                hook(self.now_s)
            answered += self._drain_inbox()
            self._flush(answered)
            if tick_start >= next_snapshot:
                self._take_snapshot()
                period_s = 1.0 / cfg.snapshot_hz
                next_snapshot = max(next_snapshot + period_s, tick_start)
            self._stop.wait(max(0.0, cfg.tick_s - (time.monotonic() - tick_start)))

    def _step_failed(self, exc: Exception) -> None:
        self.stats.step_errors += 1
        message = f"{type(exc).__name__}: {exc}"
        if self.stats.extra.get("last_step_error") != message:
            log.exception("simulation step failed")
        self.stats.extra["last_step_error"] = message
        time.sleep(0.1)  # do not spin on a step that keeps failing

    def _flush(self, answered: list[_Pending] | None = None) -> Future[Any]:
        batch = self.recorder.take()
        states = robot_states_json(self.plane)
        if states and states != self._robot_states:
            batch.meta[ROBOT_STATES_KEY] = self._robot_states = states
        batch.meta.update(pod_stock_meta(self.plane))
        if batch or time.monotonic() - self._sim_now_written >= 1.0:
            batch.meta[SIM_NOW_KEY] = repr(self.now_s)
            self._sim_now_written = time.monotonic()
        answered = answered or []
        if not batch:
            _resolve(answered)
            done: Future[Any] = Future()
            done.set_result([])
            return done
        self.stats.events_recorded += len(batch.events)
        future = self.store.apply_batch(batch)

        def committed(done: Future[Any]) -> None:
            if done.exception() is not None:  # the floor moved on; the log has a hole
                log.error("could not record %d events: %s", len(batch.events), done.exception())
            _resolve(answered)

        future.add_done_callback(committed)
        return future

    def free_units(self, sku: str) -> int | None:
        """Units of `sku` on hand and not yet promised to an order, as of the last snapshot
        (None if unknown); a quick intake check, the simulation has the final word."""
        return self._free_units.get(sku)

    def _take_snapshot(self) -> None:
        inventory = getattr(self.plane, "inventory", None)
        if inventory is not None and hasattr(inventory, "total_on_hand"):
            demand = getattr(inventory, "demand", {})
            self._free_units = {
                sku: inventory.total_on_hand(sku) - demand.get(sku, 0)
                for sku in getattr(inventory, "known_skus", ())
            }
        snap = dict(self.plane.snapshot())
        snap.setdefault("time_s", self.now_s)
        snap.setdefault("lanes", self.lane_control.lanes())
        if self.asrs is not None:
            snap.setdefault("cranes", self.asrs.describe())
        for key, part in list(self._snapshot_parts.items()):
            try:
                snap[key] = part()
            except Exception:  # a failing part must not stop the live view
                log.exception("snapshot part %r failed", key)
        snap["speed"] = self.clock.speed
        text = json.dumps(snap, default=str, separators=(",", ":"))
        with self._snapshot_lock:
            self._snapshot, self._snapshot_json = snap, text
        self.kpi_history.record(snap)


def _resolve(answered: list[_Pending]) -> None:
    for pending in answered:
        if pending.error is not None:
            pending.future.set_exception(pending.error)
        else:
            pending.future.set_result(pending.value)


def _clock_origin(store: Any) -> float:
    """The wall clock's origin, kept in the store so time continues across restarts."""
    stored = store.get_meta(CLOCK_ORIGIN_KEY)
    if stored is not None:
        return float(stored)
    origin = time.time()
    store.set_meta(CLOCK_ORIGIN_KEY, repr(origin)).result()
    return origin


__all__ = ["Component", "Runtime", "RuntimeConfig", "RuntimeStats", "task_fields"]
