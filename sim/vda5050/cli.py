"""`wcs sim-vda-robot`: run one or many simulated VDA 5050 vehicles against an MQTT broker."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fleet_manager.site.model import RobotModel, Site

EXIT_BAD_INPUT = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "sim-vda-robot", help="simulated VDA 5050 vehicle(s) speaking MQTT",
        description="Simulated VDA 5050 2.1 or 3.0 vehicles, one MQTT client (and last will) each, "
        "all hosted by this one process.",
    )
    p.add_argument("--host", default="127.0.0.1", help="MQTT broker host")
    p.add_argument("--port", type=int, default=1883, help="MQTT broker port")
    p.add_argument("--serial", action="append", default=[], help="serial number (repeatable)")
    p.add_argument("--count", type=int, default=0, help="add COUNT vehicles PREFIX001..")
    p.add_argument("--serial-prefix", default="AMR-", help="prefix for --count serials")
    p.add_argument("--manufacturer", default="WCS-SIM")
    p.add_argument("--interface-name", default="uagv")
    p.add_argument("--map", type=Path, help="site map: gives the RobotModel and --start positions")
    p.add_argument("--start", default="", help="comma-separated start nodes (needs --map); "
                   "without it vehicles wait for initPosition from the master")
    p.add_argument("--state-interval-s", type=float, default=1.0, help="periodic state rate")
    p.add_argument("--time-scale", type=float, default=1.0, help="simulated seconds per second")
    p.add_argument("--duration-s", type=float, default=0.0, help="stop after this long (0 = run)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--version", default="2.1", choices=("2.1", "3.0"),
                   help="VDA 5050 version spoken (topics uagv/v2/... or uagv/v3/...)")
    p.set_defaults(func=handle_sim_vda_robot)


def _fail(message: str) -> int:
    print(f"wcs sim-vda-robot: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def handle_sim_vda_robot(args: argparse.Namespace) -> int:
    from fleet_manager.site.model import RobotModel

    serials = list(args.serial) + [f"{args.serial_prefix}{i + 1:03d}" for i in range(max(args.count, 0))]
    if not serials:
        return _fail("no vehicles: give --serial NAME or --count N")
    if len(set(serials)) != len(serials):
        return _fail("duplicate serial numbers")
    if args.state_interval_s <= 0 or args.time_scale <= 0:
        return _fail("--state-interval-s and --time-scale must be > 0")
    starts: list[int | None] = [None] * len(serials)
    model = RobotModel()
    site = None
    if args.map is not None:
        from fleet_manager.site import MapError, load_site

        try:
            site = load_site(args.map)
        except MapError as exc:
            return _fail(f"bad --map: {exc}")
        model = site.robot_model
    if args.start:
        if site is None:
            return _fail("--start needs --map")
        try:
            nodes = [int(t) for t in args.start.split(",")]
        except ValueError:
            return _fail(f"--start {args.start!r} is not a comma-separated list of node ids")
        if len(nodes) != len(serials):
            return _fail(f"--start has {len(nodes)} nodes for {len(serials)} vehicles")
        bad = [n for n in nodes if not 0 <= n < site.num_nodes]
        if bad:
            return _fail(f"--start node {bad[0]} is not a node of {args.map} (0..{site.num_nodes - 1})")
        starts = list(nodes)
    return _run(args, serials, starts, model, site)


def _run(
    args: argparse.Namespace, serials: list[str], starts: list[int | None],
    model: RobotModel, site: Site | None,
) -> int:
    from fleet_manager.robots.vda5050.adapter import vda_xy
    from fleet_manager.robots.vda5050.codec import codec_for
    from sim.vda5050.host import VehicleHost, VehicleSpec

    specs = [
        VehicleSpec(s, n, vda_xy(site, n)) if n is not None else VehicleSpec(s)
        for s, n in zip(serials, starts, strict=True)
    ]
    host = VehicleHost(
        args.host, args.port, specs, model=model, manufacturer=args.manufacturer,
        interface_name=args.interface_name, state_interval_s=args.state_interval_s,
        time_scale=args.time_scale, seed=args.seed, codec=codec_for(args.version),
    )
    try:
        host.connect()
    except OSError as exc:
        return _fail(str(exc))
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    signal.signal(signal.SIGINT, lambda *_: stop.update(now=True))
    end = time.monotonic() + args.duration_s if args.duration_s > 0 else float("inf")
    print(f"sim-vda-robot: {len(specs)} vehicle(s) on {args.host}:{args.port}", flush=True)
    host.run(lambda: stop["now"] or time.monotonic() >= end)
    return 0
