"""AS/RS in the runtime: one AsrsController per aisle, its crane paced by the runtime clock.

The crane driver comes from the runtime's equipment (a telegram driver over the PLC link, or a
simulator's). Runs on the control thread: `submit` (WMS tasks), `tick` (tick hook: steps each
controller's crane coroutine up to the runtime clock, hands retrieved totes to the conveyor as timed
CONVEYOR_TRANSFER tasks). The inventory is `asrs.sqlite3` beside the store's `wcs.sqlite3`
(its own writer, so crane commits never queue behind the API's group commit).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fleet_manager.alarms import AlarmRegistry
from fleet_manager.asrs.controller import AsrsController
from fleet_manager.asrs.inventory import AsrsInventory
from fleet_manager.asrs.inventory_store import InventoryStore
from fleet_manager.asrs.pacing import WaitUntil
from fleet_manager.asrs.policies import ClosestOpenSlot
from fleet_manager.asrs.rack import Rack
from fleet_manager.asrs.records import CRANE_PREFIX, ToteNotFound, ToteRecord
from fleet_manager.asrs.request_checks import AsrsRequestError, check_request
from fleet_manager.domain import IdFactory, Task, TaskKind, TaskState
from fleet_manager.runtime.asrs_status import aisle_status, check_reset, fault_dict

log = logging.getLogger(__name__)
ASRS_KINDS = (TaskKind.ASRS_STORE, TaskKind.ASRS_RETRIEVE)
INVENTORY_FILE = "asrs.sqlite3"
SEED_SKUS = 20  # demo stock: the first SKUs of the site, a few totes each
SEED_TOTES_PER_SKU = 3


@dataclass
class _Aisle:
    controller: AsrsController
    driver: Any  # CraneDriver with describe()
    run: Coroutine[Any, Any, int] | None = None
    waiting: WaitUntil | None = None
    link_alarm: str | None = None


@dataclass
class AsrsComponent:
    """Every aisle of the site; `tasks` holds each controller task by id (API and internal)."""

    aisles: dict[str, _Aisle]
    inventory: InventoryStore
    timed: Any  # the runtime's TimedTasks: conveyor transfers run there
    stations: frozenset[str] = frozenset()
    clock_s: float = 0.0
    transfers: dict[str, str] = field(default_factory=dict)  # transfer task id -> tote id

    @classmethod
    def build(cls, runtime: Any, seed: int = 0) -> AsrsComponent:
        """Open (or create) the inventory beside the store, seed it once, recover open moves."""
        site, sim = runtime.site, runtime.sim
        path = Path(runtime.store.data_dir) / INVENTORY_FILE
        store = InventoryStore(path)
        ids = getattr(getattr(sim, "dispatcher", None), "ids", None)
        if not isinstance(ids, IdFactory):  # no dispatcher: continue after the stored ids
            ids = IdFactory()
            for prefix, n in runtime.store.highest_ids().get("tasks", {}).items():
                ids.continue_after(prefix, n)
        alarms = getattr(sim, "alarms", None)
        alarms = alarms if isinstance(alarms, AlarmRegistry) else None
        self = cls({}, store, runtime.timed, frozenset(site.stations), float(runtime.now_s))
        for aisle_id, spec in sorted(site.asrs.items()):
            rack = Rack(spec)
            inv = AsrsInventory(rack, store, ClosestOpenSlot(), clock=self.now)
            driver = runtime.equipment.crane_driver(rack, self.now)
            if driver is None:  # the plant names no crane for this aisle
                continue
            ctl = AsrsController(inv, driver, runtime.bus, ids=ids, clock=self.now, alarms=alarms)
            self.aisles[aisle_id] = _Aisle(ctl, driver)
            _seed(inv, sorted(site.skus), seed)
        # WMS tasks the last run left open carry on under their ids (the runtime resubmits them).
        adopt = {
            t.id: Task(t.id, TaskKind(t.kind), t.created_s, t.priority, t.order_id,
                       payload=dict(t.payload))
            for t in runtime.store.open_tasks()
            if t.source == "api" and t.kind in {k.value for k in ASRS_KINDS}
        }
        for aisle in self.aisles.values():
            aisle.controller.recover_open_moves(adopt)
        return self

    # ---- life cycle (Component) --------------------------------------------------------------
    def start(self, runtime: Any) -> None:
        pass  # built before the control thread starts; ticked by the runtime loop

    def stop(self) -> None:
        pass  # the runtime closes the inventory after its control thread has stopped

    def close(self) -> None:
        for aisle in self.aisles.values():
            if aisle.run is not None:
                aisle.run.close()
            if callable(getattr(aisle.driver, "close", None)):
                aisle.driver.close()
        self.inventory.close()

    def now(self) -> float:
        return self.clock_s

    @property
    def tasks(self) -> dict[str, Task]:
        out: dict[str, Task] = {}
        for aisle in self.aisles.values():
            out.update(aisle.controller.tasks)
        return out

    def task(self, task_id: str) -> Task | None:
        for aisle in self.aisles.values():
            if task_id in aisle.controller.tasks:
                return aisle.controller.tasks[task_id]
        return None

    # ---- requests (control thread) ---------------------------------------------------------
    def check(self, kind: str, payload: dict[str, Any]) -> None:
        """Raise AsrsRequestError (field, code, reason) for a request that cannot run now."""
        aisle = self.aisles.get(str(payload.get("aisle_id")))
        if aisle is None:
            raise AsrsRequestError(422, "unknown_location", "payload.aisle_id",
                                   f"unknown AS/RS aisle {payload.get('aisle_id')!r}")
        station = payload.get("station_id")
        if kind == TaskKind.ASRS_RETRIEVE.value and station is not None \
                and station not in self.stations:
            raise AsrsRequestError(422, "unknown_location", "payload.station_id",
                                   f"unknown pick station {station!r}")
        check_request(aisle.controller.inventory, kind, payload)

    def submit(self, task: Task, now_s: float) -> None:
        """Run a WMS task through its aisle's controller (reserve now, crane moves later)."""
        self.clock_s = max(self.clock_s, now_s)
        if self.task(task.id) is not None:
            return  # recovered from the inventory on start: it is already queued
        p = task.payload
        self.check(task.kind.value, p)  # a race since the API checked: ValueError -> failed
        ctl = self.aisles[p["aisle_id"]].controller
        if task.kind == TaskKind.ASRS_STORE:
            tote_id = str(p.get("tote_id") or f"TOTE-{task.id}")
            self._bring_to_io(ctl, tote_id)
            ctl.request_store(tote_id, p["sku"], int(p.get("quantity", 1)), str(p.get("lot", "")),
                              slot_id=p.get("slot_id"), task=task)
        elif p.get("tote_id"):
            ctl.request_retrieve_tote(task.order_id, p["tote_id"], p.get("station_id"), task=task)
        else:
            ctl.request_retrieve(task.order_id, p["sku"], p.get("station_id"),
                                 int(p.get("quantity", 1)), task=task)

    def _bring_to_io(self, ctl: AsrsController, tote_id: str) -> None:
        """A known tote back from a station or the conveyor enters at the I/O point again."""
        inv = ctl.inventory
        try:
            tote = inv.store.tote(tote_id)
        except ToteNotFound:
            return
        if tote.location != inv.io and tote.location not in inv.rack.index \
                and not tote.location.startswith(CRANE_PREFIX):
            inv.store.set_tote_location(tote_id, inv.io)

    def cancel(self, task_id: str, reason: str) -> None:
        for aisle in self.aisles.values():
            if task_id in aisle.controller.tasks:
                aisle.controller.cancel_queued(task_id, reason)
                return
        raise KeyError(f"unknown task id {task_id!r}")

    def reset_crane(self, aisle_id: str, cancel: bool = False,
                    user: str | None = None) -> dict[str, Any]:
        """Operator checked the crane: reset it (the faulted move runs again), or cancel it.
        UnknownAisle / CraneNotFaulted / CancelRefused before anything changes; `user`
        acknowledges the crane_fault alarm, which the controller then clears."""
        aisle = self.aisles.get(aisle_id)
        ctl = aisle.controller if aisle is not None else None
        check_reset(aisle_id, ctl, cancel)
        assert ctl is not None and ctl.fault is not None
        fault = fault_dict(ctl)
        if user and ctl.alarms is not None and ctl.fault.alarm_id:
            ctl.alarms.acknowledge(ctl.fault.alarm_id, user)
        job = ctl.cancel_faulted(f"cancelled by operator {user or ''}".strip()) if cancel \
            else ctl.reset_fault()
        _drive(job)
        return {"aisle_id": aisle_id, "cancelled": cancel, "fault": fault}

    def status(self) -> list[dict[str, Any]]:
        return [aisle_status(aisle_id, a.controller, a.driver.describe())
                for aisle_id, a in sorted(self.aisles.items())]

    # ---- the control thread --------------------------------------------------------------------
    def tick(self, now_s: float) -> None:
        for aisle in self.aisles.values():
            self._watch_link(aisle)
            self._step(aisle, now_s)
        self.clock_s = max(self.clock_s, now_s)
        self._hand_off(now_s)
        self._arrivals()

    def _watch_link(self, aisle: _Aisle) -> None:
        """A crane behind a PLC link: one alarm while the link is down, cleared when it is up."""
        up = getattr(aisle.driver, "link_up", None)
        alarms = aisle.controller.alarms
        if up is None or alarms is None:
            return
        if not up and aisle.link_alarm is None:
            aisle.link_alarm = alarms.raise_alarm(
                f"crane:{aisle.driver.crane_id}", "crane_link_lost", "error",
                f"crane {aisle.driver.crane_id}: its PLC does not answer; moves wait",
            ).id
        elif up and aisle.link_alarm is not None:
            alarms.clear(aisle.link_alarm)
            aisle.link_alarm = None

    def _step(self, aisle: _Aisle, now_s: float) -> None:
        ctl = aisle.controller
        while True:
            if aisle.run is None:
                if ctl.fault is not None or not ctl.pending_jobs:
                    return
                aisle.run = ctl.run()
                aisle.waiting = None
            elif aisle.waiting is not None:
                if aisle.waiting.due_s > now_s:
                    return  # the crane is still in this phase
                self.clock_s = max(self.clock_s, aisle.waiting.due_s)
            try:
                yielded = aisle.run.send(None)
            except StopIteration:
                aisle.run, aisle.waiting = None, None
                if ctl.fault is not None or not ctl.pending_jobs:
                    return
                continue
            except Exception:  # a bug must not stop the floor; the log has it
                log.exception("AS/RS controller of %s failed", ctl.driver.crane_id)
                aisle.run, aisle.waiting = None, None
                return
            aisle.waiting = yielded if isinstance(yielded, WaitUntil) else WaitUntil(now_s)

    def _hand_off(self, now_s: float) -> None:
        for aisle in self.aisles.values():
            ctl = aisle.controller
            while ctl.handoffs:
                transfer = ctl.handoffs.pop(0)
                tote_id = str(transfer.payload["tote_id"])
                conveyor = transfer.payload.get("conveyor") or "floor"
                try:
                    ctl.inventory.store.set_tote_location(tote_id, f"conveyor:{conveyor}")
                    self.timed.submit(transfer, now_s, announce=False)
                except (ValueError, KeyError) as exc:
                    ctl.fail_task(transfer, f"cannot hand tote {tote_id} to the conveyor: {exc}")
                    continue
                self.transfers[transfer.id] = tote_id

    def _arrivals(self) -> None:
        """Transfers done: the tote is at its station (its location stays known)."""
        for task_id, tote_id in list(self.transfers.items()):
            task = self.timed.tasks.get(task_id)
            if task is None or not task.is_terminal:
                continue
            del self.transfers[task_id]
            if task.state == TaskState.DONE:
                self.inventory.set_tote_location(tote_id, f"station:{task.payload['to']}")

    # ---- queries -------------------------------------------------------------------------------
    def where_is(self, sku: str) -> list[dict[str, Any]]:
        out = []
        for tote in self.inventory.totes_of(sku):
            aisle = next((a for a, x in self.aisles.items()
                          if tote.location in x.controller.inventory.rack.index), None)
            out.append({
                "tote_id": tote.tote_id,
                "quantity": tote.quantity,
                "available": 0 if tote.reserved_by else tote.quantity,
                "location": tote.location,
                "slot_id": tote.location if aisle else None,
                "aisle_id": aisle,
                "lot": tote.lot,
            })
        return out

    def describe(self) -> dict[str, Any]:
        return {
            aisle_id: {
                **a.driver.describe(),
                "pending_jobs": a.controller.pending_jobs,
                "fault": a.controller.fault.outcome.detail if a.controller.fault else None,
            }
            for aisle_id, a in self.aisles.items()
        }


