"""Sorter benchmark: 10,000 items/h, 20 lanes, bridge <-> simulated PLC process over TCP (and RTU).

Reports scan-to-divert-written latency (PLC side: scan posted -> divert write received; bridge
side: scan seen by the poll -> divert write answered), items sorted / missorted / recirculated /
rejected, and the raw Modbus round trip, for each transport side by side.

    .venv/bin/python benchmarks/sorter.py [--duration-s 30] [--time-scale 1] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import yaml

from fleet_manager.events import EventBus
from fleet_manager.sortation import LaneAssigner, SortPlan, demo_orders
from plc_bridge.config import load_plc_config
from plc_bridge.service import PlcBridgeService
from sim.plc.process import SimPlcProcess, VirtualSerialPair

REPO = Path(__file__).resolve().parents[1]

DEMO = REPO / "config" / "plc" / "demo-sorter.yaml"


def pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 3) if values else None


async def drive(cfg, seconds: float, plan: SortPlan) -> PlcBridgeService:
    service = PlcBridgeService(cfg, EventBus(), LaneAssigner(cfg.sorter.sorter.lanes, plan))
    await service.start()
    try:
        await asyncio.sleep(seconds)
    finally:
        await service.stop()
    return service


def run_variant(name: str, cfg_path: Path, args: argparse.Namespace, work: Path) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    base = load_plc_config(cfg_path)
    plan = SortPlan.from_orders(demo_orders(int(base.sim["orders"]), int(base.sim["seed"])))
    extra = ["--time-scale", str(args.time_scale)]
    if name == "tcp":
        with SimPlcProcess(cfg_path, extra=extra, workdir=work) as plc:
            cfg = base.with_connection(port=plc.port)
            service = asyncio.run(drive(cfg, args.duration_s, plan))
    else:
        with (
            VirtualSerialPair() as pair,
            SimPlcProcess(cfg_path, rtu=pair.ends[0], extra=extra, workdir=work) as plc,
        ):
            cfg = base.with_connection(transport="rtu", serial_port=pair.ends[1])
            service = asyncio.run(drive(cfg, args.duration_s, plan))
    stats = plc.stats()
    sim = stats["sorter"]
    plc_latency = [r[3] for r in sim["records"] if r[3] is not None]
    # Cross-check with the PLC's own record: each diverted item in the lane the WCS decided.
    lane_ids = [lane.id for lane in cfg.sorter.sorter.lanes]
    counters = service.sorter.counters
    bridge_latency = list(service.sorter.latency_ms)
    rtt = list(service.transport.rtt_ms)
    return {
        "items_inducted": sim["inducted"],
        "items_scanned": counters["scanned"],
        "items_sorted": counters["sorted"],
        "items_missorted": counters["missorted"],
        "items_recirculated": counters["recirculated"],
        "items_rejected": counters["rejected"],
        "items_lost": counters["lost"],
        "diverts_too_late": counters["divert_too_late"] + counters["divert_timeout"],
        "plc_diverted": sim["diverted"],
        "plc_lanes_used": len({lane_ids[r[2] - 1] for r in sim["records"]}),
        "scan_to_divert_written_ms_p50": pct(plc_latency, 50),
        "scan_to_divert_written_ms_p99": pct(plc_latency, 99),
        "scan_to_divert_written_ms_max": pct(plc_latency, 100),
        "bridge_seen_to_written_ms_p50": pct(bridge_latency, 50),
        "bridge_seen_to_written_ms_p99": pct(bridge_latency, 99),
        "modbus_rtt_ms_p50": pct(rtt, 50),
        "modbus_rtt_ms_p99": pct(rtt, 99),
        "modbus_requests": service.transport.requests,
        "modbus_failures": service.transport.failures,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--duration-s", type=float, default=30.0, help="wall seconds per variant")
    p.add_argument("--time-scale", type=float, default=1.0, help="simulated s per wall s")
    p.add_argument("--rate-per-h", type=float, default=10000.0)
    p.add_argument("--poll-period-s", type=float, default=0.01)
    p.add_argument("--variants", default="tcp,rtu")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    raw = yaml.safe_load(DEMO.read_text())
    raw["sim"]["induction_rate_per_h"] = args.rate_per_h
    raw["plc"]["timing"]["poll_period_s"] = args.poll_period_s
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="sorter-bench-") as tmp:
        cfg_path = Path(tmp) / "plc.yaml"
        cfg_path.write_text(yaml.safe_dump(raw))
        for name in args.variants.split(","):
            results[name] = run_variant(name, cfg_path, args, Path(tmp) / name)
    summary = {
        "rate_items_per_h": args.rate_per_h,
        "lanes": len(raw["sorter"]["lanes"]),
        "time_scale": args.time_scale,
        "duration_s_per_variant": args.duration_s,
        "poll_period_ms": args.poll_period_s * 1000,
        "load_average_1min": round(os.getloadavg()[0], 2),  # a busy machine widens the tail
        "variants": results,
    }
    if not args.json:
        keys = list(next(iter(results.values())).keys())
        print(
            f"sorter: {args.rate_per_h:.0f} items/h (simulated), {summary['lanes']} lanes, "
            f"time scale {args.time_scale}x, {args.duration_s:.0f} s wall per variant, "
            f"poll {args.poll_period_s * 1000:.0f} ms"
        )
        print(f"{'metric':34s}" + "".join(f"{n:>12s}" for n in results))
        for key in keys:
            print(f"{key:34s}" + "".join(f"{results[n][key]!s:>12s}" for n in results))
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
