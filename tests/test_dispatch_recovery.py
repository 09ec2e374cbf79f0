"""Robots that stop with a pod on board, and trips cancelled after the lift (issue 15, item 5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleet_manager.dispatch import Phase
from fleet_manager.domain import Order, OrderLine, OrderState, TaskState
from fleet_manager.events import Event, EventBus
from fleet_manager.site.loader import load_site
from fleet_manager.site.model import Site
from sim.world import Simulation

MAPS = Path(__file__).resolve().parents[1] / "maps"


@pytest.fixture(scope="module")
def tiny() -> Site:
    return load_site(MAPS / "tiny.yaml")


def _sim(site: Site) -> tuple[Simulation, list[Event]]:
    bus = EventBus()
    events: list[Event] = []
    bus.subscribe(events.append)
    return Simulation(site, seed=0, bus=bus, config={"orders_per_h": 0}), events


def _until(sim: Simulation, check, limit_s: float) -> None:  # type: ignore[no-untyped-def]
    deadline = sim.now_s + limit_s
    while not check() and sim.now_s < deadline:
        sim.step()
    assert check(), f"not reached within {limit_s} s of simulated time"


def _lifted_fetch(sim: Simulation):  # type: ignore[no-untyped-def]
    """The first fetch task of the order, once its robot carries the pod to the station."""
    d = sim.dispatcher
    _until(sim, lambda: any(r.phase == Phase.TO_STATION for r in d.robots.values()), 600.0)
    rec = next(r for r in d.robots.values() if r.phase == Phase.TO_STATION)
    return rec, sim.tasks[rec.task_id]


@pytest.mark.parametrize("how", ["fault", "out_of_service"])
def test_a_robot_that_stops_with_a_pod_hands_its_lines_on(tiny: Site, how: str) -> None:
    sim, events = _sim(tiny)
    d = sim.dispatcher
    sim.submit_order(Order("O1", [OrderLine("SKU-B", 2)], 0.0))
    rec, task = _lifted_fetch(sim)
    pod = rec.pod_id
    if how == "fault":
        sim.inject_fault(rec.id, "bumper_hit")
        sim.step()
    else:
        sim.command_robot(rec.id, "out_of_service")
    # The task failed with the reason, its lines are free again, the pod stays on the robot.
    assert task.state == TaskState.FAILED and rec.id in task.history[-1].reason
    assert rec.task_id is None and rec.phase == Phase.IDLE
    assert d.pods[pod].carried_by == rec.id and d.pods[pod].slot is None
    stranded = [e for e in events if e.topic == "pod" and e.kind == "stranded"]
    assert [(e.data["pod_id"], e.data["robot_id"]) for e in stranded] == [(pod, rec.id)]
    pod_alarms = [a for a in sim.alarms.list() if a.source == f"pod:{pod}"]
    assert len(pod_alarms) == 1 and pod_alarms[0].active
    # The order is served by another pod and robot meanwhile (SKU-B is on two pods).
    _until(sim, lambda: sim.orders["O1"].state == OrderState.DONE, 1800.0)
    assert d.pods[pod].carried_by == rec.id  # still on the stopped robot
    # The robot is back: it brings the pod home and the alarm clears, once.
    if how == "fault":
        sim.clear_fault(rec.id)
    else:
        sim.command_robot(rec.id, "in_service")
    _until(sim, lambda: d.pods[pod].slot is not None, 600.0)
    assert d.pods[pod].carried_by is None and rec.pod_id is None and rec.phase == Phase.IDLE
    assert not pod_alarms[0].active
    assert len([a for a in sim.alarms.list() if a.source == f"pod:{pod}"]) == 1
    assert sim.kpis()["conflicts"] == 0


def test_cancelling_the_order_after_the_lift_sends_the_pod_home(tiny: Site) -> None:
    sim, events = _sim(tiny)
    d = sim.dispatcher
    sim.submit_order(Order("O1", [OrderLine("SKU-C", 1)], 0.0))
    rec, task = _lifted_fetch(sim)
    pod = rec.pod_id
    sim.cancel_order("O1")
    assert task.state == TaskState.CANCELLED and rec.phase == Phase.TO_SLOT
    _until(sim, lambda: d.pods[pod].slot is not None, 600.0)
    assert d.pods[pod].visits == 0 and sum(d.line_reserved.values()) == 0
    assert sim.inventory.available(pod, "SKU-C") == sim.inventory.on_hand[pod]["SKU-C"]
    arrived = [e for e in events if e.topic == "station" and e.kind == "pod_arrived"]
    assert not arrived


def test_a_pod_a_robot_reports_is_adopted_and_its_planned_trip_dropped(tiny: Site) -> None:
    """After a WCS restart the plan starts from the map (every pod home) while a robot still
    carries one: the robot's report wins, the trip planned for that pod is dropped, the lines
    go to another pod, and the robot brings the pod home."""
    sim, events = _sim(tiny)
    d = sim.dispatcher
    sim.submit_order(Order("O1", [OrderLine("SKU-C", 1)], 0.0))  # on POD3 and POD4
    sim.step()
    planned = [t for t in sim.tasks.values() if t.payload.get("pod")]
    assert len(planned) == 1
    pod = planned[0].payload["pod"]
    carrier = next(r for r in sim.robots.values() if d.robots[r.id].task_id is None)
    carrier.pod_id = pod  # what the robot reports: this pod is on board
    sim.step()
    assert planned[0].state == TaskState.FAILED and carrier.id in planned[0].history[-1].reason
    assert d.pods[pod].carried_by == carrier.id and d.pods[pod].slot is None
    assert [e.kind for e in events if e.topic == "pod"] == ["on_robot"]
    _until(sim, lambda: sim.orders["O1"].state == OrderState.DONE, 1200.0)
    _until(sim, lambda: d.pods[pod].slot is not None, 600.0)
    served = {t.payload["pod"] for t in sim.tasks.values() if t.state == TaskState.DONE
              and t.payload.get("pod")}
    assert pod not in served  # the other pod served the line
    assert sim.kpis()["conflicts"] == 0
