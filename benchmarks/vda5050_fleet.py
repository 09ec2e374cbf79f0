"""VDA 5050 fleet benchmark: 50 and 200 simulated vehicles on one mosquitto broker.

Each variant starts a broker, spreads the vehicles over a few `python -m sim.vda5050` host
processes (one MQTT client and last will per vehicle), localises them with initPosition, then
runs the lockstep errand loop (traffic planner + validate_step every tick) for a fixed number of
ticks. Reported: master message rates, state-to-decision latency (receive time of the last
arrival state of a tick -> every move of the next tick published), tick time, moves, conflicts.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from fleet_manager.alarms import AlarmRegistry
from fleet_manager.events import EventBus
from fleet_manager.robots.vda5050.broker import MosquittoBroker
from fleet_manager.robots.vda5050.master import Vda5050Master
from fleet_manager.robots.vda5050.transport import MqttTransport
from fleet_manager.site import load_site
from sim.vda5050.errands import LockstepFleet

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MAP = REPO.parent / "shared/benchmarks/maps/movingai/warehouse-10-20-10-2-1.map"


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def run_variant(args: argparse.Namespace, n_robots: int, validate_out: bool) -> dict[str, Any]:
    site = load_site(args.map)
    rng = np.random.default_rng(args.seed)
    nodes = rng.permutation(site.num_nodes)
    starts, pods = nodes[:n_robots], nodes[n_robots:]
    stations = [int(s) for s in rng.choice(pods, 4, replace=False)]
    serials = [f"AMR-{i + 1:03d}" for i in range(n_robots)]
    alarms = AlarmRegistry(EventBus())
    with MosquittoBroker() as broker:
        master = Vda5050Master(site, alarms, validate_outgoing=validate_out)
        transport = MqttTransport(broker.host, broker.port, master.on_raw).start()
        master.transport = transport
        robots = [master.add_robot(s, start_node=int(n)) for s, n in zip(serials, starts, strict=True)]
        per = -(-n_robots // args.processes)
        procs = []
        for k in range(0, n_robots, per):
            cmd = [sys.executable, "-m", "sim.vda5050", "--port", str(broker.port),
                   "--time-scale", str(args.time_scale), "--state-interval-s", str(args.state_interval_s),
                   "--seed", str(k)]
            for s in serials[k:k + per]:
                cmd += ["--serial", s]
            procs.append(subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL))
        try:
            deadline = time.monotonic() + 60
            while not all(r.online for r in robots):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{sum(not r.online for r in robots)} vehicles never came online")
                master.wait(0.2)
            fleet = LockstepFleet(site, robots, master=master, seed=args.seed, arrive_timeout_s=10.0)
            pod_iter = iter(int(p) for p in pods)
            for _ in range(n_robots):
                fleet.add_errand(f"P{len(fleet.errands)}", next(pod_iter), stations[len(fleet.errands) % 4], 1)
            for _ in range(args.warmup_ticks):  # first goals: the planner builds its distance tables
                fleet.tick()
            for series in (fleet.stats.decision_ms, fleet.stats.plan_ms, fleet.stats.command_ms):
                series.clear()
            moves0, ticks0 = fleet.stats.moves, fleet.stats.ticks
            m_in0, m_out0 = master.stats.messages_in, master.stats.messages_out
            tick_s: list[float] = []
            t0 = time.perf_counter()
            for _ in range(args.ticks):
                t = time.perf_counter()
                fleet.tick()
                tick_s.append(time.perf_counter() - t)
            wall_s = time.perf_counter() - t0
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(timeout=20)
            transport.stop()
    st = fleet.stats
    return {
        "robots": n_robots,
        "validate_outgoing": validate_out,
        "ticks": st.ticks - ticks0,
        "wall_s": round(wall_s, 2),
        "msgs_in_per_s": round((master.stats.messages_in - m_in0) / wall_s, 1),
        "msgs_out_per_s": round((master.stats.messages_out - m_out0) / wall_s, 1),
        "decision_latency_ms_p50": round(pct(st.decision_ms, 50), 2),
        "decision_latency_ms_p99": round(pct(st.decision_ms, 99), 2),
        "plan_ms_p50": round(pct(st.plan_ms, 50), 2),
        "command_ms_p50": round(pct(st.command_ms, 50), 2),
        "tick_ms_p50": round(pct([t * 1e3 for t in tick_s], 50), 1),
        "moves_per_tick": round((st.moves - moves0) / max(st.ticks - ticks0, 1), 1),
        "errands_done": sum(e.stage == "done" for e in fleet.errands),
        "conflicts": len(st.conflicts),
        "arrival_timeouts": st.arrival_timeouts,
        "rejected_msgs": master.stats.rejected,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--robots", default="50,200", help="comma-separated fleet sizes")
    p.add_argument("--ticks", type=int, default=40, help="measured ticks")
    p.add_argument("--warmup-ticks", type=int, default=5, help="ticks run before measuring")
    p.add_argument("--processes", type=int, default=4, help="vehicle host processes per variant")
    p.add_argument("--time-scale", type=float, default=25.0)
    p.add_argument("--state-interval-s", type=float, default=1.0)
    p.add_argument("--map", type=Path, default=DEFAULT_MAP)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    if not args.map.exists():
        print(f"vda5050_fleet: map {args.map} not found", file=sys.stderr)
        return 2
    rows = [run_variant(args, int(n), v) for n in args.robots.split(",") for v in (True, False)]
    if args.json:
        print(json.dumps({"benchmark": "vda5050_fleet", "map": args.map.name, "variants": rows}))
        return 0
    keys = list(rows[0])
    print(f"VDA 5050 fleet on {args.map.name}: {args.ticks} measured lockstep ticks after "
          f"{args.warmup_ticks} warm-up, time scale {args.time_scale}, {args.processes} vehicle processes")
    print(" | ".join(keys))
    for r in rows:
        print(" | ".join(str(r[k]) for k in keys))
    return 0


if __name__ == "__main__":
    sys.exit(main())
