"""Demo component: simulated VDA 5050 vehicles (child process) on a throwaway MQTT broker.

`wcs run --robots vda5050[:N]` starts a mosquitto broker on a free loopback port, one child
process (`wcs sim-vda-robot`) hosting N vehicles placed on free aisle cells of the map, and the
master side (paho transport + Vda5050Master). The vehicles join the Simulation beside the
in-process robots through `sim_factory` (extra_robots + lockstep hooks): the dispatcher treats
them like any other robot. Messages are handled on the control thread only (`before_tick`).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from fleet_manager.alarms import AlarmRegistry
from fleet_manager.child_process import die_with_parent
from fleet_manager.events import EventBus
from fleet_manager.robots.vda5050.adapter import Vda5050RobotAdapter
from fleet_manager.robots.vda5050.broker import MosquittoBroker
from fleet_manager.robots.vda5050.master import Vda5050Master
from fleet_manager.robots.vda5050.sim_link import Vda5050Lockstep
from fleet_manager.runtime.robots_option import free_start_nodes
from fleet_manager.site.model import Site

REPO = Path(__file__).resolve().parents[2]
ONLINE_TIMEOUT_S = 20.0


class VdaFleet:
    """Broker, child process and master for N simulated VDA 5050 vehicles."""

    def __init__(
        self, site: Site, map_path: Path, count: int, *, speed: float = 1.0,
        serial_prefix: str = "VDA-", state_interval_s: float = 0.5,
    ) -> None:
        self.site, self.map_path, self.count = site, Path(map_path), count
        self.time_scale = speed if speed > 0 else 50.0  # vehicles keep pace with the sim clock
        self.serials = [f"{serial_prefix}{i + 1:03d}" for i in range(count)]
        self.starts = free_start_nodes(site, count)
        self.state_interval_s = state_interval_s
        self.broker: MosquittoBroker | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.transport: Any = None
        self.master: Vda5050Master | None = None
        self.adapters: list[Vda5050RobotAdapter] = []
        self.link: Vda5050Lockstep | None = None

    # ---- bring-up (before the Runtime is built) -------------------------------------------
    def start_fleet(self, timeout_s: float = ONLINE_TIMEOUT_S) -> VdaFleet:
        """Broker, master, vehicles; returns once every vehicle is online (RuntimeError if not)."""
        from fleet_manager.robots.vda5050.transport import MqttTransport, TransportError

        try:
            self.broker = MosquittoBroker().start()
            # Alarms go to the simulation's registry once it exists (see sim_factory).
            self.master = Vda5050Master(self.site, AlarmRegistry(EventBus()))
            self.adapters = [
                self.master.add_robot(s, start_node=n) for s, n in zip(self.serials, self.starts, strict=True)
            ]
            self.transport = MqttTransport(
                self.broker.host, self.broker.port, self.master.on_raw
            ).start()
            self.master.transport = self.transport
            self.proc = self.spawn()
            deadline = time.monotonic() + timeout_s
            while not all(a.online for a in self.adapters):
                if self.proc.poll() is not None:
                    raise RuntimeError(f"VDA 5050 vehicle process exited with {self.proc.returncode}")
                if time.monotonic() > deadline:
                    late = [a.id for a in self.adapters if not a.online]
                    raise RuntimeError(f"VDA 5050 vehicles not online within {timeout_s} s: {late}")
                self.master.wait(0.2)
        except (RuntimeError, TransportError) as exc:
            self.stop()
            raise RuntimeError(f"VDA 5050 fleet did not start: {exc}") from exc
        self.link = Vda5050Lockstep(self.master, self.adapters)
        return self

    def spawn(self) -> subprocess.Popen[bytes]:
        """The vehicles' process (also used to restart it); output goes to our stderr."""
        assert self.broker is not None
        cmd = [
            sys.executable, "-m", "sim.vda5050", "--port", str(self.broker.port),
            "--map", str(self.map_path), "--start", ",".join(map(str, self.starts)),
            "--time-scale", str(self.time_scale), "--state-interval-s", str(self.state_interval_s),
        ]
        for serial in self.serials:
            cmd += ["--serial", serial]
        return subprocess.Popen(
            cmd, cwd=REPO, stdout=subprocess.DEVNULL, preexec_fn=die_with_parent  # noqa: PLW1509
        )

    def sim_factory(self, site: Site, **kwargs: Any) -> Any:
        """Equipment.build_plane: the Simulation with these vehicles as extra robots."""
        from sim.world import Simulation

        assert self.master is not None and self.link is not None, "call start_fleet() first"
        sim = Simulation(
            site, extra_robots=list(self.adapters), before_tick=self.link.before_tick,
            after_moves=self.link.after_moves, **kwargs,
        )
        self.master.alarms = sim.alarms  # vehicle alarms land in /api/v1/alarms
        return sim

    def summary(self) -> str:
        states = [a.connection for a in self.adapters]
        online = sum(a.online for a in self.adapters)
        port = self.broker.port if self.broker else "?"
        return f"vda5050: {online}/{len(states)} online on 127.0.0.1:{port}"

    # ---- Component -------------------------------------------------------------------------
    def start(self, _runtime: Any) -> None:
        """Everything was started by start_fleet() (the Simulation needed the adapters)."""

    def stop(self) -> None:
        if self.link is not None:
            self.link.stopped = True  # the control thread must not wait for arrivals any more
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # vehicles go OFFLINE cleanly
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.transport is not None:
            self.transport.stop()
            self.transport = None
        if self.broker is not None:
            self.broker.stop()
            self.broker = None
