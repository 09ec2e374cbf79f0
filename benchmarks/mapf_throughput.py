"""Lifelong MAPF throughput on a grid map: random errands, planner variants side by side."""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from fleet_manager.site.errors import MapError
from fleet_manager.site.grid_file import load_grid_map
from fleet_manager.traffic.graph import MotionGraph
from fleet_manager.traffic.planner import make_planner
from fleet_manager.traffic.validate import validate_paths

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MAPS = REPO.parent / "shared" / "benchmarks" / "maps"
# Variant name -> planner options. "pibt": plain PIBT (hop-count ranking, random ties).
SINGLE = {"rollouts": 1, "distance_weight": 0.0}  # one PIBT pass, elapsed-time priorities
VARIANTS: dict[str, dict[str, Any]] = {
    "pibt": {"guidance": "none", "prefer_free": False, "aside_weight": 0.0, **SINGLE},
    "pibt+free": {"guidance": "none", "prefer_free": True, **SINGLE},
    # The default planner before issue 17: crisscross lanes by coordinate parity.
    "guided": {"guidance": "crisscross", "against_cost": 1, "prefer_free": True, **SINGLE},
    # Lanes alternating by aisle rank, contraflow 3 hops a cell; one pass.
    "aisles": {"guidance": "aisles", "against_cost": 2, "prefer_free": True, **SINGLE},
    # The default planner now: aisles, contraflow 4 hops a cell, closest to goal first.
    "aisles+": {"guidance": "aisles", "against_cost": 3, "rollouts": 1, "distance_weight": -0.5},
}


def variant_options(variant: str) -> dict[str, Any]:
    """Options of a variant: a name from VARIANTS, optionally followed by `/option=value`
    overrides (e.g. `aisles/against_cost=2`), values read as JSON where they parse."""
    name, *overrides = variant.split("/")
    if name not in VARIANTS:
        raise ValueError(f"unknown variant {name!r}; choose from {list(VARIANTS)}")
    options = dict(VARIANTS[name])
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ValueError(f"variant override {item!r} is not option=value")
        try:
            options[key] = json.loads(raw)
        except json.JSONDecodeError:
            options[key] = raw
    return options


def resolve_map(name: str, root: Path) -> Path:
    path = Path(name)
    return path if path.is_absolute() or path.exists() else root / name


def run_variant(
    map_path: str,
    variant: str,
    agents: int,
    steps: int,
    seed: int,
    paths_out: str | None,
    warm: bool = True,
    setup_budget_s: float | None = None,
) -> dict[str, Any]:
    """One lifelong run; returns its figures (run in a fresh process for a clean peak RSS)."""
    grid = load_grid_map(map_path)
    options = variant_options(variant)
    graph = MotionGraph.from_grid(grid.free)
    # Errand lengths come from a separate small-cache graph, so no variant gets its distance
    # tables built outside the timed planning step.
    lengths = MotionGraph.from_grid(grid.free, cache_tables=256)
    if agents > graph.n:
        raise ValueError(f"{agents} agents do not fit on {graph.n} free cells")
    rng = np.random.default_rng(seed)
    pos = rng.choice(graph.n, size=agents, replace=False).astype(np.int64)
    goals = np.empty(agents, dtype=np.int64)

    def new_goals(mask: np.ndarray) -> None:
        idx = np.nonzero(mask)[0]
        while idx.size:
            goals[idx] = rng.integers(0, graph.n, size=idx.size)
            idx = idx[goals[idx] == pos[idx]]

    new_goals(np.ones(agents, dtype=bool))
    errands = [lengths.lookup(goals, pos)]
    planner = make_planner(graph, seed=seed, **options)
    t0 = time.perf_counter()
    warm_tables = planner.warm_up(goals, setup_budget_s) if warm else 0
    setup_s = time.perf_counter() - t0
    paths = np.empty((steps + 1, agents), dtype=np.int32)
    paths[0] = pos
    plan_ms = np.empty(steps)
    cpu_ms = np.empty(steps)
    done = 0
    for t in range(steps):
        t0, c0 = time.perf_counter(), time.process_time()
        nxt = planner.step(pos, goals, None)
        plan_ms[t] = (time.perf_counter() - t0) * 1000.0
        cpu_ms[t] = (time.process_time() - c0) * 1000.0
        pos = nxt
        paths[t + 1] = pos
        arrived = pos == goals
        done += int(arrived.sum())
        if arrived.any():
            new_goals(arrived)
            errands.append(lengths.lookup(goals[arrived], pos[arrived]))
    planning_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    t0 = time.perf_counter()
    conflicts = validate_in_chunks(graph, paths)
    validate_s = time.perf_counter() - t0
    if paths_out:
        write_paths(paths_out, map_path, graph, paths)
    mean_errand = float(np.concatenate(errands).mean())
    bound = agents / mean_errand
    rest = plan_ms[1:] if steps > 1 else plan_ms
    return {
        "variant": variant,
        "agents": agents,
        "steps": steps,
        "tasks_completed": done,
        "tasks_per_step": done / steps,
        "mean_errand_cells": mean_errand,
        "free_flow_bound_tasks_per_step": bound,
        "ratio": done / steps / bound,
        "ratio_to_bound": done / steps / bound,
        "plan_ms_first": float(plan_ms[0]),
        "plan_ms_p50": float(np.percentile(rest, 50)),
        "plan_ms_p99": float(np.percentile(rest, 99)),
        "plan_ms_max": float(rest.max()),
        "plan_cpu_ms_p50": float(np.percentile(cpu_ms[1:] if steps > 1 else cpu_ms, 50)),
        "plan_cpu_ms_p99": float(np.percentile(cpu_ms[1:] if steps > 1 else cpu_ms, 99)),
        "setup_s": setup_s,
        "warm_tables": warm_tables,
        "load_avg_1min": os.getloadavg()[0],
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "peak_rss_planning_mib": planning_rss_mib,  # before validating the whole run
        "conflicts": len(conflicts),
        "validate_s": validate_s,
    }


