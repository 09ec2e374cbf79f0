"""`wcs simulate`: run the warehouse headless for simulated hours and print KPIs."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from fleet_manager.domain import Order, OrderLine
from fleet_manager.site.errors import MapError, MapValidationError
from fleet_manager.site.loader import load_site
from fleet_manager.site.paths import default_map_path
from sim.config import SimConfig
from sim.world import Simulation

EXIT_BAD_INPUT = 2
PROGRESS_MIN_SIM_S = 1800.0  # show a progress bar on runs longer than this


class CliError(ValueError):
    """Bad command-line input: printed as one line, exit code 2."""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "simulate", help="run the simulated warehouse headless and print KPIs"
    )
    p.add_argument("--map", default=None, help=f"site map (default: {default_map_path()})")
    p.add_argument("--robots", type=int, default=None, help="robot count (default: the map's)")
    p.add_argument("--hours", type=float, default=1.0, help="simulated hours (default 1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object (deterministic per seed except its `wall_clock` key)",
    )
    p.add_argument(
        "--policy",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="G2P/allocation setting, e.g. order_station=fcfs, pod_selection=nearest, "
        "pod_return=turnover_zone, assignment=greedy, max_inbound_per_station=8",
    )
    p.add_argument("--orders-per-h", type=float, default=None, help="generated order rate")
    p.add_argument(
        "--orders",
        default=None,
        help="YAML/JSON list of orders to submit "
        "({id, at_s, lines: [{sku, quantity}], priority, due_s}); replaces the stream",
    )
    p.add_argument("--warmup-s", type=float, default=0.0, help="seconds not measured at the start")
    p.add_argument("--no-progress", action="store_true", help="never show the progress bar")
    p.set_defaults(func=handle_simulate)


def _config(args: argparse.Namespace) -> SimConfig:
    data: dict[str, Any] = {"warmup_s": args.warmup_s}
    for item in args.policy:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise CliError(f"--policy {item!r}: expected NAME=VALUE")
        data[name] = int(value) if value.lstrip("-").isdigit() else value
    if args.orders_per_h is not None:
        data["orders_per_h"] = args.orders_per_h
    if args.orders is not None:
        data["orders_per_h"] = 0.0
    try:
        return SimConfig.from_dict(data)
    except (TypeError, ValueError) as exc:
        raise CliError(f"--policy: {exc}") from exc


def _load_orders(path: str, site_skus: set[str]) -> list[Order]:
    try:
        doc = yaml.safe_load(Path(path).read_text())
    except OSError as exc:
        raise CliError(f"{path}: cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise CliError(f"{path}: not valid YAML/JSON: {exc}") from exc
    if not isinstance(doc, list):
        raise CliError(f"{path}: expected a list of orders")
    orders = []
    for i, raw in enumerate(doc):
        where = f"{path}: orders[{i}]"
        try:
            lines = [OrderLine(str(ln["sku"]), int(ln["quantity"])) for ln in raw["lines"]]
            order = Order(
                str(raw["id"]),
                lines,
                float(raw.get("at_s", 0.0)),
                int(raw.get("priority", 0)),
                raw.get("due_s"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CliError(
                f"{where}: malformed order ({exc!r}); need id, lines[{{sku, quantity}}]"
            ) from exc
        for j, line in enumerate(lines):
            if line.sku not in site_skus:
                raise CliError(f"{where}.lines[{j}].sku: unknown SKU {line.sku!r}")
        orders.append(order)
    return sorted(orders, key=lambda o: o.created_s)


def _run(args: argparse.Namespace) -> dict[str, Any]:
    path = args.map or str(default_map_path())
    try:
        site = load_site(path)
    except MapValidationError as exc:
        more = f" (and {len(exc.errors) - 1} more)" if len(exc.errors) > 1 else ""
        raise CliError(f"{exc.errors[0]}{more}" if exc.errors else str(exc)) from exc
    except MapError as exc:
        raise CliError(str(exc)) from exc
    if args.hours <= 0:
        raise CliError(f"--hours must be > 0, got {args.hours}")
    config = _config(args)
    queued = _load_orders(args.orders, set(site.skus)) if args.orders else []
    try:
        sim = Simulation(site, seed=args.seed, robots=args.robots, config=config)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    end_s = args.hours * 3600.0
    bar = None
    if not args.no_progress and end_s >= PROGRESS_MIN_SIM_S:
        from tqdm import tqdm

        bar = tqdm(total=int(end_s), unit="sim s", file=sys.stderr, desc="simulate", leave=False)
    rejected: list[str] = []
    while sim.now_s < end_s - 1e-9:
        while queued and queued[0].created_s <= sim.now_s:
            order = queued.pop(0)
            try:
                sim.submit_order(order)
            except ValueError as exc:
                rejected.append(f"{order.id}: {exc}")
        before = sim.now_s
        sim.run_until(min(end_s, sim.now_s + 60.0))
        if bar is not None:
            bar.update(int(sim.now_s) - int(before))
    if bar is not None:
        bar.close()
    kpis = sim.kpis()
    wall = kpis.pop("wall_clock")
    kpis["policies"] = {
        "assignment": config.assignment,
        **{
            k: getattr(config.g2p, k)
            for k in (
                "order_station",
                "pod_selection",
                "pod_return",
                "max_inbound_per_station",
                "order_slots_per_station",
            )
        },
    }
    kpis["map"] = site.name
    kpis["seed"] = args.seed
    kpis["orders_file_rejected"] = rejected
    return {"kpis": kpis, "wall_clock": wall}


def _table(result: dict[str, Any]) -> str:
    k = result["kpis"]
    rows = [
        ("map / seed / robots", f"{k['map']} / {k['seed']} / {k['robots']}"),
        ("simulated time", f"{k['sim_time_s']:.0f} s (measured {k['window_s']:.0f} s)"),
        (
            "orders completed",
            f"{k['orders_completed']} ({k['orders_per_h']} /h), open {k['orders_open']}",
        ),
        (
            "units picked",
            (
                f"{k['units_picked']} ({k['units_per_h']} /h, "
                f"{100 * k['capacity_share']:.1f} % of {k['station_capacity_units_per_h']} /h bound)"
            ),
        ),
        *[(f"  units/h {s}", f"{v}") for s, v in k["units_per_h_by_station"].items()],
        (
            "robot utilisation",
            (
                f"{100 * k['robot_utilisation']:.1f} % (idle {100 * k['robot_idle_share']:.1f} %, "
                f"charging {100 * k['robot_charging_share']:.1f} %, "
                f"waiting for a charger {100 * k['robot_waiting_charger_share']:.1f} %)"
            ),
        ),
        ("station idle (mean)", f"{100 * k['station_idle_share_mean']:.1f} %"),
        ("pod visits per line", f"{k['pod_visits_per_line']}"),
        ("cycle time p50 / p95", f"{k['cycle_time_s_p50']} s / {k['cycle_time_s_p95']} s"),
        ("late orders", f"{k['late_orders']}"),
        ("collisions", f"{k['conflicts']}"),
        ("sim s per wall s", f"{result['wall_clock']['sim_s_per_wall_s']}"),
    ]
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{name.ljust(width)}  {value}" for name, value in rows)


def handle_simulate(args: argparse.Namespace) -> int:
    try:
        result = _run(args)
    except CliError as exc:
        print(f"wcs simulate: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(json.dumps(result, sort_keys=True) if args.json else _table(result))
    return 0 if result["kpis"]["conflicts"] == 0 else 1
