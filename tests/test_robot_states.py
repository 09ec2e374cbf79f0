"""Robot states of record (issue 19, item 2): clear_fault, needs_check, restore after restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleet_manager.dispatch import CommandRejected, Phase
from fleet_manager.domain import Order, OrderLine, TaskState
from fleet_manager.events import EventBus
from fleet_manager.site.loader import load_site
from fleet_manager.site.model import Site
from sim.world import Simulation

MAPS = Path(__file__).resolve().parents[1] / "maps"


@pytest.fixture(scope="module")
def tiny() -> Site:
    return load_site(MAPS / "tiny.yaml")


def _sim(site: Site) -> Simulation:
    return Simulation(site, seed=0, bus=EventBus(), config={"orders_per_h": 0})


def _until(sim: Simulation, check, limit_s: float) -> None:  # type: ignore[no-untyped-def]
    deadline = sim.now_s + limit_s
    while not check() and sim.now_s < deadline:
        sim.step()
    assert check(), f"not reached within {limit_s} s of simulated time"


def test_clear_fault_from_the_command_brings_the_robot_and_its_pod_back(tiny: Site) -> None:
    sim = _sim(tiny)
    d = sim.dispatcher
    sim.submit_order(Order("O1", [OrderLine("SKU-B", 2)], 0.0))
    _until(sim, lambda: any(r.phase == Phase.TO_STATION for r in d.robots.values()), 600.0)
    rec = next(r for r in d.robots.values() if r.phase == Phase.TO_STATION)
    task, pod = sim.tasks[rec.task_id], rec.pod_id
    sim.inject_fault(rec.id, "bumper_hit")
    sim.step()
    assert task.state == TaskState.FAILED
    with pytest.raises(CommandRejected, match="clear_fault first"):
        sim.command_robot(rec.id, "resume")  # no silent 200 that changes nothing
    sim.command_robot(rec.id, "clear_fault")
    assert rec.status.error is None and rec.fault_alarm_id is None
    _until(sim, lambda: d.pods[pod].slot is not None, 600.0)
    assert d.pods[pod].carried_by is None and rec.pod_id is None
    assert not [a for a in sim.alarms.list() if a.active and a.source == f"robot:{rec.id}"]
    _until(sim, lambda: sim.orders["O1"].state == "done", 1800.0)
    with pytest.raises(CommandRejected, match="it has none"):
        sim.command_robot(rec.id, "clear_fault")


def test_states_of_record_survive_a_new_plane(tiny: Site) -> None:
    sim = _sim(tiny)
    d = sim.dispatcher
    r1, r2, r3 = d.robot_order[:3]
    sim.command_robot(r1, "out_of_service")
    sim.inject_fault(r2, "estop")
    sim.command_robot(r3, "pause")
    sim.step()
    states = sim.robot_states()
    assert states[r1]["out_of_service"] and states[r2]["fault"] == "estop"
    assert states[r3]["paused"]

    again = _sim(tiny)  # a restart: a fresh plane, robots at their start cells
    assert sorted(again.restore_robot_states(states)) == sorted(states)
    sim2 = again.dispatcher
    sim2.submit_order(Order("O1", [OrderLine("SKU-B", 1)], 0.0))
    again.step()
    assert sim2.robots[r1].out_of_service and not sim2.robots[r1].can_take_work
    assert sim2.robots[r3].status.paused
    rec2 = sim2.robots[r2]
    assert rec2.held_fault == "estop" and rec2.fault_alarm_id is not None
    assert again.snapshot()["robots"][sim2.robot_order.index(r2)]["state"] == "fault"
    again.command_robot(r3, "resume")  # the only robot free to work once resumed
    _until(again, lambda: again.orders["O1"].state == "done", 1800.0)
    assert rec2.task_id is None and sim2.robots[r1].task_id is None  # neither got work
    again.command_robot(r2, "clear_fault")
    assert rec2.held_fault is None and rec2.can_take_work
    assert again.robot_states()[r2]["fault"] is None


def test_a_robot_stopped_mid_trip_needs_a_check(tiny: Site) -> None:
    sim = _sim(tiny)
    rid = sim.dispatcher.robot_order[0]
    states = {rid: {"out_of_service": False, "paused": False, "fault": None,
                    "pod_id": "P-NOT-REPORTED", "in_task": True, "needs_check": None}}
    sim.restore_robot_states(states)
    rec = sim.dispatcher.robots[rid]
    assert "P-NOT-REPORTED" in (rec.needs_check or "") and not rec.can_take_work
    sim.step()
    assert rec.needs_check is not None  # its report does not show the pod: still unknown
    sim.command_robot(rid, "confirm_check")
    assert rec.needs_check is None and rec.can_take_work
    with pytest.raises(CommandRejected, match="needs no check"):
        sim.command_robot(rid, "confirm_check")
