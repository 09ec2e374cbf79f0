"""`wcs sim-crane` / `python -m sim.crane`: run the simulated crane PLC until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import replace
from pathlib import Path

from plc_bridge.config import PlcConfig, PlcConfigError, load_plc_config
from plc_bridge.register_map import RegisterMapError
from sim.crane.server import (
    SimCraneConfigError,
    SimCranePlc,
    SimCraneSettings,
    parse_fault,
    settings_from_config,
)
from sim.plc.server import FaultInjection

EXIT_BAD_INPUT = 2


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default="config/plc/demo-crane.yaml", help="crane PLC YAML")
    p.add_argument("--host", default=None, help="override plc.connection.host")
    p.add_argument("--port", type=int, default=None, help="override plc.connection.port")
    p.add_argument("--time-scale", type=float, default=None, help="simulated s per wall s")
    p.add_argument("--fault", action="append", default=[], metavar="CMD:PHASE:CODE",
                   help="fault the CMD-th move in PHASE (to_source|pick|to_target|place)")
    p.add_argument("--drop-rate", type=float, default=0.0,
                   help="share of Modbus requests executed but never answered (tests retries)")
    p.add_argument("--seed", type=int, default=0, help="seed of the dropped replies")
    p.add_argument("--log", default=None, help="mailbox log: executed telegrams survive a restart")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("sim-crane", help="run a simulated stacker crane PLC (Modbus TCP)")
    add_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        import plc_bridge.crane_telegram  # noqa: F401  (crane block kinds must exist before parsing)

        cfg = load_plc_config(args.config)
        if args.port is not None:
            cfg = cfg.with_connection(port=args.port)
        if args.host is not None:
            cfg = cfg.with_connection(host=args.host)
        settings = settings_from_config(cfg)
        if args.time_scale is not None:
            if args.time_scale <= 0:
                raise SimCraneConfigError("--time-scale must be positive")
            settings = replace(settings, time_scale=args.time_scale)
        settings.faults += [parse_fault(f) for f in args.fault]
        if not 0.0 <= args.drop_rate < 1.0:
            raise SimCraneConfigError(f"--drop-rate {args.drop_rate} must be in [0, 1)")
        for name in ("crane_command", "crane_ack", "crane_status"):
            cfg.registers.block(name)
    except (PlcConfigError, RegisterMapError, SimCraneConfigError, KeyError) as exc:
        print(f"sim-crane: {str(exc).strip(chr(34))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        wire = FaultInjection(drop_rate=args.drop_rate, seed=args.seed)
        asyncio.run(_serve(cfg, settings, Path(args.log) if args.log else None, wire))
    except KeyboardInterrupt:
        return 0
    return 0


async def _serve(cfg: PlcConfig, settings: SimCraneSettings, log_path: Path | None,
                 wire: FaultInjection) -> None:
    plc = SimCranePlc(cfg, settings, log_path, wire)
    await plc.start()
    print(f"sim-crane listening on {cfg.connection.describe()}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await plc.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.crane", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))
