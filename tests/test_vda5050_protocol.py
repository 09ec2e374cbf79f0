"""VDA 5050 master <-> simulated vehicle over an in-process loopback (no broker, simulated time)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from fleet_manager.alarms import AlarmRegistry
from fleet_manager.events import Event, EventBus
from fleet_manager.robots.adapter import CommandRejected, RobotAdapter
from fleet_manager.robots.vda5050 import messages as m
from fleet_manager.robots.vda5050.adapter import Vda5050RobotAdapter
from fleet_manager.robots.vda5050.codec import codec_for
from fleet_manager.robots.vda5050.master import Vda5050Master
from fleet_manager.robots.vda5050.schema import SchemaViolation, check
from fleet_manager.robots.vda5050.topics import TopicError, VehicleAddress, parse_topic
from fleet_manager.site import load_site
from fleet_manager.site.model import Site
from sim.vda5050.factsheet import factsheet_body
from sim.vda5050.vehicle import SimVehicle

GRID = "type octile\nheight 3\nwidth 6\nmap\n......\n.@@@@.\n......\n"


class Loopback:
    """Carries JSON bytes between one master and in-process SimVehicles; records every message."""

    def __init__(self, site: Site) -> None:
        self.bus = EventBus()
        self.events: list[Event] = []
        self.bus.subscribe(self.events.append)
        self.master = Vda5050Master(site, AlarmRegistry(self.bus), self, validate_outgoing=False)
        self.vehicles: dict[str, SimVehicle] = {}
        self.sent: list[tuple[str, dict[str, Any]]] = []  # (subtopic, message) both directions

    def add(self, serial: str, start: int, version: str = "2.1") -> tuple[Vda5050RobotAdapter, SimVehicle]:
        adapter = self.master.add_robot(serial, start_node=start, version=version)
        codec = codec_for(version)
        address = VehicleAddress("WCS-SIM", serial, major_version=codec.major)
        stamper = m.HeaderStamper(address, codec.protocol_version)

        def emit(sub: str, body: dict[str, Any]) -> None:
            if sub == "factsheet":
                body = factsheet_body(vehicle.model, 1.0, version=version)
            msg = codec.encode(sub, {**stamper.header(sub), **body})
            self.sent.append((sub, msg))
            self.master.on_raw(address.topic(sub), json.dumps(msg).encode())

        vehicle = SimVehicle(adapter.site.robot_model, emit, codec=codec)
        self.vehicles[serial] = vehicle
        emit("connection", {"connectionState": "ONLINE"})
        vehicle.publish_state()
        self.master.pump()  # uninitialised state -> master answers with initPosition
        self.master.pump()
        assert adapter.online
        return adapter, vehicle

    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> None:
        address, sub = parse_topic(topic)
        msg = json.loads(payload)
        self.sent.append((sub, msg))
        self.vehicles[address.serial_number].handle(sub, msg)

    def run(self, adapter: Vda5050RobotAdapter, dt_s: float = 0.05, max_s: float = 30.0) -> None:
        vehicle = self.vehicles[adapter.id]
        t = 0.0
        while adapter.busy and t < max_s:
            vehicle.advance(dt_s)
            self.master.pump()
            t += dt_s
        assert not adapter.busy, "vehicle never finished"

    def alarms(self, code: str) -> list[Event]:
        return [e for e in self.events if e.topic == "alarm" and e.data["code"] == code]


@pytest.fixture
def site(tmp_path: Path) -> Site:
    (tmp_path / "loop.map").write_text(GRID)
    return load_site(tmp_path / "loop.map")


@pytest.fixture
def link(site: Site) -> Loopback:
    return Loopback(site)


def orders(link: Loopback) -> list[dict[str, Any]]:
    return [msg for sub, msg in link.sent if sub == "order"]


def test_adapter_satisfies_robot_adapter_protocol(link: Loopback) -> None:
    adapter, _ = link.add("AMR-001", 0)
    assert isinstance(adapter, RobotAdapter)
    assert adapter.status().node == 0 and adapter.status().online


@pytest.mark.parametrize("version", ["2.1", "3.0"])
def test_every_message_both_ways_matches_the_official_schema(link: Loopback, version: str) -> None:
    adapter, vehicle = link.add("AMR-001", 0, version)
    for nxt in (1, 2):
        adapter.move_to(nxt, horizon=[3, 4])
        link.run(adapter)
    adapter.lift_pod("P7")
    link.run(adapter)
    adapter.set_down_pod()
    link.run(adapter)
    adapter.start_charging()
    link.run(adapter)
    adapter.stop_charging()
    adapter.pause()
    adapter.resume()
    adapter.request_factsheet()
    adapter.cancel_order()
    adapter.init_position(2, 90.0)
    vehicle.advance(0.1)
    link.master.pump()
    kinds = {sub for sub, _ in link.sent}
    assert kinds == {"order", "instantActions", "state", "connection", "factsheet"}
    actions = {a["actionType"] for sub, msg in link.sent if sub == "instantActions" for a in msg["actions"]}
    assert actions >= {"startCharging", "stopCharging", "startPause", "stopPause",
                       "factsheetRequest", "cancelOrder", "initPosition"}
    bad = [(sub, check(sub, msg, version)) for sub, msg in link.sent if check(sub, msg, version)]
    assert bad == []
    assert {msg["version"] for _, msg in link.sent} == {f"{version}.0"}
    if version == "3.0":  # 3.0 wire names, checked beside the schema (which allows extras)
        sent = [msg for sub, msg in link.sent if sub == "instantActions"]
        assert {a["blockingType"] for msg in sent for a in msg["actions"]} == {"NONE"}
        states = [msg for sub, msg in link.sent if sub == "state"]
        assert all("batteryState" not in st and "powerSupply" in st for st in states)
        assert any(st["instantActionStates"] for st in states)
        edges = [e for msg in orders(link) for e in msg["edges"]]
        assert edges and all("maximumSpeed" in e and "startNodeId" not in e for e in edges)
    assert adapter.factsheet is not None
    assert adapter.factsheet["physicalParameters"]["speedMax"] == adapter.site.robot_model.speed_mps
    # The only alarm: cancelOrder with nothing left to cancel fails, as the standard says.
    assert [e.data["code"] for e in link.events] == ["vda5050.action_failed"]
    assert "noOrderToCancel" in link.events[0].data["message"]


def test_order_updates_extend_without_resending_released_nodes(link: Loopback) -> None:
    adapter, vehicle = link.add("AMR-001", 0)
    path = [1, 2, 3, 4, 5]
    for i, nxt in enumerate(path):
        adapter.move_to(nxt, horizon=path[i + 1:i + 3])
        # While the step is in flight, the vehicle shows the base node released, horizon not.
        released = {n["nodeId"]: n["released"] for n in vehicle.state()["nodeStates"]}
        assert released[m.node_id(nxt)] is True
        assert all(released[m.node_id(h)] is False for h in path[i + 1:i + 3])
        link.run(adapter)
        assert adapter.status().node == nxt and vehicle.last_node_id == m.node_id(nxt)
    sent = orders(link)
    assert len({o["orderId"] for o in sent}) == 1
    assert [o["orderUpdateId"] for o in sent] == [0, 1, 2, 3, 4]
    seen_released: set[tuple[str, int]] = set()
    for prev, upd in itertools.pairwise(sent):
        base = [n for n in upd["nodes"] if n["released"]]
        last_prev = [n for n in prev["nodes"] if n["released"]][-1]
        # Exactly the stitching node (the previous last base node) plus one new node.
        assert (base[0]["nodeId"], base[0]["sequenceId"]) == (last_prev["nodeId"], last_prev["sequenceId"])
        assert len(base) == 2 and base[1]["sequenceId"] == base[0]["sequenceId"] + 2
        new = (base[1]["nodeId"], base[1]["sequenceId"])
        assert new not in seen_released
        seen_released.add(new)
        assert upd["edges"][0]["released"] is True
    assert link.events == []


def test_stale_order_update_is_rejected_with_an_alarm_and_the_robot_carries_on(link: Loopback) -> None:
    adapter, vehicle = link.add("AMR-001", 0)
    for nxt in (1, 2):
        adapter.move_to(nxt)
        link.run(adapter)
    stale = dict(orders(link)[0])  # orderUpdateId 0 of the current order, re-delivered later
    stale["nodes"] = [dict(n) for n in stale["nodes"]]
    stale["orderUpdateId"] = 0
    vehicle.handle("order", stale)
    link.master.pump()
    (alarm,) = link.alarms("vda5050.orderUpdateError")
    assert alarm.data["resource_id"] == "robot:AMR-001"
    assert "stale orderUpdateId 0 < 1" in alarm.data["message"]
    assert alarm.data["message"].endswith("[field orderUpdateId]")
    assert vehicle.last_node_id == m.node_id(2) and vehicle.update_id == 1
    adapter.move_to(3)  # the order goes on with the next update id
    link.run(adapter)
    assert adapter.status().node == 3 and orders(link)[-1]["orderUpdateId"] == 2


def test_update_not_starting_at_the_stitching_node_is_rejected(link: Loopback) -> None:
    adapter, vehicle = link.add("AMR-001", 0)
    adapter.move_to(1)
    link.run(adapter)
    bogus = json.loads(json.dumps(orders(link)[-1]))
    bogus["orderUpdateId"] = 5
    bogus["nodes"] = bogus["nodes"][:1]  # starts at node 0 (seq 0), not at node 1 (seq 2)
    vehicle.handle("order", bogus)
    link.master.pump()
    assert [e["errorType"] for e in vehicle.errors] == ["orderUpdateError"]
    assert link.alarms("vda5050.orderUpdateError")
    assert vehicle.update_id == 0 and not vehicle.nodes


def test_rejected_incoming_messages_raise_alarms_naming_robot_and_field(link: Loopback) -> None:
    adapter, vehicle = link.add("AMR-001", 0)
    before = adapter.state
    state = {**m.HeaderStamper(adapter.address).header("state"), **vehicle.state()}
    state["batteryState"] = {"batteryCharge": "full", "charging": False}
    assert link.master.handle(adapter.address.topic("state"), json.dumps(state).encode()) is False
    (alarm,) = link.alarms("vda5050.schema_invalid")
    assert alarm.data["resource_id"] == "robot:AMR-001"
    assert "batteryState.batteryCharge" in alarm.data["message"]
    assert adapter.state is before  # nothing of the bad message was applied
    del state["batteryState"]
    link.master.handle(adapter.address.topic("state"), json.dumps(state).encode())
    assert "batteryState" in link.alarms("vda5050.schema_invalid")[-1].data["message"]
    ghost = {**state, "serialNumber": "GHOST-9", "batteryState": {"batteryCharge": 50, "charging": False}}
    assert not link.master.handle("uagv/v2/WCS-SIM/GHOST-9/state", json.dumps(ghost).encode())
    assert "GHOST-9" in link.alarms("vda5050.unknown_serial")[0].data["message"]
    assert not link.master.handle(adapter.address.topic("state"), b"{not json")
    assert link.alarms("vda5050.not_json")
    assert not link.master.handle(adapter.address.topic("state"), json.dumps(ghost).encode())
    assert link.alarms("vda5050.address_mismatch")
    assert not link.master.handle("uagv/v2/state", b"{}")
    assert link.master.stats.rejected == 6
    adapter.move_to(1)  # and the robot is still fully usable
    link.run(adapter)
    assert adapter.status().node == 1


def test_bad_commands_are_refused_before_anything_is_sent(link: Loopback, site: Site) -> None:
    adapter, _ = link.add("AMR-001", 0)
    n_sent = len(link.sent)
    with pytest.raises(CommandRejected, match="AMR-001.*not next to"):
        adapter.move_to(5)
    with pytest.raises(CommandRejected, match="no pod"):
        adapter.set_down_pod()
    assert len(link.sent) == n_sent
    strict = Vda5050Master(site, AlarmRegistry(EventBus()), link, validate_outgoing=True)
    with pytest.raises(SchemaViolation, match="orderUpdateId"):
        strict.send(adapter.address, "order", {"orderId": "x", "orderUpdateId": -1, "nodes": [], "edges": []})
    assert len(link.sent) == n_sent


def test_connection_loss_marks_offline_and_rejoin_reinitialises(link: Loopback) -> None:
    adapter, vehicle = link.add("AMR-001", 0)
    adapter.move_to(1)
    link.run(adapter)
    broken = {**m.HeaderStamper(adapter.address).header("connection"), "connectionState": "CONNECTIONBROKEN"}
    link.master.handle(adapter.address.topic("connection"), json.dumps(broken).encode())
    s = adapter.status()
    assert not s.online and s.node == 1 and link.alarms("vda5050.connectionbroken")
    with pytest.raises(CommandRejected, match="offline"):
        adapter.move_to(2)
    # A fresh vehicle process: uninitialised, no order. The master re-localises it at node 1.
    fresh = SimVehicle(vehicle.model, vehicle.emit)
    link.vehicles["AMR-001"] = fresh
    fresh.emit("connection", {"connectionState": "ONLINE"})
    fresh.publish_state()
    link.master.pump()
    link.master.pump()
    assert adapter.online and fresh.last_node_id == m.node_id(1)
    adapter.move_to(2)
    link.run(adapter)
    assert adapter.status().node == 2 and orders(link)[-1]["orderUpdateId"] == 0  # a new order


def test_vehicle_battery_pause_cancel_and_charging(link: Loopback) -> None:
    adapter, vehicle = link.add("AMR-001", 0)
    adapter.move_to(1, horizon=[2])
    adapter.pause()
    vehicle.advance(5.0)
    assert vehicle.pose.x == pytest.approx(0.5) and vehicle.soc_pct < 100.0
    adapter.resume()
    link.run(adapter)
    soc = vehicle.soc_pct
    vehicle.advance(60.0)
    assert vehicle.soc_pct < soc  # idle drain
    adapter.start_charging()
    link.run(adapter)
    low = vehicle.soc_pct
    vehicle.advance(60.0)
    assert vehicle.soc_pct > low
    link.master.pump()
    assert adapter.status().charging
    with pytest.raises(CommandRejected, match="charging"):
        adapter.move_to(2)
    adapter.stop_charging()
    vehicle.advance(0.05)
    link.master.pump()
    adapter.move_to(2)
    vehicle.advance(0.3)  # part-way along the edge
    adapter.cancel_order()
    vehicle.advance(5.0)
    link.master.pump()
    assert vehicle.last_node_id == m.node_id(2) and not vehicle.nodes  # stopped at the next node
    assert not adapter.busy and adapter.status().node == 2


def test_topic_layout() -> None:
    a = VehicleAddress("WCS-SIM", "AMR-001")
    assert a.topic("order") == "uagv/v2/WCS-SIM/AMR-001/order"
    assert parse_topic("uagv/v2/ACME/X1/state") == (VehicleAddress("ACME", "X1"), "state")
    with pytest.raises(TopicError):
        parse_topic("uagv/v2//X1/state")


def test_cli_bad_input_names_the_problem(capsys: pytest.CaptureFixture[str]) -> None:
    from sim.vda5050.__main__ import main

    assert main([]) == 2
    assert "no vehicles" in capsys.readouterr().err
    assert main(["--serial", "A", "--start", "3"]) == 2
    assert "--start needs --map" in capsys.readouterr().err
    assert main(["--serial", "A", "--serial", "A"]) == 2
    assert "duplicate" in capsys.readouterr().err


def test_a_silent_vehicle_is_treated_as_lost_until_it_reports_again(site: Site) -> None:
    now = [0.0]
    link = Loopback(site)
    link.master = Vda5050Master(site, AlarmRegistry(link.bus), link, state_timeout_s=5.0, clock=lambda: now[0])
    adapter, vehicle = link.add("AMR-001", 0)
    now[0] = 4.0
    link.master.pump()
    assert adapter.online and not link.alarms("vda5050.silent")
    now[0] = 6.0
    link.master.pump()
    assert not adapter.status().online
    assert "no state for 6.0 s" in link.alarms("vda5050.silent")[0].data["message"]
    vehicle.publish_state()
    link.master.pump()
    assert adapter.online and adapter.connection == "ONLINE"


@pytest.mark.parametrize("version", ["2.1", "3.0"])
def test_the_factsheet_sets_the_robots_speed(link: Loopback, version: str) -> None:
    """A slower vehicle says so in its factsheet: its model and its orders' maxSpeed follow it."""
    import dataclasses

    adapter, vehicle = link.add("SLOW-1", 0, version)
    site_speed = adapter.site.robot_model.speed_mps
    assert adapter.factsheet is not None  # asked for on first contact
    assert adapter.model.speed_mps == site_speed
    vehicle.model = dataclasses.replace(vehicle.model, speed_mps=site_speed / 3)
    adapter.request_factsheet()
    link.master.pump()
    assert adapter.model.speed_mps == pytest.approx(site_speed / 3)
    assert adapter.footprint_m == (1.0, 0.8) and adapter.max_load_kg == 500.0
    adapter.move_to(1)
    link.run(adapter)
    speed_key = "maximumSpeed" if version == "3.0" else "maxSpeed"
    assert [e[speed_key] for e in orders(link)[-1]["edges"]] == [pytest.approx(site_speed / 3)]


