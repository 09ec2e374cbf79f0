"""Bad VDA 5050 input on a live broker: rejected with alarms while the fleet keeps working."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import paho.mqtt.client as mqtt

from fleet_manager.alarms import AlarmRegistry
from fleet_manager.domain import TaskState
from fleet_manager.events import Event, EventBus
from fleet_manager.robots.vda5050 import messages as m
from fleet_manager.robots.vda5050.adapter import vda_xy
from fleet_manager.robots.vda5050.broker import MosquittoBroker
from fleet_manager.robots.vda5050.master import Vda5050Master
from fleet_manager.robots.vda5050.schema import check
from fleet_manager.robots.vda5050.topics import VehicleAddress
from fleet_manager.robots.vda5050.transport import MqttTransport
from fleet_manager.site import load_site
from sim.vda5050.errands import LockstepFleet
from sim.vda5050.vehicle import SimVehicle

REPO = Path(__file__).resolve().parents[1]
GRID = "type octile\nheight 5\nwidth 10\nmap\n..........\n.@@@..@@@.\n..........\n.@@@..@@@.\n..........\n"


def test_invalid_state_stale_update_and_unknown_serial_leave_the_fleet_running(tmp_path: Path) -> None:
    (tmp_path / "g.map").write_text(GRID)
    site = load_site(tmp_path / "g.map")
    events: list[Event] = []
    bus = EventBus()
    bus.subscribe(events.append)

    def alarms(code: str) -> list[Event]:
        return [e for e in events if e.topic == "alarm" and e.data["code"] == code]

    with MosquittoBroker() as broker:
        master = Vda5050Master(site, AlarmRegistry(bus), validate_outgoing=True)
        transport = MqttTransport(broker.host, broker.port, master.on_raw).start()
        master.transport = transport
        robots = [master.add_robot(s, start_node=site.node_at[(x, 4)]) for s, x in (("AMR-001", 0), ("AMR-002", 9))]
        proc = subprocess.Popen(
            [sys.executable, "-m", "sim.vda5050", "--port", str(broker.port), "--serial", "AMR-001",
             "--serial", "AMR-002", "--time-scale", "25", "--state-interval-s", "0.5"],
            cwd=REPO, stdout=subprocess.DEVNULL,
        )
        rogue = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="rogue")
        rogue.connect(broker.host, broker.port)
        rogue.loop_start()
        try:
            deadline = time.monotonic() + 15
            while not all(r.online for r in robots):
                assert time.monotonic() < deadline
                master.wait(0.2)
            fleet = LockstepFleet(site, robots, master=master, bus=bus, seed=1)
            errands = [fleet.add_errand(f"P{i}", site.node_at[xy], site.node_at[(4, 2)])
                       for i, xy in enumerate([(0, 0), (9, 0), (0, 2), (9, 2)])]
            victim = robots[0]
            for _ in range(100):
                fleet.tick()
                if victim.tracker.active and victim.tracker.update_id >= 1 and victim.busy is False:
                    break
            assert victim.tracker.update_id >= 1

            # 1) schema-invalid state for a known robot
            vehicle = SimVehicle(site.robot_model, lambda *_: None)
            bad_state = {**m.HeaderStamper(victim.address).header("state"), **vehicle.state()}
            bad_state["lastNodeSequenceId"] = "three"
            rogue.publish(victim.address.topic("state"), json.dumps(bad_state), qos=1)
            # 2) a well-formed state from a vehicle nobody registered
            ghost = VehicleAddress("WCS-SIM", "GHOST-9")
            ghost_state = {**m.HeaderStamper(ghost).header("state"), **vehicle.state()}
            assert check("state", ghost_state) == []
            rogue.publish(ghost.topic("state"), json.dumps(ghost_state), qos=1)
            # 3) an order update with a stale orderUpdateId for the victim's current order
            here = victim.status().node
            stale = {**m.HeaderStamper(victim.address).header("order"),
                     "orderId": victim.tracker.order_id, "orderUpdateId": 0,
                     "nodes": [m.order_node(here, 0, True, vda_xy(site, here))], "edges": []}
            assert check("order", stale) == []
            rogue.publish(victim.address.topic("order"), json.dumps(stale), qos=1)

            deadline = time.monotonic() + 10
            while not (alarms("vda5050.schema_invalid") and alarms("vda5050.unknown_serial")
                       and alarms("vda5050.orderUpdateError")):
                assert time.monotonic() < deadline, [e.data["code"] for e in events if e.topic == "alarm"]
                master.wait(0.2)
            assert fleet.run(max_ticks=400), [e.stage for e in errands]
        finally:
            rogue.loop_stop()
            rogue.disconnect()
            proc.terminate()
            proc.wait(timeout=10)
            transport.stop()

    (bad,) = alarms("vda5050.schema_invalid")
    assert bad.data["resource_id"] == "robot:AMR-001" and "lastNodeSequenceId" in bad.data["message"]
    assert "GHOST-9" in alarms("vda5050.unknown_serial")[0].data["message"]
    (stale_alarm,) = alarms("vda5050.orderUpdateError")
    assert stale_alarm.data["resource_id"] == "robot:AMR-001"
    assert "stale orderUpdateId 0" in stale_alarm.data["message"]
    assert all(e.task.state == TaskState.DONE for e in errands)
    assert fleet.stats.conflicts == [] and fleet.stats.arrival_timeouts == 0
