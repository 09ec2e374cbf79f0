"""AS/RS controller over the in-process sim crane: order flow, dual cycles, faults and recovery."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from test_asrs_helpers import aisle, inventory

from fleet_manager.alarms import AlarmRegistry
from fleet_manager.asrs.controller import AsrsController
from fleet_manager.asrs.rack import Rack, SlotState
from fleet_manager.asrs.records import MoveState, NoStock, ToteNotFound
from fleet_manager.asrs.sequencing import Pairing
from fleet_manager.domain import TaskKind, TaskState
from fleet_manager.events import Event, EventBus
from sim.crane.local import LocalCraneDriver
from sim.crane.model import FaultPlan, Phase


def make(tmp_path: Path, faults: list[FaultPlan] | None = None, depth: int = 1,
         pairing: Pairing = Pairing.DUAL_OPT) -> tuple[AsrsController, list[Event]]:
    rack = Rack(aisle(bays=6, levels=3, depth=depth))
    driver = LocalCraneDriver(rack, faults)
    bus = EventBus()
    events: list[Event] = []
    bus.subscribe(events.append)
    alarms = AlarmRegistry(bus, clock=lambda: driver.now_s)
    ctl = AsrsController(inventory(tmp_path, rack), driver, bus, clock=lambda: driver.now_s,
                         pairing=pairing, alarms=alarms)
    return ctl, events


def test_retrieve_flows_crane_to_conveyor_to_station(tmp_path: Path) -> None:
    ctl, events = make(tmp_path)
    for i, received in enumerate((20.0, 10.0)):
        ctl.request_store(f"T{i}", "SKU-A", 12, f"LOT-{i}", received)
    assert asyncio.run(ctl.run()) == 2
    task = ctl.request_retrieve("ORDER-1", "SKU-A", "STATION-1")
    assert task.payload["tote_id"] == "T1"  # FIFO: received at 10 s
    assert asyncio.run(ctl.run()) == 1
    assert task.state == TaskState.DONE
    assert [e.to_state for e in task.history] == ["queued", "assigned", "active", "done"]
    transfer = ctl.tasks[task.payload["transfer_task"]]
    assert transfer.kind == TaskKind.CONVEYOR_TRANSFER and transfer.state == TaskState.QUEUED
    assert transfer.payload["to"] == "STATION-1" and transfer.payload["tote_id"] == "T1"
    assert transfer.payload["conveyor"] == "cv-1" and transfer.order_id == "ORDER-1"
    assert ctl.inventory.store.tote("T1").location == "io:A1"
    task_events = [e for e in events if e.topic == "task" and e.data["task_id"] == task.id]
    assert [e.kind for e in task_events] == ["queued", "assigned", "active", "done"]
    assert any(e.topic == "task" and e.data["task_id"] == transfer.id for e in events)
    asrs = [e.kind for e in events if e.topic == "asrs"]
    assert asrs.count("move_done") == 3
    n_tasks = len(ctl.tasks)
    with pytest.raises(NoStock, match="SKU-B"):
        ctl.request_retrieve("ORDER-2", "SKU-B", "STATION-1")
    with pytest.raises(ToteNotFound, match="T1 is not in aisle A1 .*io:A1"):
        ctl.request_retrieve_tote("ORDER-2", "T1", "STATION-1")  # it is at the I/O point now
    assert len(ctl.tasks) == n_tasks  # refused requests leave no task behind


def test_unsendable_telegram_is_an_alarm_not_a_half_move(tmp_path: Path) -> None:
    ctl, events = make(tmp_path)
    ctl.request_store("TOTE-ID-LONGER-THAN-16", "SKU-A", 1, "L", 0.0)
    assert asyncio.run(ctl.run()) == 0
    assert ctl.fault is not None
    assert ctl.inventory.store.tote("TOTE-ID-LONGER-THAN-16").location == "io:A1"
    assert any("TOTE-ID-LONGER-THAN-16" in e.data.get("message", "") for e in events
               if e.topic == "alarm")
    target = ctl.fault.move.target
    asyncio.run(ctl.cancel_faulted("operator: relabel the tote"))
    assert ctl.fault is None and ctl.pending_jobs == 0
    assert ctl.inventory.store.slot(target).state == SlotState.EMPTY
    assert ctl.inventory.store.tote("TOTE-ID-LONGER-THAN-16").reserved_by is None


def test_dual_command_pairs_stores_with_retrieves(tmp_path: Path) -> None:
    ctl, events = make(tmp_path)
    for i in range(3):
        ctl.request_store(f"OLD{i}", "SKU-A", 1, "L", float(i))
    asyncio.run(ctl.run())
    started = len([e for e in events if e.kind == "move_started"])
    for i in range(3):
        ctl.request_store(f"NEW{i}", "SKU-B", 1, "L", 100.0)
        ctl.request_retrieve(f"O{i}", "SKU-A", "S1")
    t0 = ctl.driver.now_s
    assert asyncio.run(ctl.run()) == 6
    kinds = [e.data["kind"] for e in events if e.kind == "move_started"][started:]
    assert kinds == ["store", "retrieve"] * 3  # every cycle a dual command
    dual_s = ctl.driver.now_s - t0
    (tmp_path / "single").mkdir()
    single, _ = make(tmp_path / "single", pairing=Pairing.SINGLE)
    for i in range(3):
        single.request_store(f"OLD{i}", "SKU-A", 1, "L", float(i))
    asyncio.run(single.run())
    for i in range(3):
        single.request_store(f"NEW{i}", "SKU-B", 1, "L", 100.0)
        single.request_retrieve(f"O{i}", "SKU-A", "S1")
    t1 = single.driver.now_s
    asyncio.run(single.run())
    assert dual_s < single.driver.now_s - t1


@pytest.mark.parametrize("phase, on_forks", [(Phase.TO_SOURCE, False), (Phase.TO_TARGET, True)])
def test_crane_fault_alarm_keeps_tote_located_then_resumes(tmp_path: Path, phase: Phase,
                                                            on_forks: bool) -> None:
    ctl, events = make(tmp_path, [FaultPlan(2, phase, 2)])
    ctl.request_store("T1", "SKU-A", 1, "L", 0.0)
    ctl.request_store("T2", "SKU-A", 1, "L", 1.0)
    assert asyncio.run(ctl.run()) == 1  # the second move faults
    fault = ctl.fault
    assert fault is not None and fault.move.tote_id == "T2"
    store = ctl.inventory.store
    expected = "crane:C1" if on_forks else "io:A1"
    assert store.tote("T2").location == expected
    assert store.slot(fault.move.target).state == SlotState.RESERVED  # not filled, not lost
    assert store.move(fault.move.move_id).state == MoveState.FAULTED
    alarms = [e for e in events if e.topic == "alarm" and e.kind == "raised"]
    assert len(alarms) == 1
    message = alarms[0].data["message"]
    assert "T2" in message and fault.move.target in message and "hoist drive fault" in message
    task = ctl.tasks[fault.move.ref]
    assert task.state == TaskState.QUEUED
    assert asyncio.run(ctl.run()) == 0  # nothing runs on a faulted crane
    asyncio.run(ctl.reset_fault())
    assert ctl.alarms is not None and not any(a.active for a in ctl.alarms._alarms.values())
    assert asyncio.run(ctl.run()) == 1
    assert task.state == TaskState.DONE
    assert store.tote("T2").location == fault.move.target
    assert store.slot(fault.move.target).state == SlotState.OCCUPIED


def test_relocation_task_runs_before_its_retrieve(tmp_path: Path) -> None:
    ctl, events = make(tmp_path, depth=2)
    rack = ctl.inventory.rack
    ctl.request_store("T-X", "SKU-X", 1, "L", 0.0, slot_id="A1-L001-01-2")
    asyncio.run(ctl.run())
    ctl.request_store("T-Y", "SKU-Y", 1, "L", 1.0, slot_id="A1-L001-01-1")
    asyncio.run(ctl.run())
    task = ctl.request_retrieve("O1", "SKU-X", "S1")
    relocs = [t for t in ctl.tasks.values() if t.kind == TaskKind.ASRS_RELOCATE]
    assert len(relocs) == 1 and relocs[0].payload["for_task"] == task.id
    asyncio.run(ctl.run())
    done = [e.data["task_id"] for e in events if e.topic == "task" and e.kind == "done"]
    assert done.index(relocs[0].id) < done.index(task.id)
    assert ctl.inventory.store.tote("T-Y").location in rack.index
    assert ctl.inventory.store.tote("T-X").location == "io:A1"


def test_queued_and_active_moves_are_recovered_after_a_restart(tmp_path: Path) -> None:
    ctl, _ = make(tmp_path)
    for i in range(3):
        ctl.request_store(f"T{i}", "SKU-A", 1, "L", float(i))
    asyncio.run(ctl.run())
    ctl.request_retrieve("O1", "SKU-A", "S1")
    ctl.request_store("T9", "SKU-B", 1, "L", 9.0)
    queued_store = ctl.tasks[max(ctl.tasks)]
    ctl.inventory.store.start_move(queued_store.payload["move_id"], "C1")  # the WCS dies mid-move
    ctl.inventory.store.close()

    again, events = make(tmp_path)
    assert again.recover_open_moves() == 2
    assert again.fault is not None and again.fault.move.tote_id == "T9"
    assert any("WCS restarted" in e.data.get("message", "") for e in events if e.topic == "alarm")
    asyncio.run(again.reset_fault())  # an operator checked: the crane never started it
    assert asyncio.run(again.run()) == 2
    store = again.inventory.store
    assert store.tote("T0").location == "io:A1"
    assert store.tote("T9").location.startswith("A1-")
    assert store.open_moves() == []
