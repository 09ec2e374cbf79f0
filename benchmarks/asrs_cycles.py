"""AS/RS throughput: simulated crane cycles/h (single vs dual, random vs class-based) vs analytic."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from shapely.geometry import box

from fleet_manager.asrs.controller import AsrsController
from fleet_manager.asrs.inventory import AsrsInventory
from fleet_manager.asrs.inventory_store import InventoryStore
from fleet_manager.asrs.kinematics import bozer_white_cycles_s, fem_reference_cycles_s
from fleet_manager.asrs.policies import ClassBasedSlot, RandomOpenSlot, StoragePolicy, abc_classes
from fleet_manager.asrs.rack import Rack
from fleet_manager.asrs.records import NoStock
from fleet_manager.asrs.sequencing import Pairing
from fleet_manager.domain import IdFactory, TaskKind
from fleet_manager.events import EventBus
from fleet_manager.site import load_site
from fleet_manager.site.errors import MapError
from fleet_manager.site.model import AsrsAisle, CraneModel
from sim.crane.local import LocalCraneDriver


@dataclass(frozen=True)
class Variant:
    name: str
    pairing: Pairing
    storage: str  # "random" | "class"
    kinematics: str  # "ideal" (constant speed, as Bozer-White) | "trapezoid"


VARIANTS = (
    Variant("single/random", Pairing.SINGLE, "random", "ideal"),
    Variant("dual-fifo/random", Pairing.DUAL_FIFO, "random", "ideal"),
    Variant("single/random", Pairing.SINGLE, "random", "trapezoid"),
    Variant("dual-fifo/random", Pairing.DUAL_FIFO, "random", "trapezoid"),
    Variant("dual-opt/random", Pairing.DUAL_OPT, "random", "trapezoid"),
    Variant("single/class", Pairing.SINGLE, "class", "trapezoid"),
    Variant("dual-opt/class", Pairing.DUAL_OPT, "class", "trapezoid"),
)


def make_aisle(args: argparse.Namespace, ideal: bool) -> AsrsAisle:
    if args.site_aisle is not None:
        a = args.site_aisle
        crane = a.crane
        if ideal:
            crane = replace(crane, travel_accel_mps2=float("inf"), hoist_accel_mps2=float("inf"))
        return replace(a, crane=crane)
    crane = CraneModel(args.travel_speed_mps, args.travel_accel_mps2, args.hoist_speed_mps,
                       args.hoist_accel_mps2, args.fork_time_s)
    if ideal:
        crane = replace(crane, travel_accel_mps2=float("inf"), hoist_accel_mps2=float("inf"))
    bays = round(args.length_m / args.bay_pitch_m)
    levels = round(args.height_m / args.level_pitch_m)
    return AsrsAisle("A1", "C1", bays, levels, 1, 2, args.bay_pitch_m, args.level_pitch_m, 0,
                     None, crane, box(0, 0, args.length_m, args.height_m))


def skewed_demand(n_skus: int, fast_share: float, fast_demand: float) -> np.ndarray:
    """`fast_share` of the SKUs draw `fast_demand` of the requests (20/80)."""
    n_fast = max(1, round(n_skus * fast_share))
    p = np.full(n_skus, (1.0 - fast_demand) / (n_skus - n_fast))
    p[:n_fast] = fast_demand / n_fast
    return p


def run_variant(v: Variant, args: argparse.Namespace, workdir: Path) -> dict[str, float]:
    rng = np.random.default_rng(args.seed)
    rack = Rack(make_aisle(args, v.kinematics == "ideal"))
    skus = [f"SKU{i:04d}" for i in range(args.skus)]
    demand = skewed_demand(args.skus, 0.2, 0.8)
    policy: StoragePolicy
    if v.storage == "class":
        classes = abc_classes(dict(zip(skus, demand, strict=True)), (0.2, 0.3, 0.5))
        policy = ClassBasedSlot(classes, {"A": 0.2, "B": 0.3, "C": 0.5}, seed=args.seed)
    else:
        policy = RandomOpenSlot(seed=args.seed)
    store = InventoryStore(workdir / f"{v.name.replace('/', '_')}_{v.kinematics}.db")
    inv = AsrsInventory(rack, store, policy)
    tote_ids = IdFactory()

    # Initial fill: every SKU equally stocked, placed by the policy under test.
    per_sku = int(args.fill * len(rack) / args.skus)
    for k in range(per_sku):
        for sku in skus:
            tote = tote_ids.next("T")
            inv.receive(tote, sku, 10, f"L{k:08d}", float(k) - 1e6)
            m = inv.plan_store(tote)
            store.start_move(m.move_id, "C1")
            store.complete_move(m.move_id)
    driver = LocalCraneDriver(rack)  # the simulated crane: same telegrams, simulated clock
    ctl = AsrsController(inv, driver, EventBus(), clock=lambda: driver.now_s, pairing=v.pairing)
    t0 = time.perf_counter()
    for k in range(args.requests // (2 * args.window)):
        for i in range(args.window):  # retrieves of skewed demand, each refilled by a store
            try:
                ctl.request_retrieve(f"O{k}-{i}", skus[rng.choice(args.skus, p=demand)], "ST1")
            except NoStock:
                pass
            tote = tote_ids.next("T")
            ctl.request_store(tote, skus[rng.choice(args.skus, p=demand)], 10,
                              f"L{int(driver.now_s):08d}", driver.now_s)
        asyncio.run(ctl.run())
        for task in list(ctl.tasks.values()):  # totes leave for the stations; forget done tasks
            if task.kind == TaskKind.CONVEYOR_TRANSFER:
                store.set_tote_location(task.payload["tote_id"], "out:station")
            if task.is_terminal or task.kind == TaskKind.CONVEYOR_TRANSFER:
                del ctl.tasks[task.id]
    clock_s, cycles, dual = driver.now_s, ctl.cycles_run, ctl.dual_cycles_run
    moves = driver.crane.moves_accepted
    store.close()
    return {
        "cycles": cycles,
        "moves": moves,
        "dual_share": dual / max(cycles, 1),
        "mean_cycle_s": clock_s / max(cycles, 1),
        "cycles_per_h": 3600.0 * cycles / clock_s,
        "moves_per_h": 3600.0 * moves / clock_s,
        "wall_s": time.perf_counter() - t0,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    ap.add_argument("--length-m", type=float, default=40.0)
    ap.add_argument("--height-m", type=float, default=20.0)
    ap.add_argument("--bay-pitch-m", type=float, default=1.0)
    ap.add_argument("--level-pitch-m", type=float, default=1.0)
    ap.add_argument("--travel-speed-mps", type=float, default=4.0)
    ap.add_argument("--travel-accel-mps2", type=float, default=1.0)
    ap.add_argument("--hoist-speed-mps", type=float, default=1.5)
    ap.add_argument("--hoist-accel-mps2", type=float, default=1.0)
    ap.add_argument("--fork-time-s", type=float, default=4.0)
    ap.add_argument("--skus", type=int, default=100)
    ap.add_argument("--fill", type=float, default=0.7, help="initial share of slots holding a tote")
    ap.add_argument("--requests", type=int, default=2000, help="moves per variant (stores+retrieves)")
    ap.add_argument("--window", type=int, default=10, help="retrieves (and stores) sequenced together")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--map", default=None, help="take the aisle (rack, crane) from this site map")
    ap.add_argument("--aisle", default=None, help="aisle id in --map (default: the first)")
    args = ap.parse_args(argv)
    args.site_aisle = None
    if args.map:
        try:
            site = load_site(args.map)
            args.site_aisle = site.asrs[args.aisle or next(iter(site.asrs))]
        except (MapError, StopIteration, KeyError) as exc:
            print(f"asrs_cycles: {args.map}: no usable AS/RS aisle ({exc})", file=sys.stderr)
            return 2
        args.length_m, args.height_m = args.site_aisle.length_m, args.site_aisle.height_m
    if not (0.0 < args.fill < 0.95) or args.skus < 5 or args.requests < 2 * args.window:
        print("asrs_cycles: need 0 < --fill < 0.95, --skus >= 5, --requests >= 2*--window",
              file=sys.stderr)
        return 2
    rows = []
    with tempfile.TemporaryDirectory(prefix="asrs_bench_") as tmp:
        for v in VARIANTS:
            crane = make_aisle(args, v.kinematics == "ideal").crane
            bw_single, bw_dual = bozer_white_cycles_s(crane, args.length_m, args.height_m)
            fem_single, fem_dual = fem_reference_cycles_s(crane, args.length_m, args.height_m)
            r = run_variant(v, args, Path(tmp))
            dual_cmd = v.pairing != Pairing.SINGLE
            r.update(variant=v.name, kinematics=v.kinematics,
                     bozer_white_cycle_s=bw_dual if dual_cmd else bw_single,
                     fem_cycle_s=fem_dual if dual_cmd else fem_single)
            r["ratio_to_bozer_white"] = r["mean_cycle_s"] / r["bozer_white_cycle_s"]
            r["ratio_to_fem"] = r["mean_cycle_s"] / r["fem_cycle_s"]
            rows.append(r)
    by = {(r["variant"], r["kinematics"]): r for r in rows}
    summary = {
        "dual_opt_over_single_moves_per_h": by[("dual-opt/random", "trapezoid")]["moves_per_h"]
        / by[("single/random", "trapezoid")]["moves_per_h"],
        "class_over_random_dual_moves_per_h": by[("dual-opt/class", "trapezoid")]["moves_per_h"]
        / by[("dual-opt/random", "trapezoid")]["moves_per_h"],
        "class_over_random_single_moves_per_h": by[("single/class", "trapezoid")]["moves_per_h"]
        / by[("single/random", "trapezoid")]["moves_per_h"],
    }
    hdr = (f"{'variant':<17} {'kinematics':<10} {'cycles/h':>8} {'moves/h':>8} {'cycle s':>8} "
           f"{'B-W s':>7} {'sim/B-W':>7} {'FEM s':>7} {'sim/FEM':>7}")
    where = f"{args.map} aisle {args.site_aisle.id}, " if args.site_aisle else ""
    print(f"{where}aisle {args.length_m:g} m x {args.height_m:g} m, seed {args.seed}, "
          f"{args.requests} moves/variant, 20/80 turnover over {args.skus} SKUs")
    print(hdr)
    for r in rows:
        print(f"{r['variant']:<17} {r['kinematics']:<10} {r['cycles_per_h']:8.1f} "
              f"{r['moves_per_h']:8.1f} {r['mean_cycle_s']:8.2f} {r['bozer_white_cycle_s']:7.2f} "
              f"{r['ratio_to_bozer_white']:7.3f} {r['fem_cycle_s']:7.2f} {r['ratio_to_fem']:7.3f}")
    for k, val in summary.items():
        print(f"{k}: {val:.3f}")
    if args.json:
        out = {"variants": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}
                            for r in rows], **{k: round(v, 4) for k, v in summary.items()}}
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
