"""`wcs sim-equipment PLANT`: virtual commissioning, a simulator for every device a plant names.

Each simulator is its own process, exactly where the plant file says: a mosquitto broker when a
fleet's broker URL is on loopback and nothing listens there, a `sim-plc` per Modbus TCP PLC, a
`sim-crane` per crane, and one `sim-vda-robot` process per listed VDA 5050 vehicle, placed on
the map. Then `wcs run --plant PLANT` in another shell controls them as if they were real. A
PLC or crane simulator that dies is started again after `--restart-after-s` (kill one to test
recovery); a vehicle is not (it would come back at its start cell, not where it died).
Ctrl-C or SIGTERM stops them all.
"""

from __future__ import annotations

import argparse
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from fleet_manager.child_process import die_with_parent
from fleet_manager.plant.cli import load_plant_or_report
from fleet_manager.plant.model import ModbusTcp, Plant, Vda5050Fleet
from fleet_manager.robots.vda5050.broker import MosquittoBroker
from fleet_manager.runtime.robots_option import free_start_nodes

EXIT_BAD_INPUT = 2
LOOPBACK = ("127.", "localhost", "::1")


@dataclass
class Simulator:
    """One simulator process: how to start it, and the running process."""

    name: str
    cmd: list[str]
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    restart: bool = True  # PLCs and cranes come back; a vehicle restarted would jump home

    def start(self, log_dir: Path) -> None:
        log = open(log_dir / f"{self.name}.log", "ab")  # noqa: SIM115 - the child owns it
        self.proc = subprocess.Popen(
            self.cmd, stdout=log, stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,  # noqa: PLW1509 - one libc call
        )
        log.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "sim-equipment",
        help="start a simulator for every device a plant file names (virtual commissioning)",
    )
    p.add_argument("plant", help="plant file (YAML), e.g. config/plants/loopback.yaml")
    p.add_argument("--time-scale", type=float, default=1.0,
                   help="simulated s per wall s for vehicles and PLCs (shortens travel times)")
    p.add_argument("--state-interval-s", type=float, default=0.5, help="vehicle state period")
    p.add_argument("--workdir", default=None, help="logs and PLC state (default: a temp dir)")
    p.add_argument("--restart-after-s", type=float, default=3.0,
                   help="start a dead simulator again after this long (0: never)")
    p.set_defaults(func=main)


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.3):
            return True
    except OSError:
        return False


