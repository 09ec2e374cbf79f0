"""G2P policy sets compared on the same seeded order stream: units/h against the station bound.

Sites: the demo map (its robots) and a large site (maps/large.yaml if present, else a generated
one: 100 robots, 10 stations, ~2,000 pods, 20 chargers). Each policy set runs `--hours`
simulated hours; the first `--warmup-s` are not measured. The bound is stations x 3600 / pick time per unit.
Writes a bar chart of units/h per policy set to `--png` (default artifacts/g2p_policies.png).

    .venv/bin/python benchmarks/g2p_policies.py [--hours 1] [--sites demo large] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fleet_manager.site.loader import load_site
from fleet_manager.site.model import Site
from sim.site_gen import generate_site
from sim.world import Simulation

DEFAULT = {
    "order_station": "pod_overlap",
    "pod_selection": "most_lines",
    "pod_return": "nearest_free",
}
POLICY_SETS: dict[str, dict[str, str]] = {
    "default": DEFAULT,
    "os=fcfs": {**DEFAULT, "order_station": "fcfs"},
    "os=due_time": {**DEFAULT, "order_station": "due_time"},
    "os=random": {**DEFAULT, "order_station": "random"},
    "ps=nearest": {**DEFAULT, "pod_selection": "nearest"},
    "ps=random": {**DEFAULT, "pod_selection": "random"},
    "pr=original": {**DEFAULT, "pod_return": "original"},
    "pr=turnover_zone": {**DEFAULT, "pod_return": "turnover_zone"},
    "simple fcfs/nearest/original": {
        "order_station": "fcfs",
        "pod_selection": "nearest",
        "pod_return": "original",
    },
    "random baseline": {
        "order_station": "random",
        "pod_selection": "random",
        "pod_return": "original",
    },
}
LARGE = {
    "blocks_x": 20,
    "blocks_y": 10,
    "block_len": 6,
    "stations": 10,
    "queue_len": 4,
    "robots": 100,
    "chargers": 20,
    "skus": 2000,
    "name": "large-generated",
}


def load(site_name: str) -> Site:
    if site_name == "demo":
        return load_site(REPO / "maps" / "demo.yaml")
    large = REPO / "maps" / "large.yaml"
    return load_site(large) if large.exists() else generate_site(**LARGE)


def run_one(job: tuple[str, str, float, float, int]) -> dict[str, Any]:
    site_name, set_name, hours, warmup_s, seed = job
    site = load(site_name)
    sim = Simulation(site, seed=seed, config={**POLICY_SETS[set_name], "warmup_s": warmup_s})
    start = time.perf_counter()
    sim.run_until(warmup_s + hours * 3600.0)
    k = sim.kpis()
    return {
        "site": site_name,
        "policy_set": set_name,
        **POLICY_SETS[set_name],
        "robots": len(sim.robots),
        "stations": len(site.stations),
        "units_per_h": k["units_per_h"],
        "bound_units_per_h": k["station_capacity_units_per_h"],
        "bound_share": k["capacity_share"],
        "orders_per_h": k["orders_per_h"],
        "pod_visits_per_line": k["pod_visits_per_line"],
        "cycle_time_s_p50": k["cycle_time_s_p50"],
        "station_idle_share": k["station_idle_share_mean"],
        "conflicts": k["conflicts"],
        "wall_s": round(time.perf_counter() - start, 1),
    }


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sites = sorted({r["site"] for r in rows}, key=lambda s: s != "demo")
    fig, axes = plt.subplots(1, len(sites), figsize=(7 * len(sites), 5), squeeze=False)
    for ax, site in zip(axes[0], sites, strict=True):
        mine = [r for r in rows if r["site"] == site]
        names = [r["policy_set"] for r in mine]
        colors = [
            "tab:green" if n == "default" else "tab:red" if n == "random baseline" else "tab:blue"
            for n in names
        ]
        ax.barh(names, [r["units_per_h"] for r in mine], color=colors)
        bound = mine[0]["bound_units_per_h"]
        ax.axvline(bound, color="black", linestyle="--", label=f"station bound {bound:.0f}/h")
        ax.axvline(0.85 * bound, color="grey", linestyle=":", label="85 % of bound")
        ax.set_xlabel("units picked per hour")
        ax.set_title(f"{site}: {mine[0]['robots']} robots, {mine[0]['stations']} stations")
        ax.invert_yaxis()
        ax.legend(loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", nargs="+", default=["demo", "large"], choices=["demo", "large"])
    parser.add_argument("--sets", nargs="+", default=list(POLICY_SETS), choices=list(POLICY_SETS))
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--warmup-s", type=float, default=600.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--png", default=str(REPO / "artifacts" / "g2p_policies.png"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    jobs = [
        (site, name, args.hours, args.warmup_s, args.seed)
        for site in args.sites
        for name in args.sets
    ]
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        rows = list(pool.map(run_one, jobs))
    plot(rows, Path(args.png))
    summary = {}
    for site in args.sites:
        mine = [r for r in rows if r["site"] == site]
        best = max(mine, key=lambda r: r["units_per_h"])
        by = {r["policy_set"]: r["units_per_h"] for r in mine}
        summary[site] = {
            "best_policy_set": best["policy_set"],
            "best_bound_share": best["bound_share"],
            "default_units_per_h": by.get("default"),
            "random_units_per_h": by.get("random baseline"),
            "default_beats_random": (by.get("default") or 0) > (by.get("random baseline") or 0),
        }
    result = {
        "hours": args.hours,
        "warmup_s": args.warmup_s,
        "seed": args.seed,
        "png": args.png,
        "rows": rows,
        "summary": summary,
    }
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"{'site':<6} {'policy set':<30} {'units/h':>8} {'bound':>7} {'share':>6} {'visits/line':>11} "
        f"{'cycle p50 s':>11} {'conflicts':>9}"
    )
    for r in rows:
        print(
            f"{r['site']:<6} {r['policy_set']:<30} {r['units_per_h']:>8} {r['bound_units_per_h']:>7.0f} "
            f"{100 * r['bound_share']:>5.1f}% {r['pod_visits_per_line']!s:>11} {r['cycle_time_s_p50']!s:>11} "
            f"{r['conflicts']:>9}"
        )
    for site, s in summary.items():
        print(
            f"{site}: best {s['best_policy_set']} at {100 * s['best_bound_share']:.1f} % of the bound; "
            f"default beats random: {s['default_beats_random']}"
        )
    print(f"chart: {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
