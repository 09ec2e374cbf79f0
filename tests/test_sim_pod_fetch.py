"""Submitted pod fetches (presentations): done path, claims, queue control, bad input, cancel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fleet_manager.dispatch import CommandRejected, Phase
from fleet_manager.domain import Order, OrderLine, OrderState, Task, TaskKind, TaskState
from fleet_manager.events import Event, EventBus
from fleet_manager.inventory import IntakeError
from fleet_manager.site.loader import load_site
from fleet_manager.site.model import Site
from sim.world import Simulation

MAPS = Path(__file__).resolve().parents[1] / "maps"


@pytest.fixture(scope="module")
def tiny() -> Site:
    return load_site(MAPS / "tiny.yaml")


def _sim(site: Site, **config: Any) -> tuple[Simulation, list[Event]]:
    bus = EventBus()
    events: list[Event] = []
    bus.subscribe(events.append)
    return Simulation(site, seed=0, bus=bus, config={"orders_per_h": 0, **config}), events


def _fetch(task_id: str, **payload: Any) -> Task:
    return Task(task_id, TaskKind.POD_FETCH, 0.0, payload=payload)


def _run_until_state(sim: Simulation, task_id: str, state: TaskState, limit_s: float) -> None:
    while sim.tasks[task_id].state != state and sim.now_s < limit_s:
        sim.step()
    assert sim.tasks[task_id].state == state, f"{task_id} is {sim.tasks[task_id].state}"


def test_presentation_runs_queued_assigned_active_done(tiny: Site) -> None:
    sim, events = _sim(tiny)
    d = sim.dispatcher
    stock = dict(sim.inventory.on_hand["POD3"])
    sim.submit_task(_fetch("P1", pod_id="POD3", station_id="ST1", hold_s=45.0))
    assert d.pods["POD3"].task_id == "P1"
    _run_until_state(sim, "P1", TaskState.DONE, 900.0)
    task = sim.tasks["P1"]
    assert [h.to_state.value for h in task.history] == ["queued", "assigned", "active", "done"]
    assert task.resource_id in sim.robots
    mine = [e.kind for e in events if e.topic == "task" and e.data.get("task_id") == "P1"]
    assert mine == ["created", "assigned", "active", "done"]
    st = [e for e in events if e.topic == "station" and e.data.get("pod_id") == "POD3"]
    assert [e.kind for e in st] == ["pod_arrived", "pod_left"]
    assert st[1].at_s - st[0].at_s >= 45.0 - 1e-6  # held for hold_s
    assert st[1].at_s - st[0].at_s < 45.0 + 3 * sim.tick_s
    pod = d.pods["POD3"]
    assert pod.task_id is None and pod.carried_by is None and pod.slot is not None
    assert d.slot_pod[pod.slot] == "POD3" and pod.visits == 1
    assert dict(sim.inventory.on_hand["POD3"]) == stock  # nothing picked from it
    assert not d.stations["ST1"].inbound and d.stations["ST1"].serving_robot is None
    assert all(r.phase == Phase.IDLE for r in d.robots.values())
    assert sim.kpis()["conflicts"] == 0


def test_default_hold_is_the_station_pick_time(tiny: Site) -> None:
    sim, _ = _sim(tiny)
    sim.submit_task(_fetch("P1", pod_id="POD1", station_id="ST1"))
    assert sim.tasks["P1"].payload["hold_s"] == tiny.stations["ST1"].pick_time_s_per_unit
    _run_until_state(sim, "P1", TaskState.DONE, 900.0)


def test_a_presented_pod_is_not_selected_for_orders(tiny: Site) -> None:
    sim, _ = _sim(tiny)
    d = sim.dispatcher
    stock = dict(sim.inventory.on_hand["POD3"])
    sim.submit_task(_fetch("P1", pod_id="POD3", station_id="ST1", hold_s=60.0))
    sim.step()
    # POD3 holds the most SKU-C; while it is claimed the order must be served by POD4.
    sim.submit_order(Order("O1", [OrderLine("SKU-C", 3)], sim.now_s))
    sim.run_until(900.0)
    assert sim.tasks["P1"].state == TaskState.DONE
    assert sim.orders["O1"].state == OrderState.DONE
    order_fetches = [t for t in sim.tasks.values() if t.order_id == "O1"]
    assert order_fetches and {t.payload["pod"] for t in order_fetches} == {"POD4"}
    assert dict(sim.inventory.on_hand["POD3"]) == stock
    assert d.pods["POD3"].task_id is None
    assert sim.kpis()["conflicts"] == 0


def test_station_queue_limit_holds_presentations_back(tiny: Site) -> None:
    sim, _ = _sim(tiny, max_inbound_per_station=1)
    d = sim.dispatcher
    for i, pod in enumerate(("POD1", "POD2", "POD3"), 1):
        sim.submit_task(_fetch(f"P{i}", pod_id=pod, station_id="ST1", hold_s=20.0))
    most = 0
    while sim.now_s < 1500.0 and not all(sim.tasks[f"P{i}"].is_terminal for i in (1, 2, 3)):
        sim.step()
        most = max(most, len(d.stations["ST1"].inbound))
        # Heading to or at the station: only the admitted one; the rest wait in the queue.
        coming = (Phase.TO_POD, Phase.TO_STATION, Phase.SERVICE)
        inbound = [r.task_id for r in d.robots.values() if r.phase in coming]
        assert len(inbound) <= 1 and set(inbound) <= d.stations["ST1"].inbound, inbound
    assert most == 1
    assert all(sim.tasks[f"P{i}"].state == TaskState.DONE for i in (1, 2, 3))
    assert sim.kpis()["conflicts"] == 0


BAD = [
    ({"station_id": "ST1"}, "payload.pod_id", "pod id"),
    ({"pod_id": "NOPE", "station_id": "ST1"}, "payload.pod_id", "unknown pod"),
    ({"pod_id": "POD1"}, "payload.station_id", "station id"),
    ({"pod_id": "POD1", "station_id": "ST9"}, "payload.station_id", "unknown pick station"),
    ({"pod_id": "POD1", "station_id": "ST1", "hold_s": -1}, "payload.hold_s", "non-negative"),
    ({"pod_id": "POD1", "station_id": "ST1", "hold_s": "x"}, "payload.hold_s", "non-negative"),
    ({"pod_id": "POD1", "station_id": "ST1", "hold_s": True}, "payload.hold_s", "non-negative"),
    ({"pod_id": "POD1", "station_id": "ST1", "robot": "RX"}, "payload.robot", "unknown robot"),
]


@pytest.mark.parametrize("payload,field,reason", BAD)
def test_bad_input_names_the_field_and_applies_nothing(
    tiny: Site, payload: dict[str, Any], field: str, reason: str
) -> None:
    sim, events = _sim(tiny)
    d = sim.dispatcher
    with pytest.raises(IntakeError) as err:
        sim.submit_task(_fetch("P1", **payload))
    assert err.value.field == field and reason in err.value.reason
    assert "P1" not in sim.tasks and not d.queued and not d.present.waiting
    assert all(p.task_id is None for p in d.pods.values()) and not events


def test_reserved_or_carried_pod_is_refused(tiny: Site) -> None:
    sim, _ = _sim(tiny)
    d = sim.dispatcher
    sim.submit_task(_fetch("P1", pod_id="POD2", station_id="ST1", hold_s=30.0))
    with pytest.raises(IntakeError) as err:
        sim.submit_task(_fetch("P2", pod_id="POD2", station_id="ST1"))
    assert err.value.field == "payload.pod_id" and "reserved by task P1" in err.value.reason
    _run_until_state(sim, "P1", TaskState.ACTIVE, 600.0)
    robot = sim.tasks["P1"].resource_id
    with pytest.raises(IntakeError) as err:
        sim.submit_task(_fetch("P3", pod_id="POD2", station_id="ST1"))
    assert err.value.field == "payload.pod_id" and f"carried by robot {robot}" in err.value.reason
    assert "P2" not in sim.tasks and "P3" not in sim.tasks
    assert d.pods["POD2"].task_id == "P1"
    # An order-driven claim refuses a presentation too.
    sim.submit_order(Order("O1", [OrderLine("SKU-C", 25)], sim.now_s))  # needs POD3 and POD4
    sim.step()
    claimed = [p for p in ("POD3", "POD4") if d.pods[p].task_id is not None]
    assert claimed
    with pytest.raises(IntakeError, match="reserved by task"):
        sim.submit_task(_fetch("P4", pod_id=claimed[0], station_id="ST1"))


def test_cancel_before_lift_frees_pod_and_robot(tiny: Site) -> None:
    sim, _ = _sim(tiny)
    d = sim.dispatcher
    slot = d.pods["POD3"].slot
    sim.submit_task(_fetch("P1", pod_id="POD3", station_id="ST1"))
    _run_until_state(sim, "P1", TaskState.ASSIGNED, 60.0)
    sim.step()
    robot = sim.tasks["P1"].resource_id
    assert d.robots[robot].phase == Phase.TO_POD
    sim.cancel_task("P1")
    assert sim.tasks["P1"].state == TaskState.CANCELLED
    assert d.robots[robot].phase == Phase.IDLE and d.robots[robot].task_id is None
    pod = d.pods["POD3"]
    assert pod.task_id is None and pod.slot == slot and d.slot_pod[slot] == "POD3"
    assert not d.stations["ST1"].inbound and "P1" not in d.queued
    sim.run_until(sim.now_s + 60.0)
    assert pod.slot == slot and pod.visits == 0
    sim.submit_task(_fetch("P2", pod_id="POD3", station_id="ST1"))  # the pod is free again
    _run_until_state(sim, "P2", TaskState.DONE, sim.now_s + 900.0)
    assert sim.kpis()["conflicts"] == 0


def test_cancel_while_waiting_for_room_and_after_lift(tiny: Site) -> None:
    sim, _ = _sim(tiny, max_inbound_per_station=1)
    d = sim.dispatcher
    sim.submit_task(_fetch("P1", pod_id="POD1", station_id="ST1", hold_s=30.0))
    sim.submit_task(_fetch("P2", pod_id="POD2", station_id="ST1"))
    _run_until_state(sim, "P1", TaskState.ACTIVE, 600.0)
    assert "P2" in d.present.waiting and sim.tasks["P2"].state == TaskState.QUEUED
    sim.cancel_task("P2")
    assert not d.present.waiting and d.pods["POD2"].task_id is None
    robot = sim.tasks["P1"].resource_id
    sim.cancel_task("P1")  # after the lift: the pod goes straight back to storage
    assert sim.tasks["P1"].state == TaskState.CANCELLED
    assert d.robots[robot].phase == Phase.TO_SLOT and d.robots[robot].task_id is None
    assert "P1" not in d.stations["ST1"].inbound
    deadline = sim.now_s + 600.0
    while d.pods["POD1"].slot is None and sim.now_s < deadline:
        sim.step()
    assert d.pods["POD1"].slot is not None and d.pods["POD1"].carried_by is None
    assert d.pods["POD1"].visits == 0  # it never reached the station
    assert sim.tasks["P2"].state == TaskState.CANCELLED
    with pytest.raises(CommandRejected, match="already cancelled"):
        sim.cancel_task("P1")


def test_cancelling_an_order_leaves_presentations_alone(tiny: Site) -> None:
    sim, _ = _sim(tiny)
    sim.submit_task(_fetch("P1", pod_id="POD1", station_id="ST1"))
    sim.submit_order(Order("O1", [OrderLine("SKU-B", 1)], 0.0))
    sim.step()
    sim.cancel_order("O1")
    assert sim.tasks["P1"].state != TaskState.CANCELLED
    _run_until_state(sim, "P1", TaskState.DONE, 900.0)


def test_presentations_amid_order_stream_are_deterministic() -> None:
    site = load_site(MAPS / "demo.yaml")

    def run() -> tuple[list[tuple[str, float]], dict[str, Any]]:
        bus = EventBus()
        log: list[tuple[str, float]] = []
        bus.subscribe(
            lambda e: log.append((e.kind, e.at_s))
            if e.topic == "task" and str(e.data.get("task_id", "")).startswith("P")
            else None
        )
        sim = Simulation(site, seed=2, bus=bus, config={"warmup_s": 0})
        sim.run_until(60.0)
        free = [p for p, s in sim.dispatcher.pods.items() if s.task_id is None][:4]
        for i, pod in enumerate(free):
            sim.submit_task(_fetch(f"P{i}", pod_id=pod, station_id=f"ST{i + 1}", hold_s=20))
        sim.run_until(900.0)
        assert all(sim.tasks[f"P{i}"].state == TaskState.DONE for i in range(4))
        k = sim.kpis()
        k.pop("wall_clock")
        assert k["conflicts"] == 0
        return log, k

    assert run() == run()


def test_precheck_and_public_payload_keep_the_submitted_fields(tiny: Site) -> None:
    sim, _ = _sim(tiny)
    d = sim.dispatcher
    published: list[dict] = []
    sim.bus.subscribe(
        lambda e: published.append(e.data["payload"])
        if e.topic == "task" and e.data.get("task_id") == "P1"
        else None
    )
    assert d.present.unavailable("POD2") is None
    sent = {"pod_id": "POD2", "station_id": "ST1", "hold_s": 30.0}
    sim.submit_task(_fetch("P1", **sent))
    # The read-only pre-check (used by the API before storing) agrees with intake.
    assert d.present.unavailable("POD2") == "pod POD2 is reserved by task P1"
    task = sim.tasks["P1"]
    assert task.payload["pod"] == "POD2"  # the executor's trip fields live on the task
    assert d.present.public_payload(task) == sent  # events publish only what was sent
    _run_until_state(sim, "P1", TaskState.ACTIVE, 600.0)
    assert d.present.unavailable("POD2") == f"pod POD2 is being carried by robot {task.resource_id}"
    _run_until_state(sim, "P1", TaskState.DONE, 900.0)
    # Every task event, the terminal one included, carried only what the WMS sent.
    assert len(published) >= 4 and all(p == sent for p in published)
    assert "P1" not in d.present.submitted  # dropped with its terminal event