@pytest.mark.parametrize("version", ["2.1", "3.0"])
def test_technician_instant_actions_follow_the_factsheet(link: Loopback, version: str) -> None:
    adapter, _ = link.add("AMR-001", 0, version)
    assert "stateRequest" in adapter.instant_actions_offered()
    before = len(link.sent)
    aid = adapter.instant_action("stateRequest")
    link.master.pump()
    assert any(sub == "instantActions" and msg["actions"][0]["actionId"] == aid
               for sub, msg in link.sent[before:])
    assert any(a["actionId"] == aid and a["actionStatus"] == "FINISHED"
               for a in (adapter.state or {})["actionStates"])
    with pytest.raises(CommandRejected, match="not in its factsheet"):
        adapter.instant_action("startHibernation")


def test_a_vehicle_silent_past_its_rhythm_gets_no_new_order(site: Site) -> None:
    """A hung vehicle is busy (no orders go out) long before the silence timeout declares it
    lost; a vehicle that simply reports rarely is judged by its own rhythm."""
    now = [0.0]
    link = Loopback(site)
    link.master = Vda5050Master(site, AlarmRegistry(link.bus), link, state_timeout_s=10.0,
                                clock=lambda: now[0])
    adapter, vehicle = link.add("AMR-001", 0)
    for t in (0.5, 1.0, 1.5, 2.0):  # it reports every 0.5 s
        now[0] = t
        vehicle.publish_state()
        link.master.pump()
    assert not adapter.busy and adapter.online
    sent = len(link.sent)
    now[0] = 3.5  # 1.5 s without a state: three times its rhythm
    link.master.pump()
    assert adapter.busy and adapter.online  # not lost yet, but no new work
    assert adapter.status().busy
    assert len(link.sent) == sent
    vehicle.publish_state()
    link.master.pump()
    assert not adapter.busy
    slow, slow_vehicle = link.add("AMR-002", 5)
    for t in (10.0, 40.0, 70.0):  # reports every 30 s when idle: never lagging in between
        now[0] = t
        slow_vehicle.publish_state()
        link.master.pump()
    now[0] = 95.0
    assert not slow.lagging
