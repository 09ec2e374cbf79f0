"""SimulatedRobot: simulated equipment, a RobotAdapter driven by the simulated clock on the grid."""

from __future__ import annotations

from typing import Any

import numpy as np

from fleet_manager.domain import NodeId, PodId, RobotId
from fleet_manager.robots.adapter import CommandRejected, RobotStatus
from fleet_manager.site.model import Site
from sim.kinematics import TickModel, heading_between

_EPS = 1e-9


class SimulatedRobot:
    """An AMR in the simulator. The world calls `advance(dt_s)` once per tick after commands.

    A move takes the tick it is given in; turning before it and starting from rest add busy
    time (see sim/kinematics.py), as do lifts and set-downs. Battery drains at the moving rate
    while driving, turning or lifting, at the idle rate otherwise, and charges while charging.
    """

    def __init__(
        self,
        robot_id: RobotId,
        node: NodeId,
        site: Site,
        ticks: TickModel,
        *,
        soc: float = 1.0,
        heading_deg: float = 0.0,
    ) -> None:
        self._id = robot_id
        self.node = node
        self.site = site
        self.ticks = ticks
        self.soc = float(soc)
        self.heading_deg = heading_deg
        self.pod_id: PodId | None = None
        self.busy_s = 0.0
        self.paused = False
        self.charging = False
        self.online = True
        self.error: str | None = None
        self.moving = False  # moved during the last tick (no start penalty when continuing)
        self._moved_now = False
        self.distance_cells = 0
        model = ticks.model
        self._moving_w, self._idle_w, self._charge_w = (
            model.drain_moving_w,
            model.drain_idle_w,
            model.charge_w,
        )
        self._battery_ws = model.battery_wh * 3600.0

    @property
    def id(self) -> RobotId:
        return self._id

    def status(self) -> RobotStatus:
        return RobotStatus(
            self._id,
            self.node,
            self.heading_deg,
            self.soc,
            self.busy_s > _EPS,
            self.pod_id,
            self.online,
            self.error,
            self.charging,
            self.paused,
        )

    def _require_free(self, what: str) -> None:
        if not self.online or self.error:
            raise CommandRejected(f"robot {self._id}: {what} rejected, robot offline or faulted")
        if self.paused:
            raise CommandRejected(f"robot {self._id}: {what} rejected, robot is paused")
        if self.busy_s > _EPS:
            raise CommandRejected(f"robot {self._id}: {what} rejected, robot is busy")

    def move_to(self, node: NodeId) -> None:
        if node == self.node:
            return
        self._require_free(f"move to node {node}")
        if self.charging:
            raise CommandRejected(f"robot {self._id}: move rejected, robot is charging")
        if not self.site.graph.has_edge(self.node, node):
            raise CommandRejected(f"robot {self._id}: node {node} is not next to node {self.node}")
        (x0, y0), (x1, y1) = self.site.coord(self.node), self.site.coord(node)
        heading = heading_between(x0, y0, x1, y1)
        extra = self.ticks.turn_s(self.heading_deg, heading)
        if not self.moving:
            extra += self.ticks.start_penalty_s
        self.heading_deg = heading
        self.node = node
        self.busy_s += extra
        self._moved_now = True
        self.distance_cells += 1

    def lift_pod(self, pod_id: PodId) -> None:
        self._require_free(f"lift pod {pod_id}")
        if self.pod_id is not None:
            raise CommandRejected(f"robot {self._id}: already carries pod {self.pod_id}")
        self.pod_id = pod_id
        self.busy_s += self.ticks.model.lift_time_s

    def set_down_pod(self) -> None:
        self._require_free("set down pod")
        if self.pod_id is None:
            raise CommandRejected(f"robot {self._id}: carries no pod to set down")
        self.pod_id = None
        self.busy_s += self.ticks.model.lift_time_s

    def start_charging(self) -> None:
        if not self.online or self.error:
            raise CommandRejected(f"robot {self._id}: cannot charge, robot offline or faulted")
        self.charging = True

    def stop_charging(self) -> None:
        self.charging = False

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False

    def set_fault(self, code: str) -> None:
        self.error = code

    def clear_fault(self) -> None:
        self.error = None

    def advance(self, dt_s: float) -> None:
        """Let `dt_s` seconds pass: pay busy time, drain or charge the battery."""
        working = self._moved_now or self.busy_s > _EPS
        rate_w = self._moving_w if working else self._idle_w
        if self.charging:
            rate_w -= self._charge_w
        soc = self.soc - rate_w * dt_s / self._battery_ws
        self.soc = min(1.0, max(soc, 0.0))
        if not self._moved_now and self.busy_s > 0.0:
            self.busy_s = max(0.0, self.busy_s - dt_s)
        self.moving = self._moved_now
        self._moved_now = False
        if self.soc <= 0.0 and self.error is None:
            self.error = "battery_empty"


def simulated_fleet(site: Site, count: int, seed: int = 0) -> tuple[list[SimulatedRobot], Any]:
    """`count` in-process simulated AMRs at the map's robot starts (plant fleets with adapter
    `simulated`), and the hook that lets one control tick pass for them."""
    ticks = TickModel.for_site(site)
    starts = [r for r in site.robots][:count]
    if len(starts) < count:
        raise ValueError(f"simulated fleet: the map places {len(starts)} robots, {count} asked")
    rng = np.random.default_rng(seed)
    robots = [
        SimulatedRobot(r.id, r.start, site, ticks, soc=float(rng.uniform(0.6, 1.0)))
        for r in starts
    ]

    def advance(_now_s: float) -> None:
        for robot in robots:
            robot.advance(ticks.tick_s)

    return robots, advance
