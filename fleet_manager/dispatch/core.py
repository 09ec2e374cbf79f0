"""Dispatcher: the per-tick control loop over robot adapters; builds the floor and its parts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fleet_manager.alarms import AlarmRegistry
from fleet_manager.allocation import CostModel, make_assignment_policy
from fleet_manager.dispatch.allocator import Allocator
from fleet_manager.dispatch.commands import Commands
from fleet_manager.dispatch.events import Events
from fleet_manager.dispatch.execute import Executor
from fleet_manager.dispatch.g2p import G2PPlanner
from fleet_manager.dispatch.motion import Motion
from fleet_manager.dispatch.present import Presentations
from fleet_manager.dispatch.records import Phase, RobotRecord
from fleet_manager.dispatch.recovery import PodRecovery
from fleet_manager.dispatch.state import FloorState
from fleet_manager.dispatch.station_service import Scanner, StationService, perfect_scanner
from fleet_manager.dispatch.trips import Trips
from fleet_manager.dispatch.views import FloorViews
from fleet_manager.domain import Order, Task
from fleet_manager.events import EventBus
from fleet_manager.g2p import G2PConfig
from fleet_manager.robots.adapter import RobotAdapter
from fleet_manager.site.model import Site
from fleet_manager.traffic.graph import MotionGraph

__all__ = ["DispatchConfig", "Dispatcher", "Scanner", "perfect_scanner"]


@dataclass(frozen=True)
class DispatchConfig:
    """Dispatcher settings; `g2p` holds the goods-to-person policy names."""

    g2p: G2PConfig = field(default_factory=G2PConfig)
    assignment: str = "batch"  # allocation policy: batch | greedy | fifo
    restock_s_per_unit: float = 2.0
    age_weight: float = 0.05  # seconds of travel cost forgiven per second a task waited
    priority_weight_s: float = 120.0  # seconds of travel cost forgiven per priority level


class Dispatcher(FloorViews):
    """Owns the floor (orders, tasks, inventory, robot records); `tick` runs one control step.

    The parts share one FloorState and get every other part they use passed in explicitly.
    """

    def __init__(
        self,
        site: Site,
        robots: list[RobotAdapter],
        *,
        bus: EventBus,
        alarms: AlarmRegistry,
        config: DispatchConfig | None = None,
        seed: int = 0,
        tick_s: float = 1.0,
        scanner: Scanner = perfect_scanner,
        graph: MotionGraph | None = None,
    ) -> None:
        self.config = cfg = config or DispatchConfig()
        self.tick_s = tick_s
        self.rng = np.random.default_rng(seed)
        self.scanner = scanner
        self.floor = f = FloorState.for_site(
            site, robots, bus=bus, alarms=alarms, graph=graph or MotionGraph.from_site(site)
        )
        trips = Trips(f)
        self.present = Presentations(f, trips.fetch_payload, cfg.g2p.max_inbound_per_station)
        self.events = events = Events(f, self.present.public_payload)
        g2p_rng = np.random.default_rng(self.rng.integers(2**31))
        self.g2p = G2PPlanner(f, trips, events, cfg.g2p, g2p_rng)
        service = StationService(
            f,
            events,
            scanner=scanner,
            restock_s_per_unit=cfg.restock_s_per_unit,
            restock_on_visit=self.g2p.restock_on_visit,
            return_slot=self.g2p.return_slot,
        )
        self.recovery = PodRecovery(f, events, self.g2p.return_slot, self.present.withdraw)
        self.exec = Executor(f, events, service, self.g2p.pod_released, self.recovery)
        self.motion = Motion(f, events.robot_event, int(self.rng.integers(2**31)))
        costs = CostModel(
            f.graph, site.robot_model, tick_s, [c.node for c in site.chargers.values()]
        )
        self.allocator = Allocator(
            f,
            self.exec.start,
            costs,
            make_assignment_policy(cfg.assignment),
            age_weight=cfg.age_weight,
            priority_weight_s=cfg.priority_weight_s,
        )
        self.commands = Commands(f, events, self.g2p, self.present, self.exec, self.recovery)

    # ---- the loop -------------------------------------------------------------------------------
    def tick(self, now_s: float) -> None:
        """One control step at time `now_s`: read robots, progress tasks, plan, allocate, move."""
        f = self.floor
        f.now_s = now_s
        for rec in f.robots.values():
            rec.status = rec.adapter.status()
        self.exec.check_faults()
        self.exec.progress(self.tick_s)
        self.present.admit()  # submitted presentations first: they waited for room too
        self.g2p.plan()
        self.exec.battery()
        self.allocate()
        self.motion.step()
        f.kpi.on_tick(
            [self._tick_state(r) for r in f.robots.values()],
            {
                s.id: s.serving_robot is not None
                and f.robots[s.serving_robot].phase == Phase.SERVICE
                for s in f.stations.values()
            },
        )

    def _tick_state(self, rec: RobotRecord) -> str:
        if rec.phase in (Phase.TO_CHARGER, Phase.CHARGING):
            return "charging"
        if rec.phase != Phase.IDLE:
            return "working"
        if rec.status.error is not None or not rec.status.online or rec.out_of_service:
            return "blocked"
        if rec.status.battery_soc < self.floor.site.robot_model.charge_threshold:
            return "waiting_charger"  # needs a charge, every charger is taken
        return "idle"

    def allocate(self) -> None:
        """Hand queued robot tasks to free robots: robot-bound ones first, then by cost."""
        self.allocator.allocate()

    # ---- commands (see Commands: each validates fully before it changes anything) ------------
    def submit_order(self, order: Order) -> None:
        self.commands.submit_order(order)

    def cancel_order(self, order_id: str) -> None:
        self.commands.cancel_order(order_id)

    def set_order_priority(self, order_id: str, priority: int) -> None:
        self.commands.set_order_priority(order_id, priority)

    def submit_task(self, task: Task) -> None:
        self.commands.submit_task(task)

    def cancel_task(self, task_id: str) -> None:
        self.commands.cancel_task(task_id)

    def robot(self, robot_id: str) -> RobotRecord:
        return self.commands.robot(robot_id)

    def set_station_confirm(self, station_id: str, mode: str) -> None:
        self.commands.set_station_confirm(station_id, mode)

    def confirm_station(self, station_id: str, pod_id: str) -> dict[str, Any]:
        return self.commands.confirm_station(station_id, pod_id)

    def command_robot(self, robot_id: str, command: str) -> None:
        self.commands.command_robot(robot_id, command)
