"""Mixed fleet over a real mosquitto broker: in-process robots plus VDA 5050 vehicles in processes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from vda_helpers import MasterOnBroker, kill_until_broken, spawn, wait_online

from fleet_manager.domain import TaskState
from fleet_manager.events import Event
from fleet_manager.robots.vda5050.broker import MosquittoBroker
from fleet_manager.robots.vda5050.schema import check
from fleet_manager.site import load_site
from fleet_manager.site.model import Site
from sim.kinematics import TickModel
from sim.robot import SimulatedRobot
from sim.vda5050.errands import LockstepFleet

REPO = Path(__file__).resolve().parents[1]
GRID = """type octile
height 7
width 12
map
............
.@@@@..@@@@.
............
.@@@@..@@@@.
............
.@@@@..@@@@.
............
"""


@pytest.fixture
def site(tmp_path: Path) -> Site:
    path = tmp_path / "aisles.map"
    path.write_text(GRID)
    return load_site(path)


@pytest.fixture
def broker() -> Iterator[MosquittoBroker]:
    with MosquittoBroker() as b:
        yield b


class Fleet(MasterOnBroker):
    """Master + transport + alarm capture for one test."""

    def __init__(self, site: Site, broker: MosquittoBroker) -> None:
        super().__init__(site, broker)
        # A spy on the broker sees every message on the wire, both directions.
        self.wire: list[tuple[str, bytes]] = []
        self.spy = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="spy")
        self.spy.on_message = lambda _c, _u, msg: self.wire.append((msg.topic, msg.payload))
        self.spy.connect(broker.host, broker.port)
        self.spy.subscribe("uagv/#", qos=1)
        self.spy.loop_start()

    def stop(self) -> None:
        self.spy.loop_stop()
        self.spy.disconnect()
        self.transport.stop()

    def check_wire(self) -> dict[str, list[dict]]:
        """Every message seen on the broker matches its schema; returns orders by orderId."""
        by_order: dict[str, list[dict]] = {}
        for topic, payload in list(self.wire):
            sub = topic.rsplit("/", 1)[-1]
            msg = json.loads(payload)
            assert check(sub, msg) == [], (topic, check(sub, msg))
            if sub == "order":
                by_order.setdefault(msg["orderId"], []).append(msg)
        return by_order

    def alarms(self, code: str) -> list[Event]:
        return [e for e in self.events if e.topic == "alarm" and e.data["code"] == code]

    def wait_online(self, *serials: str, timeout_s: float = 15.0) -> None:
        wait_online(self.master, [self.master.robots[("WCS-SIM", s)] for s in serials], timeout_s)


def node(site: Site, x: int, y: int) -> int:
    return site.node_at[(x, y)]


def test_mixed_fleet_completes_errands_without_collisions(site: Site, broker: MosquittoBroker) -> None:
    fleet = Fleet(site, broker)
    vda = [fleet.master.add_robot(s, start_node=node(site, x, 6))
           for s, x in (("AMR-001", 0), ("AMR-002", 5), ("AMR-003", 11))]
    ticks = TickModel.for_site(site)
    sims = [SimulatedRobot("SIM-1", node(site, 0, 0), site, ticks),
            SimulatedRobot("SIM-2", node(site, 11, 0), site, ticks)]
    procs = [spawn(broker, "AMR-001"), spawn(broker, "AMR-002", "AMR-003")]
    try:
        fleet.wait_online("AMR-001", "AMR-002", "AMR-003")
        lf = LockstepFleet(site, [*sims, *vda], master=fleet.master, bus=fleet.bus, seed=7)
        station = node(site, 5, 2)
        pods = [(x, y) for y in (0, 2, 4) for x in (2, 9)]
        errands = [lf.add_errand(f"P{i}", node(site, x, y), station) for i, (x, y) in enumerate(pods)]
        assert lf.run(max_ticks=400), [e.stage for e in errands]
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=10)
        fleet.stop()
    assert lf.stats.conflicts == []
    assert all(e.task.state == TaskState.DONE for e in errands)
    done_by = {ev.resource_id for e in errands for ev in e.task.history if ev.to_state == TaskState.DONE}
    assert done_by & {"AMR-001", "AMR-002", "AMR-003"}, done_by
    assert done_by & {"SIM-1", "SIM-2"}, done_by
    assert lf.stats.arrival_timeouts == 0
    assert fleet.alarms("vda5050.schema_invalid") == []
    by_order = fleet.check_wire()
    assert len(by_order) >= 3
    for msgs in by_order.values():
        # Updates: ids 0,1,2..; each starts at the previous last base node and adds exactly one.
        assert [o["orderUpdateId"] for o in msgs] == list(range(len(msgs)))
        released: set[tuple[str, int]] = set()
        for prev, upd in zip([None, *msgs], msgs, strict=False):
            base = [(n["nodeId"], n["sequenceId"]) for n in upd["nodes"] if n["released"]]
            if prev is not None:
                assert base[0] == [(n["nodeId"], n["sequenceId"]) for n in prev["nodes"] if n["released"]][-1]
                base = base[1:]
                assert len(base) == 1
            assert not released & set(base)
            released |= set(base)


def test_killed_vehicle_is_broken_its_task_requeued_and_it_rejoins(site: Site, broker: MosquittoBroker) -> None:
    fleet = Fleet(site, broker)
    amr = fleet.master.add_robot("AMR-001", start_node=node(site, 0, 6))
    ticks = TickModel.for_site(site)
    sim = SimulatedRobot("SIM-1", node(site, 11, 0), site, ticks)
    proc = spawn(broker, "AMR-001")
    try:
        fleet.wait_online("AMR-001")
        lf = LockstepFleet(site, [amr, sim], master=fleet.master, bus=fleet.bus, seed=3)
        # The pod near AMR-001 goes to AMR-001; kill it on the way, before it lifts anything.
        errand = lf.add_errand("P0", node(site, 0, 2), node(site, 11, 6))
        lf.tick()
        assert errand.robot == "AMR-001"
        for _ in range(2):
            lf.tick()
        assert errand.stage == "to_pod" and amr.status().pod_id is None
        kill_until_broken(proc, amr, fleet.master)
        lost_at = amr.status().node
        assert not amr.status().online
        assert fleet.alarms("vda5050.connectionbroken")
        assert lf.run(max_ticks=200)
        states = [ev.to_state for ev in errand.task.history]
        assert states[:3] == [TaskState.QUEUED, TaskState.ASSIGNED, TaskState.QUEUED]
        assert errand.task.state == TaskState.DONE and errand.task.resource_id == "SIM-1"
        assert amr.status().node == lost_at  # the dead robot stayed an obstacle where it was
        assert lf.stats.conflicts == []
        # Restart: it comes back uninitialised; the master sends initPosition at its last node.
        proc = spawn(broker, "AMR-001")
        fleet.wait_online("AMR-001")
        assert amr.status().node == lost_at
        second = lf.add_errand("P1", node(site, 2, 4), node(site, 5, 6))
        sim.pause()  # leave the work to the rejoined vehicle
        assert lf.run(max_ticks=200)
        assert second.task.resource_id == "AMR-001" and second.task.state == TaskState.DONE
        assert lf.stats.conflicts == []
        fleet.check_wire()  # the broker's last will included: all schema-valid
        states = [json.loads(p)["connectionState"] for t, p in fleet.wire if t.endswith("AMR-001/connection")]
        assert states[-2:] == ["CONNECTIONBROKEN", "ONLINE"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        fleet.stop()


def test_real_dispatcher_serves_orders_with_a_mixed_fleet(broker: MosquittoBroker) -> None:
    """The project's Dispatcher on maps/tiny.yaml: R01 in-process, R02 and R03 over VDA 5050."""
    from fleet_manager.dispatch import Dispatcher
    from fleet_manager.domain import Order, OrderLine, OrderState
    from fleet_manager.robots.vda5050.sim_link import await_arrivals

    site = load_site(REPO / "maps/tiny.yaml")
    fleet = Fleet(site, broker)
    ticks = TickModel.for_site(site)
    starts = {r.id: r.start for r in site.robots}
    sim = SimulatedRobot("R01", starts["R01"], site, ticks)
    vda = [fleet.master.add_robot(rid, start_node=starts[rid]) for rid in ("R02", "R03")]
    proc = spawn(broker, "R02", "R03")
    try:
        fleet.wait_online("R02", "R03")
        d = Dispatcher(site, [sim, *vda], bus=fleet.bus, alarms=fleet.master.alarms, tick_s=ticks.tick_s)
        orders = [Order(f"O{i}", [OrderLine(sku, 1)], 0.0) for i, sku in enumerate(["SKU-A", "SKU-B", "SKU-C"])]
        for o in orders:
            d.submit_order(o)
        now_s = 0.0
        for _ in range(1500):
            if all(o.state == OrderState.DONE for o in orders):
                break
            fleet.master.pump()
            d.tick(now_s)
            sim.advance(ticks.tick_s)
            now_s += ticks.tick_s
            assert await_arrivals(fleet.master, vda, timeout_s=5.0)
        assert [o.state for o in orders] == [OrderState.DONE] * 3
        assert d.kpi.conflicts == 0
        lifted_by = {e.data.get("resource_id") for e in fleet.events
                     if e.topic == "task" and e.data.get("reason") == "pod lifted"}
        assert lifted_by & {"R02", "R03"}, lifted_by
        assert fleet.check_wire()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        fleet.stop()
