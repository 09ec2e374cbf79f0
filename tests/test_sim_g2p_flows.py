"""Simulation flows: replenishment, returns put-away, out-of-service and battery under load."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleet_manager.dispatch import Phase
from fleet_manager.domain import Order, OrderLine, OrderState, TaskKind, TaskState
from fleet_manager.events import Event, EventBus
from fleet_manager.site.loader import load_site
from fleet_manager.site.model import Site
from sim.site_gen import generate_site
from sim.world import Simulation

MAPS = Path(__file__).resolve().parents[1] / "maps"


@pytest.fixture(scope="module")
def tiny() -> Site:
    return load_site(MAPS / "tiny.yaml")


def test_reorder_point_refills_the_pod_during_its_visit(tiny: Site) -> None:
    sim = Simulation(tiny, seed=0, config={"orders_per_h": 0, "reorder_point_units": 5})
    sim.submit_order(Order("R1", [OrderLine("SKU-B", 4)], 0.0))  # POD2 holds 8 -> 4 <= 5
    sim.run_until(400.0)
    assert sim.orders["R1"].state == OrderState.DONE
    refills = [t for t in sim.tasks.values() if t.kind == TaskKind.REPLENISH]
    assert refills and all(t.state == TaskState.DONE for t in refills)
    pods = {t.payload["pod"] for t in refills}
    for pod in pods:
        for sku, target in tiny.pods[pod].inventory.items():
            assert sim.inventory.qty(pod, sku) == target


def test_returns_are_put_away_on_a_pod_with_room(tiny: Site) -> None:
    sim = Simulation(tiny, seed=3, config={"orders_per_h": 0, "returns_per_h": 60})
    before = {s: sum(sim.inventory.qty(p, s) for p in tiny.pods) for s in tiny.skus}
    sim.run_until(900.0)
    putaways = [
        t
        for t in sim.tasks.values()
        if t.kind == TaskKind.REPLENISH and t.payload.get("mode") == "putaway"
    ]
    done = [t for t in putaways if t.state == TaskState.DONE]
    assert done
    added = sum(sum(t.payload["restock"].values()) for t in done)
    after = {s: sum(sim.inventory.qty(p, s) for p in tiny.pods) for s in tiny.skus}
    assert sum(after.values()) - sum(before.values()) == added
    for pod, spec in tiny.pods.items():
        assert sim.inventory.pod_units(pod) <= spec.capacity_units


def test_out_of_service_robot_takes_no_new_work(tiny: Site) -> None:
    sim = Simulation(tiny, seed=0, config={"orders_per_h": 0})
    sim.command_robot("R01", "out_of_service")
    sim.submit_order(Order("U1", [OrderLine("SKU-A", 2), OrderLine("SKU-C", 3)], 0.0))
    sim.run_until(600.0)
    assert sim.orders["U1"].state == OrderState.DONE
    assert all(t.resource_id != "R01" for t in sim.tasks.values())
    sim.command_robot("R01", "in_service")
    assert sim.dispatcher.robots["R01"].can_take_work


def test_battery_rules_under_load() -> None:
    site = generate_site(robots=8, chargers=2)
    bus = EventBus()
    sim = Simulation(site, seed=5, bus=bus, config={"initial_soc": (0.26, 0.4)})
    model = site.robot_model
    bad: list[str] = []

    def check(e: Event) -> None:
        if e.topic == "task" and e.kind == "assigned" and e.data["task_kind"] == "pod_fetch":
            soc = sim.robots[e.data["resource_id"]].soc
            if soc < model.charge_threshold:
                bad.append(f"{e.data['resource_id']} took {e.data['task_id']} at soc {soc:.3f}")

    bus.subscribe(check)
    sim.run_until(900.0)
    assert not bad
    charges = [t for t in sim.tasks.values() if t.kind == TaskKind.CHARGE]
    assert charges and any(t.state in (TaskState.ACTIVE, TaskState.DONE) for t in charges)
    assert all(r.soc >= model.reserve_soc for r in sim.robots.values())
    assert all(r.error is None for r in sim.robots.values())
    assert sim.kpis()["conflicts"] == 0
    charging = [r for r in sim.dispatcher.robots.values() if r.phase == Phase.CHARGING]
    users = [u for u in sim.dispatcher.charger_user.values() if u is not None]
    assert len(charging) <= len(site.chargers) and len(set(users)) == len(users)


def test_parking_spot_is_held_while_parked_and_freed_on_cancel_or_new_work(tiny: Site) -> None:
    from fleet_manager.domain import Task

    sim = Simulation(tiny, seed=0, config={"orders_per_h": 0})
    d = sim.dispatcher
    sim.command_robot("R03", "park")
    sim.run_until(120.0)
    assert d.park_user["PK1"] == "R03" and d.robots["R03"].phase == Phase.IDLE
    # a second park request for another robot waits: the only spot is held
    sim.submit_task(Task("P-9", TaskKind.PARK, sim.now_s, payload={"robot": "R01"}))
    sim.run_until(150.0)
    assert sim.tasks["P-9"].state == TaskState.QUEUED
    sim.cancel_task("P-9")
    # when every other robot is out of service, R03 takes the next order and frees its spot
    for rid in ("R01", "R02"):
        sim.command_robot(rid, "out_of_service")
    sim.submit_order(Order("PK", [OrderLine("SKU-C", 1)], sim.now_s))
    sim.run_until(200.0)
    assert d.park_user["PK1"] is None
    sim.command_robot("R01", "in_service")
    sim.command_robot("R01", "park")
    sim.step()
    sim.step()
    park = next(t for t in sim.tasks.values() if t.kind == TaskKind.PARK and not t.is_terminal)
    assert park.state == TaskState.ASSIGNED and d.park_user["PK1"] == "R01"
    sim.cancel_task(park.id)
    assert d.park_user["PK1"] is None and d.robots["R01"].phase == Phase.IDLE