def _wait_port(host: str, port: int, proc: subprocess.Popen[bytes], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if _listening(host, port):
            return True
        time.sleep(0.05)
    return False


def plan_simulators(plant: Plant, args: argparse.Namespace, workdir: Path) -> list[Simulator]:
    """The simulator processes for `plant` (brokers are started separately, first)."""
    py = [sys.executable, "-m"]
    sims: list[Simulator] = []
    map_path = str(plant.map_path)
    for plc in plant.plcs:
        if not isinstance(plc.link, ModbusTcp):
            print(f"sim-equipment: plc {plc.name}: {plc.link.describe()} is not simulated here "
                  "(serial links need `wcs sim-plc --rtu` on a socat pair)", file=sys.stderr)
            continue
        state = workdir / f"plc-{plc.name}"
        state.mkdir(parents=True, exist_ok=True)
        sims.append(Simulator(f"plc-{plc.name}", [
            *py, "sim.plc.cli", "--config", str(plc.register_map), "--map", map_path,
            "--host", plc.link.host, "--port", str(plc.link.port),
            "--time-scale", str(args.time_scale), "--state-dir", str(state / "state"),
            "--items", "announced",  # only the totes the WCS announces, as on a real floor
            "--events-file", str(state / "events.jsonl"),
        ]))
    for crane in plant.cranes:
        if not isinstance(crane.link, ModbusTcp):
            print(f"sim-equipment: crane {crane.name}: serial links are not simulated here",
                  file=sys.stderr)
            continue
        sims.append(Simulator(f"crane-{crane.name}", [
            *py, "sim.crane", "--config", str(crane.telegram_map),
            "--host", crane.link.host, "--port", str(crane.link.port),
            "--log", str(workdir / f"crane-{crane.name}.mailbox.jsonl"),
        ]))
    vda_fleets = [f for f in plant.fleets if isinstance(f, Vda5050Fleet) and f.serials]
    # One spread over every fleet's vehicles: two fleets (e.g. 2.1 and 3.0) never share a node.
    spread = iter(free_start_nodes(plant.site, sum(len(f.serials) for f in vda_fleets)))
    for fleet in vda_fleets:
        site = plant.site
        placed = {s: site.node_at[c] for s, c in fleet.start_cells.items()}
        for serial in fleet.serials:
            node = placed.get(serial)
            node = next(spread) if node is None else node
            sims.append(Simulator(f"vehicle-{serial}", [
                *py, "sim.vda5050", "--host", fleet.broker.host,
                "--port", str(fleet.broker.port), "--manufacturer", fleet.manufacturer,
                "--interface-name", fleet.interface_name, "--map", map_path,
                "--start", str(node), "--serial", serial,
                "--time-scale", str(args.time_scale),
                "--state-interval-s", str(args.state_interval_s),
                "--version", "3.0" if fleet.version.startswith("3") else "2.1",
            ], restart=False))
    return sims


def start_brokers(plant: Plant) -> list[MosquittoBroker]:
    """A mosquitto for each loopback broker URL nothing listens on yet."""
    brokers: list[MosquittoBroker] = []
    seen: set[tuple[str, int]] = set()
    for fleet in plant.fleets:
        if not isinstance(fleet, Vda5050Fleet):
            continue
        b = fleet.broker
        if (b.host, b.port) in seen:
            continue
        seen.add((b.host, b.port))
        if not b.host.startswith(LOOPBACK):
            print(f"sim-equipment: broker {b.url} is not on loopback: not started", flush=True)
        elif b.tls:
            print(f"sim-equipment: broker {b.url} wants TLS: start it yourself", flush=True)
        elif _listening(b.host, b.port):
            print(f"sim-equipment: broker {b.url} already listening: using it", flush=True)
        else:
            brokers.append(MosquittoBroker(port=b.port).start())
            print(f"sim-equipment: mosquitto on {b.host}:{b.port}", flush=True)
    return brokers


def main(args: argparse.Namespace) -> int:
    plant = load_plant_or_report(args.plant)
    if plant is None:
        return EXIT_BAD_INPUT
    if args.time_scale <= 0:
        print("wcs sim-equipment: --time-scale must be > 0", file=sys.stderr)
        return EXIT_BAD_INPUT
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="wcs-sim-equipment-"))
    workdir.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_a: stop.set())
    brokers: list[MosquittoBroker] = []
    sims: list[Simulator] = []
    try:
        brokers = start_brokers(plant)
        sims = plan_simulators(plant, args, workdir)
        for sim in sims:
            sim.start(workdir)
        for sim in sims:
            print(f"sim-equipment: {sim.name} pid {sim.proc.pid if sim.proc else '?'}", flush=True)
        print(f"sim-equipment: ready ({len(sims)} simulators, logs in {workdir}); Ctrl-C stops",
              flush=True)
        _watch(sims, workdir, stop, args.restart_after_s)
    except RuntimeError as exc:
        print(f"wcs sim-equipment: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    finally:
        for sim in reversed(sims):
            sim.stop()
        for broker in brokers:
            broker.stop()
        print("sim-equipment: stopped", flush=True)
    return 0


def _watch(sims: list[Simulator], workdir: Path, stop: threading.Event,
           restart_after_s: float) -> None:
    """Report dead simulators and start them again after `restart_after_s`."""
    died_at: dict[str, float] = {}
    while not stop.wait(0.2):
        now = time.monotonic()
        for sim in sims:
            if sim.proc is None or sim.proc.poll() is None:
                continue
            if sim.name not in died_at:
                died_at[sim.name] = now
                print(f"sim-equipment: {sim.name} exited with {sim.proc.returncode}", flush=True)
            if sim.restart and restart_after_s > 0 and now - died_at[sim.name] >= restart_after_s:
                del died_at[sim.name]
                sim.restarts += 1
                sim.start(workdir)
                print(f"sim-equipment: {sim.name} restarted, pid {sim.proc.pid}", flush=True)
