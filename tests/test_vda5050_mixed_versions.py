"""A mixed 2.1 / 3.0 fleet on one real mosquitto: every message on the wire validates against its
own version's official schema; both versions drive, pause, resume and answer instant actions."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from vda_helpers import REPO, MasterOnBroker, kill_until_broken, wait_online

from fleet_manager.robots.vda5050.adapter import Vda5050RobotAdapter
from fleet_manager.robots.vda5050.broker import MosquittoBroker
from fleet_manager.robots.vda5050.master import Vda5050Master
from fleet_manager.robots.vda5050.schema import check
from fleet_manager.site import load_site
from fleet_manager.site.model import Site

GRID = "type octile\nheight 3\nwidth 8\nmap\n........\n.@@@@@@.\n........\n"
VERSION_OF_MAJOR = {"v2": "2.1", "v3": "3.0"}


@pytest.fixture
def site(tmp_path: Path) -> Site:
    (tmp_path / "loop.map").write_text(GRID)
    return load_site(tmp_path / "loop.map")


@pytest.fixture
def broker() -> Iterator[MosquittoBroker]:
    with MosquittoBroker() as b:
        yield b


def spawn(broker: MosquittoBroker, serial: str, version: str) -> subprocess.Popen[bytes]:
    """One vehicle process speaking `version` (real time, so a pause lands mid-edge)."""
    cmd = [sys.executable, "-m", "sim.vda5050", "--port", str(broker.port), "--time-scale", "1",
           "--state-interval-s", "0.5", "--serial", serial, "--version", version]
    return subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL)


def pump_until(master: Vda5050Master, cond: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        master.wait(0.05)


def pause_mid_edge_then_resume(master: Vda5050Master, robot: Vda5050RobotAdapter, node: int) -> None:
    robot.move_to(node)
    robot.pause()  # same connection, right behind the order: lands before the 1 m edge ends
    pump_until(master, lambda: robot.status().paused, 10, f"{robot.id} paused")
    assert robot.busy
    moved_m = (robot.state or {})["distanceSinceLastNode"]
    time.sleep(1.0)  # > the whole edge at full speed: a vehicle that ignored the pause arrives
    master.pump()
    assert robot.busy and robot.status().paused
    assert (robot.state or {})["distanceSinceLastNode"] == moved_m
    robot.resume()
    pump_until(master, lambda: not robot.busy, 15, f"{robot.id} arriving after resume")
    assert not robot.status().paused and robot.status().node == node


def test_mixed_fleet_every_message_valid_for_its_own_version(site: Site, broker: MosquittoBroker) -> None:
    mob = MasterOnBroker(site, broker)  # validates everything it sends
    wire: list[tuple[str, bytes]] = []
    spy = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="spy")
    spy.on_message = lambda _c, _u, msg: wire.append((msg.topic, msg.payload))
    spy.connect(broker.host, broker.port)
    spy.subscribe("uagv/#", qos=1)
    spy.loop_start()
    old = mob.master.add_robot("OLD-1", start_node=0, version="2.1")
    new = mob.master.add_robot("NEW-1", start_node=7, version="3.0")
    procs = [spawn(broker, "OLD-1", "2.1"), spawn(broker, "NEW-1", "3.0")]
    try:
        wait_online(mob.master, [old, new], 20)
        pause_mid_edge_then_resume(mob.master, old, 1)
        pause_mid_edge_then_resume(mob.master, new, 6)
        for robot in (old, new):
            robot.lift_pod(f"P-{robot.id}")
        pump_until(mob.master, lambda: not old.busy and not new.busy, 20, "both lifts")
        assert old.status().pod_id == "P-OLD-1" and new.status().pod_id == "P-NEW-1"
        for robot in (old, new):
            robot.request_factsheet()
            robot.request_state()
        pump_until(mob.master, lambda: old.factsheet is not None and new.factsheet is not None,
                   10, "both factsheets")
        assert new.factsheet is not None and new.factsheet["version"] == "3.0.0"
        assert new.factsheet["physicalParameters"]["speedMax"] == site.robot_model.speed_mps
        kill_until_broken(procs[1], new, mob.master)  # 3.0 will says CONNECTION_BROKEN
        assert not new.online and old.online
        time.sleep(0.3)  # let the spy catch the last messages
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=10)
        spy.loop_stop()
        spy.disconnect()
        mob.transport.stop()
    seen: set[tuple[str, str]] = set()
    for topic, payload in wire:
        major, sub = topic.split("/")[1], topic.rsplit("/", 1)[-1]
        version = VERSION_OF_MAJOR[major]
        msg = json.loads(payload)
        assert check(sub, msg, version) == [], (topic, check(sub, msg, version))
        assert msg["version"] == f"{version}.0", topic
        seen.add((major, sub))
    for major in ("v2", "v3"):
        assert {(major, s) for s in ("order", "instantActions", "state", "connection", "factsheet")} <= seen
    broken = [json.loads(p)["connectionState"] for t, p in wire if t.startswith("uagv/v3/") and t.endswith("/connection")]
    assert "CONNECTION_BROKEN" in broken
    assert mob.master.stats.rejected == 0
    assert [e.data["code"] for e in mob.events if e.topic == "alarm" and "schema" in e.data["code"]] == []


def test_a_vehicle_on_the_other_version_topic_is_refused(site: Site, broker: MosquittoBroker) -> None:
    """A 2.1-listed vehicle that shows up on uagv/v3 is a version mismatch, not a silent join."""
    mob = MasterOnBroker(site, broker)
    robot = mob.master.add_robot("OLD-1", start_node=0, version="2.1")
    proc = spawn(broker, "OLD-1", "3.0")
    try:
        pump_until(mob.master, lambda: any(e.topic == "alarm" and e.data["code"] == "vda5050.version_mismatch"
                                           for e in mob.events), 15, "a version_mismatch alarm")
        assert not robot.online and robot.state is None
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        mob.transport.stop()