def validate_in_chunks(graph: MotionGraph, paths: np.ndarray, rows: int = 100) -> list[Any]:
    """validate_paths over windows of `rows` steps sharing their boundary row, so the oracle's
    working memory stays that of a window; a vertex conflict on a shared row counts once."""
    found: list[Any] = []
    for start in range(0, max(1, paths.shape[0] - 1), rows):
        part = validate_paths(graph, paths[start : start + rows + 1])
        found += [c for c in part if start == 0 or c.step > 0]
    return found


def write_paths(path: str, map_path: str, graph: MotionGraph, paths: np.ndarray) -> None:
    """JSON lines: a header object, then one line per step: [[x, y], ...] per agent."""
    with open(path, "w") as out:
        header = {
            "map": str(Path(map_path).resolve()),
            "agents": int(paths.shape[1]),
            "steps": int(paths.shape[0] - 1),
            "format": "one line per step of [x, y]",
        }
        out.write(json.dumps(header) + "\n")
        out.writelines(
            json.dumps(graph.coords[row].tolist(), separators=(",", ":")) + "\n" for row in paths
        )


def validate_file(path: str) -> tuple[int, int, int]:
    """Re-validate a paths file; returns (steps, agents, conflicts). Raises ValueError on junk."""
    with open(path) as src:
        header = json.loads(src.readline())
        # One array per line keeps memory near the final (T+1, N, 2) array.
        rows = [np.asarray(json.loads(line), dtype=np.int64) for line in src if line.strip()]
    grid = load_grid_map(header["map"])
    graph = MotionGraph.from_grid(grid.free, cache_tables=1)
    if not rows or any(r.ndim != 2 or r.shape != rows[0].shape or r.shape[1] != 2 for r in rows):
        raise ValueError(f"{path}: expected lines of equally many [x, y] pairs")
    xy = np.stack(rows)
    h, w = graph.cell_to_node.shape
    inside = (xy[..., 0] >= 0) & (xy[..., 0] < w) & (xy[..., 1] >= 0) & (xy[..., 1] < h)
    nodes = np.full(xy.shape[:2], -1, dtype=np.int64)
    nodes[inside] = graph.cell_to_node[xy[..., 1][inside], xy[..., 0][inside]]
    conflicts = validate_paths(graph, nodes)
    for c in conflicts[:10]:
        print(c, file=sys.stderr)
    return xy.shape[0] - 1, xy.shape[1], len(conflicts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--map", default="movingai/warehouse-10-20-10-2-1.map")
    ap.add_argument("--maps-root", default=str(DEFAULT_MAPS))
    ap.add_argument("--agents", type=int, default=100)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--variants", default="pibt,guided,aisles+", help=f"comma list of {list(VARIANTS)}"
    )
    ap.add_argument("--json", action="store_true")
    ap.add_argument(
        "--paths-out", help="write paths (JSON lines); one variant: FILE, else FILE.VARIANT"
    )
    ap.add_argument("--validate", metavar="FILE", help="only re-validate a paths file")
    ap.add_argument(
        "--no-warm-up",
        action="store_true",
        help="skip building the first goals' tables before step 1 (they then arrive in budgets)",
    )
    ap.add_argument(
        "--setup-budget-s",
        type=float,
        default=25.0,
        help="wall-time cap on the warm-up (default 25 s; later goals' tables arrive per step)",
    )
    args = ap.parse_args(argv)
    if args.validate:
        try:
            steps, agents, n = validate_file(args.validate)
        except (OSError, ValueError, KeyError, MapError) as exc:
            print(f"cannot validate {args.validate}: {exc}", file=sys.stderr)
            return 2
        result: dict[str, Any] = {
            "file": args.validate,
            "steps": steps,
            "agents": agents,
            "conflicts": n,
        }
        print(
            json.dumps(result) if args.json else f"{steps} steps x {agents} agents: {n} conflicts"
        )
        return 0 if n == 0 else 1
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = []
    for v in variants:
        try:
            variant_options(v)
        except ValueError:
            unknown.append(v)
    map_path = resolve_map(args.map, Path(args.maps_root))
    if unknown or not variants:
        print(f"unknown variant(s) {unknown}; choose from {list(VARIANTS)}", file=sys.stderr)
        return 2
    if not map_path.is_file():
        print(f"map file not found: {map_path}", file=sys.stderr)
        return 2
    if args.setup_budget_s < 0:
        print("--setup-budget-s must be >= 0", file=sys.stderr)
        return 2
    if args.agents < 1 or args.steps < 1:
        print("--agents and --steps must be positive", file=sys.stderr)
        return 2
    results = []
    for v in variants:
        out = None
        if args.paths_out:
            out = args.paths_out if len(variants) == 1 else f"{args.paths_out}.{v}"
        # A fresh process per variant keeps each peak-RSS figure its own.
        with ProcessPoolExecutor(max_workers=1) as pool:
            fut = pool.submit(
                run_variant,
                str(map_path),
                v,
                args.agents,
                args.steps,
                args.seed,
                out,
                not args.no_warm_up,
                args.setup_budget_s,
            )
            try:
                results.append(fut.result())
            except ValueError as exc:
                print(f"bad benchmark input: {exc}", file=sys.stderr)
                return 2
    summary = {
        "map": map_path.name,
        "agents": args.agents,
        "steps": args.steps,
        "seed": args.seed,
        "memory": "peak RSS (ru_maxrss) of the run's own process: peak_rss_planning_mib up to"
        " the last step, peak_rss_mib including the final whole-run validation",
        "timing": "plan_ms = wall clock per step (steps 2..T), plan_cpu_ms = process CPU time;"
        " setup_s = warm-up table building before step 1 (capped by --setup-budget-s;"
        " warm_tables = tables built in it)",
        "variants": results,
        # Headline keys: the last variant listed (the candidate), conflicts over every run.
        "variant": results[-1]["variant"],
        "ratio_to_bound": results[-1]["ratio"],
        "plan_ms_p99": results[-1]["plan_ms_p99"],
        "conflicts": sum(r["conflicts"] for r in results),
    }
    if not args.json:
        print(
            f"map {map_path.name}, {args.agents} agents, {args.steps} steps, seed {args.seed}, "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
        )
        print(
            f"{'variant':10} {'tasks':>7} {'tasks/step':>10} {'bound':>7} {'ratio':>6} "
            f"{'ms p50':>7} {'ms p99':>7} {'ms max':>8} {'cpu p99':>7} {'first ms':>9} "
            f"{'setup s':>7} {'RSS MiB plan/all':>16} conflicts"
        )
        for r in results:
            print(
                f"{r['variant']:10} {r['tasks_completed']:7d} {r['tasks_per_step']:10.2f} "
                f"{r['free_flow_bound_tasks_per_step']:7.2f} {r['ratio']:6.3f} "
                f"{r['plan_ms_p50']:7.1f} {r['plan_ms_p99']:7.1f} {r['plan_ms_max']:8.1f} "
                f"{r['plan_cpu_ms_p99']:7.1f} {r['plan_ms_first']:9.1f} {r['setup_s']:7.1f} "
                f"{r['peak_rss_planning_mib']:7.0f}/{r['peak_rss_mib']:<8.0f} {r['conflicts']}"
            )
    print(json.dumps(summary))
    return 0 if all(r["conflicts"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