def _drive(coro: Coroutine[Any, Any, Any], timeout_s: float = 10.0) -> Any:
    """Run a reset / cancel coroutine to its end on the caller's thread. A simulated crane
    never waits; a real one waits for its PLC's answer, at most `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            if isinstance(coro.send(None), WaitUntil):
                if time.monotonic() > deadline:
                    coro.close()
                    raise RuntimeError(f"the crane PLC did not answer within {timeout_s:.0f} s")
                time.sleep(0.005)
    except StopIteration as stop:
        return stop.value


def _seed(inv: AsrsInventory, skus: list[str], seed: int) -> None:
    """First start only: the first SEED_SKUS SKUs, a few totes each, in seeded random slots."""
    aisle = inv.rack.aisle.id
    chosen = skus[:SEED_SKUS]
    if not chosen:
        return
    rng = np.random.default_rng(seed)
    front = [i for i in range(len(inv.rack)) if inv.rack.depth[i] == 1]  # never blocked
    n = min(len(front), len(chosen) * SEED_TOTES_PER_SKU)
    slots = rng.choice(front, size=n, replace=False)
    quantities = rng.integers(5, 31, size=n)
    totes = [
        ToteRecord(f"TOTE-{aisle}-{k + 1:04d}", chosen[k % len(chosen)], int(quantities[k]),
                   "SEED", float(k - n), inv.rack.ids[int(slots[k])])
        for k in range(n)
    ]
    inv.store.seed_totes(f"seeded:{aisle}", totes)
