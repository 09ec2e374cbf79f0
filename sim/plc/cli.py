"""`wcs sim-plc`: run the simulated PLC (Modbus TCP or RTU server + conveyor physics) as a process."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from fleet_manager.site import load_site
from fleet_manager.site.errors import MapError
from plc_bridge.config import PlcConfig, PlcConfigError, apply_site, load_plc_config
from plc_bridge.register_map import RegisterMapError
from sim.plc.program import PlcProgram
from sim.plc.server import FaultInjection, PlcServer
from sim.plc.sorter_physics import SimParams

EXIT_BAD_INPUT = 2


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("sim-plc", help="run a simulated PLC (Modbus TCP/RTU server)")
    p.add_argument("--config", required=True, help="PLC interface YAML (config/plc/*.yaml)")
    p.add_argument("--map", help="site map; its sorter geometry replaces the YAML's")
    p.add_argument("--host", help="TCP listen address (default: the config's host)")
    p.add_argument("--port", type=int, help="TCP port (default: the config's port)")
    p.add_argument("--rtu", metavar="DEVICE", help="serve Modbus RTU on this serial device")
    p.add_argument("--baudrate", type=int, help="RTU baud rate (default: the config's)")
    p.add_argument("--state-dir", help="directory for the command log and tracking-id state")
    p.add_argument(
        "--fsync",
        action="store_true",
        help="fsync the command log before each ack (power-cut durability)",
    )
    p.add_argument("--events-file", help="append PLC events (JSON lines) here")
    p.add_argument("--stats-file", help="write statistics (JSON) here every second and at exit")
    p.add_argument("--time-scale", type=float, default=1.0, help="simulated s per wall s")
    p.add_argument("--watchdog-s", type=float, help="override the config's watchdog period")
    p.add_argument("--delay-s", type=float, default=0.0, help="fault: reply delay")
    p.add_argument("--delay-rate", type=float, default=0.0, help="fault: share of replies delayed")
    p.add_argument(
        "--drop-rate",
        type=float,
        default=0.0,
        help="fault: share of requests executed but never answered",
    )
    p.add_argument(
        "--exception",
        action="append",
        default=[],
        metavar="ADDRESS:CODE",
        help="fault: answer requests touching ADDRESS with exception CODE",
    )
    p.add_argument(
        "--fault-blocks",
        default="",
        help="fault: delay/drop only requests that lie inside one of these blocks (comma list)",
    )
    p.add_argument("--fault-seed", type=int, default=0)
    p.add_argument(
        "--items",
        choices=("generated", "announced", "both"),
        default="generated",
        help="what reaches the scanner: a generated stream of labelled items (sim: section), "
        "only totes the WCS announces with the induct command (a real floor), or both",
    )
    p.add_argument(
        "--exit-with-parent",
        type=int,
        metavar="PID",
        help="stop when process PID (the one that started this PLC) is gone",
    )
    p.set_defaults(func=run_sim_plc)


def _faults(args: argparse.Namespace) -> FaultInjection:
    exceptions: dict[int, int] = {}
    for spec in args.exception:
        try:
            address, code = (int(v) for v in spec.split(":"))
        except ValueError:
            raise ValueError(f"--exception {spec!r}: expected ADDRESS:CODE, e.g. 20:2") from None
        if not 0 <= address <= 0xFFFF or not 1 <= code <= 0xFF:
            raise ValueError(f"--exception {spec!r}: address 0..65535, code 1..255")
        exceptions[address] = code
    for name in ("delay_rate", "drop_rate"):
        if not 0.0 <= getattr(args, name) <= 1.0:
            raise ValueError(f"--{name.replace('_', '-')} must be within 0..1")
    blocks = tuple(b for b in args.fault_blocks.split(",") if b)
    return FaultInjection(
        args.delay_s, args.delay_rate, args.drop_rate, exceptions, args.fault_seed, blocks
    )


def _configure(args: argparse.Namespace) -> tuple[PlcConfig, SimParams]:
    config = load_plc_config(args.config)
    if args.rtu:
        changes: dict[str, Any] = {"transport": "rtu", "serial_port": args.rtu}
        if args.baudrate:
            changes["baudrate"] = args.baudrate
        config = config.with_connection(**changes)
    else:
        changes = {"transport": "tcp"}
        if args.host:
            changes["host"] = args.host
        if args.port is not None:
            changes["port"] = args.port
        config = config.with_connection(**changes)
    if args.watchdog_s:
        config = replace(config, timing=replace(config.timing, watchdog_s=args.watchdog_s))
    if args.map:
        config = apply_site(config, load_site(args.map))
    try:
        params = SimParams.from_mapping(config.sim)
    except (TypeError, ValueError) as exc:
        raise PlcConfigError(config.source, "sim", str(exc)) from None
    if getattr(args, "items", "generated") == "announced":
        params = replace(params, induction_rate_per_h=0.0)
    return config, params


def run_sim_plc(args: argparse.Namespace) -> int:
    try:
        config, params = _configure(args)
        faults = _faults(args)
        for name in faults.blocks:
            if not config.registers.has(name):
                raise ValueError(f"--fault-blocks: the register map has no block {name!r}")
    except (PlcConfigError, RegisterMapError, MapError, ValueError, OSError) as exc:
        print(f"wcs sim-plc: {exc}".splitlines()[0], file=sys.stderr)
        return EXIT_BAD_INPUT
    state_dir = Path(args.state_dir) if args.state_dir else None
    if state_dir:
        state_dir.mkdir(parents=True, exist_ok=True)
    program = PlcProgram(
        config,
        config.sorter,
        params,
        state_dir,
        Path(args.events_file) if args.events_file else None,
        args.time_scale,
        args.fsync,
    )
    try:
        asyncio.run(_serve(program, config, faults, args.stats_file, args.exit_with_parent))
    except OSError as exc:
        print(f"wcs sim-plc: cannot serve {config.connection.describe()}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0


async def _serve(
    program: PlcProgram,
    config: PlcConfig,
    faults: FaultInjection,
    stats_file: str | None,
    parent_pid: int | None = None,
) -> None:
    server = PlcServer(program.memory, config.connection, faults)
    try:
        await server.start()
    except RuntimeError as exc:
        raise OSError(str(exc)) from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"READY {config.connection.describe()}", flush=True)
    cycle_s = program.params.cycle_s
    next_stats = time.monotonic() + 1.0
    try:
        while not stop.is_set():
            program.cycle()
            if time.monotonic() >= next_stats:
                next_stats = time.monotonic() + 1.0
                if stats_file:
                    _write_stats(stats_file, program, server)
                if parent_pid is not None and os.getppid() != parent_pid:
                    break  # orphaned: whoever started this PLC is gone
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), cycle_s)
    finally:
        if stats_file:
            _write_stats(stats_file, program, server)
        await server.stop()


def _write_stats(path: str, program: PlcProgram, server: PlcServer) -> None:
    stats = program.stats()
    s = server.stats
    stats["server"] = {
        "reads": s.reads,
        "writes": s.writes,
        "delayed": s.delayed,
        "dropped": s.dropped,
        "exceptions": s.exceptions,
    }
    tmp = Path(path).with_suffix(".tmp")
    tmp.write_text(json.dumps(stats))
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    """`python -m sim.plc.cli ...`: the same command without loading every other wcs command."""
    parser = argparse.ArgumentParser(prog="python -m sim.plc.cli")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["sim-plc", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
