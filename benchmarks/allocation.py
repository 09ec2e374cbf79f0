"""Allocation speed: cost matrix + assignment for 200 robots x 1,000 tasks on the demo map.

Robots stand on random aisle cells, tasks are pod fetches from random storage slots to random
stations (seeded). Times the vectorised cost matrix (cold: distance tables built; warm: cached)
and each assignment policy. Target: < 0.5 s for build + batch assignment (warm).

    .venv/bin/python benchmarks/allocation.py [--robots 200] [--tasks 1000] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fleet_manager.allocation import (
    INFEASIBLE,
    POLICIES,
    CostModel,
    RobotView,
    TaskView,
    make_assignment_policy,
)
from fleet_manager.site.loader import load_site
from fleet_manager.site.model import Site
from fleet_manager.traffic.graph import MotionGraph

TARGET_S = 0.5


def problem(
    site_path: Path, n_robots: int, n_tasks: int, seed: int
) -> tuple[Site, list[RobotView], list[TaskView]]:
    site = load_site(site_path)
    rng = np.random.default_rng(seed)
    aisles = np.array([v for v, k in site.graph.nodes(data="kind") if k == "aisle"])
    slots = np.array([s.node for s in site.slots.values()])
    stations = np.array([s.node for s in site.stations.values()])
    robots = [
        RobotView(f"R{i}", int(v), float(rng.uniform(0.3, 1.0)))
        for i, v in enumerate(rng.choice(aisles, size=n_robots, replace=n_robots > aisles.size))
    ]
    pick = rng.choice(slots, size=n_tasks)
    drop = rng.choice(stations, size=n_tasks)
    work = rng.integers(20, 120, size=n_tasks)  # pod -> station -> storage, cells
    tasks = [
        TaskView(f"T{i}", int(p), int(p), work_cells=float(w), service_s=20.0, wait_s=float(s % 7))
        for i, (p, s, w) in enumerate(zip(pick, drop, work, strict=True))
    ]
    return site, robots, tasks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--map", default=str(REPO / "maps" / "demo.yaml"))
    parser.add_argument("--robots", type=int, default=200)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    site, robots, tasks = problem(Path(args.map), args.robots, args.tasks, args.seed)
    graph = MotionGraph.from_site(site)
    costs = CostModel(
        graph,
        site.robot_model,
        site.cell_size_m / site.robot_model.speed_mps,
        [c.node for c in site.chargers.values()],
    )
    t0 = time.perf_counter()
    cost = costs.matrix(robots, tasks)
    cold_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    cost = costs.matrix(robots, tasks)
    warm_s = time.perf_counter() - t0
    rows = []
    for name in POLICIES:
        policy = make_assignment_policy(name)
        t0 = time.perf_counter()
        pairs = policy.assign(cost)
        assign_s = time.perf_counter() - t0
        total = float(sum(cost[r, t] for r, t in pairs))
        rows.append(
            {
                "policy": name,
                "assign_s": round(assign_s, 4),
                "pairs": len(pairs),
                "total_cost_s": round(total, 1),
                "build_plus_assign_warm_s": round(warm_s + assign_s, 4),
            }
        )
    feasible_share = float((cost < INFEASIBLE).mean())
    batch = next(r for r in rows if r["policy"] == "batch")
    result = {
        "robots": args.robots,
        "tasks": args.tasks,
        "cost_matrix_cold_s": round(cold_s, 4),
        "cost_matrix_warm_s": round(warm_s, 4),
        "feasible_pair_share": round(feasible_share, 4),
        "policies": rows,
        "target_s": TARGET_S,
        "meets_target": batch["build_plus_assign_warm_s"] < TARGET_S,
    }
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"{args.robots} robots x {args.tasks} tasks; cost matrix cold {cold_s:.3f} s, warm {warm_s:.3f} s; "
        f"feasible pairs {100 * feasible_share:.1f} %"
    )
    print(f"{'policy':>8} {'assign s':>9} {'pairs':>6} {'total cost s':>13} {'build+assign s':>15}")
    for r in rows:
        print(
            f"{r['policy']:>8} {r['assign_s']:>9} {r['pairs']:>6} {r['total_cost_s']:>13} "
            f"{r['build_plus_assign_warm_s']:>15}"
        )
    print(f"target < {TARGET_S} s (batch, warm): {'met' if result['meets_target'] else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
