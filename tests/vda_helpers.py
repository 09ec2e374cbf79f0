"""Shared helpers of the VDA 5050 tests: a master on a real broker, vehicles in another process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from fleet_manager.alarms import AlarmRegistry
from fleet_manager.events import Event, EventBus
from fleet_manager.robots.vda5050.adapter import Vda5050RobotAdapter
from fleet_manager.robots.vda5050.broker import MosquittoBroker
from fleet_manager.robots.vda5050.master import Vda5050Master
from fleet_manager.robots.vda5050.transport import MqttTransport
from fleet_manager.site.model import Site

REPO = Path(__file__).resolve().parents[1]


def spawn(broker: MosquittoBroker, *serials: str) -> subprocess.Popen[bytes]:
    """A separate process hosting the given simulated VDA 5050 vehicles (no start node: the
    master sends initPosition)."""
    cmd = [sys.executable, "-m", "sim.vda5050", "--port", str(broker.port), "--time-scale", "25",
           "--state-interval-s", "0.5"]
    for s in serials:
        cmd += ["--serial", s]
    return subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL)


class MasterOnBroker:
    """A Vda5050Master (validating what it sends) on a real broker; every bus event is kept."""

    def __init__(self, site: Site, broker: MosquittoBroker) -> None:
        self.bus = EventBus()
        self.events: list[Event] = []
        self.bus.subscribe(self.events.append)
        self.master = Vda5050Master(site, AlarmRegistry(self.bus), validate_outgoing=True)
        self.transport = MqttTransport(broker.host, broker.port, self.master.on_raw).start()
        self.master.transport = self.transport


def wait_online(master: Vda5050Master, robots: list[Vda5050RobotAdapter], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not all(r.online for r in robots):
        assert time.monotonic() < deadline, f"not online: {[r.id for r in robots if not r.online]}"
        master.wait(0.2)


def kill_until_broken(proc: subprocess.Popen[bytes], robot: Vda5050RobotAdapter,
                      master: Vda5050Master, timeout_s: float = 10.0) -> None:
    """SIGKILL the vehicles' process and wait for the broker's last will to mark `robot` broken."""
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=5)
    deadline = time.monotonic() + timeout_s
    while robot.connection != "CONNECTIONBROKEN":
        assert time.monotonic() < deadline, "the broker never sent the last will"
        master.wait(0.2)
