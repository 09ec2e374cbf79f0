"""`python -m plc_bridge`: run one PLC bridge on its own (tests, commissioning); prints status JSON."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys

from fleet_manager.events import EventBus
from fleet_manager.site import load_site
from fleet_manager.site.errors import MapError
from fleet_manager.sortation import LaneAssigner, SortPlan, demo_orders
from plc_bridge.config import PlcConfigError, apply_site, load_plc_config
from plc_bridge.register_map import RegisterMapError
from plc_bridge.service import PlcBridgeService


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m plc_bridge", description=__doc__)
    p.add_argument("--config", required=True)
    p.add_argument("--map", help="take the sorter geometry from this site map")
    p.add_argument("--port", type=int, help="override the TCP port")
    p.add_argument("--rtu", metavar="DEVICE", help="connect over Modbus RTU on this device")
    p.add_argument(
        "--demo-orders",
        type=int,
        default=400,
        help="sort plan: the seeded demo order book with this many orders",
    )
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--status-period-s", type=float, default=1.0)
    p.add_argument("--no-auto-start", action="store_true")
    args = p.parse_args(argv)
    try:
        config = load_plc_config(args.config)
        if args.map:
            config = apply_site(config, load_site(args.map))
    except (PlcConfigError, RegisterMapError, MapError) as exc:
        print(f"plc_bridge: {exc}".splitlines()[0], file=sys.stderr)
        return 2
    if args.rtu:
        config = config.with_connection(transport="rtu", serial_port=args.rtu)
    elif args.port is not None:
        config = config.with_connection(transport="tcp", port=args.port)
    bus = EventBus()
    bus.subscribe(
        lambda e: (
            print(json.dumps({"event": e.as_dict()}), flush=True)
            if e.topic in ("alarm", "conveyor", "lane")
            else None
        )
    )
    assigner = None
    if config.sorter:
        plan = SortPlan.from_orders(demo_orders(args.demo_orders, args.seed))
        assigner = LaneAssigner(config.sorter.sorter.lanes, plan)
    service = PlcBridgeService(config, bus, assigner, auto_start=not args.no_auto_start)
    asyncio.run(_run(service, args.status_period_s))
    return 0


async def _run(service: PlcBridgeService, period_s: float) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await service.start()
    try:
        while not stop.is_set():
            print(json.dumps({"status": service.status()}), flush=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), period_s)
    finally:
        await service.stop()


if __name__ == "__main__":
    sys.exit(main())
