"""Simulation: the control plane + simulated AMRs + an order stream on a simulated clock.

A thin harness (docs/simulation.md): the same `ControlPlane` that drives real vehicles on the
wall clock runs here on a manual clock, with `SimulatedRobot`s as its equipment and a seeded
order stream as its WMS. Deterministic for a seed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from fleet_manager.alarms import Alarm
from fleet_manager.control import ControlPlane
from fleet_manager.dispatch import CommandRejected, UnknownResource
from fleet_manager.events import EventBus
from fleet_manager.inventory import IntakeError, ScanEvent
from fleet_manager.robots.adapter import RobotAdapter
from fleet_manager.site.model import Site
from sim.config import SimConfig
from sim.kinematics import TickModel
from sim.orders import OrderStream
from sim.robot import SimulatedRobot

__all__ = ["CommandRejected", "IntakeError", "SimConfig", "Simulation", "UnknownResource"]


class Simulation(ControlPlane):
    """The control plane with simulated AMRs and an order stream, on a simulated clock.

    Deterministic for a seed: the same site, seed, robot count and config give the same events
    and KPIs. `step()` advances one tick (`tick_s` = cell size / robot speed); real-time pacing is
    the caller's job (call `run_until(t)` with wall-clock time).

    Everything a run decides is the control plane's own (`ControlPlane`, the same that drives
    real vehicles); the simulation adds the equipment (SimulatedRobot), the WMS (an order and
    returns stream) and the manual clock (`step()` moves it by one tick).

    Outside robots (e.g. VDA 5050 vehicles over MQTT) join through `extra_robots`; then
    `before_tick(now_s)` runs before each dispatcher tick (pump their messages) and
    `after_moves(now_s)` after the move commands (wait until they have arrived, so a follower
    never enters a node a real vehicle is still leaving). Without them nothing changes.
    """

    def __init__(
        self,
        site: Site,
        *,
        seed: int = 0,
        robots: int | None = None,
        config: SimConfig | dict[str, Any] | None = None,
        bus: EventBus | None = None,
        extra_robots: list[RobotAdapter] | None = None,
        before_tick: Callable[[float], None] | None = None,
        after_moves: Callable[[float], None] | None = None,
        start_s: float = 0.0,
    ) -> None:
        self.site = site
        self.seed = seed
        self.config = config if isinstance(config, SimConfig) else SimConfig.from_dict(config or {})
        self.ticks = TickModel.for_site(site)
        rng = np.random.default_rng(seed)
        self.robots = self._make_robots(robots, rng)
        self.extra_robots = self._check_extra(extra_robots or [])
        self._advancing = [
            r for r in (*self.robots.values(), *self.extra_robots.values()) if hasattr(r, "advance")
        ]
        self._scan_rng = np.random.default_rng(rng.integers(2**31))
        super().__init__(
            site,
            [*self.robots.values(), *self.extra_robots.values()],
            bus=bus,
            config=self.config.dispatch(),
            seed=int(rng.integers(2**31)),
            scanner=self._scan,
            tick_s=self.ticks.tick_s,
            start_s=start_s,
        )
        if before_tick is not None:
            self.before_tick.append(before_tick)
        if after_moves is not None:
            self.after_tick.append(after_moves)
        self.after_tick.append(self._advance_robots)
        rate = self.config.orders_per_h
        if rate is None:
            units_per_order = self.config.mean_lines * (1 + self.config.max_qty) / 2
            cap = sum(3600.0 / s.pick_time_s_per_unit for s in site.stations.values())
            rate = 1.3 * cap / units_per_order
        self.orders_per_h = rate
        self.stream = OrderStream(
            site,
            int(rng.integers(2**31)),
            rate,
            mean_lines=self.config.mean_lines,
            max_qty=self.config.max_qty,
            due_after_s=self.config.due_after_s,
        )
        self.stream.next_s += self.now_s  # arrivals start at this run's start, no backlog
        self._returns_rng = np.random.default_rng(rng.integers(2**31))
        self._next_return_s = self.now_s + self._return_gap()
        self._warm = self.config.warmup_s <= 0
        self.wall_s = 0.0

    def _make_robots(
        self, count: int | None, rng: np.random.Generator
    ) -> dict[str, SimulatedRobot]:
        specs = [(r.id, r.start) for r in self.site.robots]
        n = len(specs) if count is None else count
        if n < 0:
            raise ValueError(f"robots: must be >= 0, got {n}")
        specs = specs[:n]
        if n > len(specs):  # more robots than the map places: spread them over free aisle cells
            used = {node for _, node in specs}
            aisles = [
                v for v, k in self.site.graph.nodes(data="kind") if k == "aisle" and v not in used
            ]
            if n - len(specs) > len(aisles):
                raise ValueError(
                    f"robots: {n} do not fit, the map has {len(aisles) + len(specs)} free cells"
                )
            extra = rng.choice(np.asarray(aisles), size=n - len(specs), replace=False)
            specs += [(f"AMR-X{i + 1:03d}", int(v)) for i, v in enumerate(sorted(extra.tolist()))]
        lo, hi = self.config.initial_soc
        socs = rng.uniform(lo, hi, size=n)
        return {
            rid: SimulatedRobot(rid, node, self.site, self.ticks, soc=float(socs[i]))
            for i, (rid, node) in enumerate(specs)
        }

    def _check_extra(self, extra: list[RobotAdapter]) -> dict[str, RobotAdapter]:
        """Outside robots by id; ids and start nodes must not clash with anyone else's."""
        taken_ids = set(self.robots)
        taken_nodes = {r.node: rid for rid, r in self.robots.items()}
        out: dict[str, RobotAdapter] = {}
        for robot in extra:
            rid, node = robot.id, robot.status().node
            if rid in taken_ids:
                raise ValueError(f"extra robot {rid!r}: id already used by another robot")
            if not -1 <= node < self.site.num_nodes:
                raise ValueError(f"extra robot {rid!r}: start node {node} is not on the map")
            if node >= 0 and node in taken_nodes:
                raise ValueError(
                    f"extra robot {rid!r}: start node {node} is taken by robot {taken_nodes[node]}"
                )
            taken_ids.add(rid)
            if node >= 0:
                taken_nodes[node] = rid
            out[rid] = robot
        return out

    # ---- the simulator's own controls -------------------------------------------------------------
    def inject_fault(self, robot_id: str, code: str, message: str = "") -> Alarm:
        """Fault a simulated robot: it stops where it is and an alarm is raised at once."""
        self._simulated(robot_id).set_fault(code)
        return self.raise_robot_fault(robot_id, code, message)

    def clear_fault(self, robot_id: str) -> None:
        self._simulated(robot_id).clear_fault()

    def _simulated(self, robot_id: str) -> SimulatedRobot:
        robot = self.robots.get(robot_id)
        if robot is None and robot_id in self.extra_robots:
            raise CommandRejected(f"robot {robot_id}: not simulated in-process, cannot fake faults")
        if robot is None:
            raise UnknownResource(f"unknown robot id {robot_id!r}")
        return robot

    # ---- time ------------------------------------------------------------------------------------
    def step(self) -> None:
        """Advance one tick: new orders and returns, one control-plane tick, robots move."""
        started = time.perf_counter()
        now = self.now_s
        d = self.dispatcher
        d.now_s = now
        for order in self.stream.due(now):
            try:
                d.submit_order(order)
            except IntakeError:
                d.kpi.orders_rejected += 1
        while self._next_return_s <= now:
            self._submit_return()
        super().step()
        if not self._warm and self.now_s >= self.config.warmup_s:
            self._warm = True
            d.kpi.reset_window(self.now_s)
        self.wall_s += time.perf_counter() - started

    def _advance_robots(self, _now_s: float) -> None:
        for robot in self._advancing:
            robot.advance(self.tick_s)

    # ---- reports ---------------------------------------------------------------------------------
    def kpis(self) -> dict[str, Any]:
        """Deterministic KPIs, plus `wall_clock` (machine-dependent, excluded from comparisons)."""
        report = super().kpis()
        report["wall_clock"] = {
            "wall_s": round(self.wall_s, 3),
            "sim_s_per_wall_s": round(self.now_s / self.wall_s, 1) if self.wall_s else None,
        }
        return report

    # ---- internals -------------------------------------------------------------------------------
    def _scan(self, pick: dict[str, Any], pod: str, station: str, now_s: float) -> ScanEvent:
        sku, qty = pick["sku"], pick["qty"]
        u = self._scan_rng.random()
        if u < self.config.wrong_sku_rate:
            return ScanEvent(f"{sku}-WRONG", qty, pod, station, now_s)
        if u < self.config.wrong_sku_rate + self.config.short_pick_rate:
            return ScanEvent(sku, qty - 1, pod, station, now_s)
        return ScanEvent(sku, qty, pod, station, now_s)

    def _return_gap(self) -> float:
        rate = self.config.returns_per_h / 3600.0
        return float(self._returns_rng.exponential(1.0 / rate)) if rate > 0 else float("inf")

    def _submit_return(self) -> None:
        skus = self.stream.skus
        if skus:
            sku = skus[int(self._returns_rng.choice(len(skus), p=self.stream.p))]
            self.dispatcher.g2p.submit_return(sku, 1)
        self._next_return_s += self._return_gap()
