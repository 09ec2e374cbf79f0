"""Simulator speed: simulated seconds per wall second on the demo map with 30, 100 and 300 AMRs.

Each variant warms up (distance tables, first assignments) for `--warmup-s` simulated seconds,
then times `--sim-s` simulated seconds. Target: >= 200 sim s per wall s with 100 robots.

    .venv/bin/python benchmarks/sim_speed.py [--robots 30 100 300] [--sim-s 600] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fleet_manager.site.loader import load_site
from sim.world import Simulation

TARGET_SIM_S_PER_WALL_S = 200.0  # with 100 robots


def measure(
    site_path: Path, robots: int, warmup_s: float, sim_s: float, seed: int
) -> dict[str, object]:
    site = load_site(site_path)
    sim = Simulation(site, seed=seed, robots=robots)
    sim.run_until(warmup_s)
    ticks0 = sim.dispatcher.motion.steps
    start = time.perf_counter()
    sim.run_until(warmup_s + sim_s)
    wall = time.perf_counter() - start
    ticks = sim.dispatcher.motion.steps - ticks0
    k = sim.kpis()
    return {
        "robots": robots,
        "sim_s": sim_s,
        "wall_s": round(wall, 3),
        "sim_s_per_wall_s": round(sim_s / wall, 1),
        "ms_per_tick": round(1000 * wall / max(1, ticks), 3),
        "tick_s": round(sim.tick_s, 4),
        "units_per_h": k["units_per_h"],
        "conflicts": k["conflicts"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--map", default=str(REPO / "maps" / "demo.yaml"))
    parser.add_argument("--robots", type=int, nargs="+", default=[30, 100, 300])
    parser.add_argument("--warmup-s", type=float, default=120.0)
    parser.add_argument("--sim-s", type=float, default=600.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = [measure(Path(args.map), n, args.warmup_s, args.sim_s, args.seed) for n in args.robots]
    at_100 = next((r["sim_s_per_wall_s"] for r in rows if r["robots"] == 100), None)
    result = {
        "map": Path(args.map).name,
        "variants": rows,
        "target_sim_s_per_wall_s_at_100_robots": TARGET_SIM_S_PER_WALL_S,
        "meets_target": at_100 is not None and at_100 >= TARGET_SIM_S_PER_WALL_S,
    }
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{'robots':>6} {'sim s/wall s':>12} {'ms/tick':>8} {'units/h':>8} {'conflicts':>9}")
    for r in rows:
        print(
            f"{r['robots']:>6} {r['sim_s_per_wall_s']:>12} {r['ms_per_tick']:>8} {r['units_per_h']:>8} "
            f"{r['conflicts']:>9}"
        )
    print(
        f"target >= {TARGET_SIM_S_PER_WALL_S} sim s/wall s at 100 robots: "
        f"{'met' if result['meets_target'] else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
