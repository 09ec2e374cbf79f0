"""AMR kinematics on a grid: speed, acceleration, turns, lifts and battery mapped to ticks."""

from __future__ import annotations

import math
from dataclasses import dataclass

from fleet_manager.site.model import RobotModel, Site

# Time model (documented in docs/simulation.md):
# - One tick is the time to cross one cell at cruise speed: tick_s = cell_size_m / speed_mps.
#   The planner moves every robot at most one cell per tick, so cruise speed is exact.
# - Starting from rest costs speed/accel extra seconds (accelerating to cruise and braking back
#   each lose v/(2a) against constant-speed travel); it is charged when the robot starts.
# - Turning costs turn_time_s * |angle| / 360 before the move; lifting or setting a pod down
#   costs lift_time_s. Extra time becomes "busy" time: the robot is pinned for the following
#   ticks until the debt is paid (rounded up to whole ticks).


@dataclass(frozen=True)
class TickModel:
    """Maps RobotModel kinematics and battery figures onto a fixed simulation tick."""

    model: RobotModel
    cell_m: float
    tick_s: float

    @classmethod
    def for_site(cls, site: Site) -> TickModel:
        model = site.robot_model
        return cls(model, site.cell_size_m, site.cell_size_m / model.speed_mps)

    @property
    def start_penalty_s(self) -> float:
        return self.model.speed_mps / self.model.accel_mps2

    def turn_s(self, from_deg: float, to_deg: float) -> float:
        diff = abs((to_deg - from_deg + 180.0) % 360.0 - 180.0)
        return self.model.turn_time_s * diff / 360.0

    @property
    def wh_per_cell(self) -> float:
        """Energy to cross one cell at cruise speed."""
        return self.model.drain_moving_w * self.tick_s / 3600.0

    def moving_wh(self, dt_s: float) -> float:
        return self.model.drain_moving_w * dt_s / 3600.0

    def idle_wh(self, dt_s: float) -> float:
        return self.model.drain_idle_w * dt_s / 3600.0

    def charge_wh(self, dt_s: float) -> float:
        return self.model.charge_w * dt_s / 3600.0

    def ticks_for(self, seconds: float) -> int:
        return max(0, math.ceil(seconds / self.tick_s - 1e-9))


def heading_between(x0: float, y0: float, x1: float, y1: float) -> float:
    """Heading in degrees, 0 = +x (east), 90 = north (up on the map, i.e. y decreasing)."""
    return math.degrees(math.atan2(-(y1 - y0), x1 - x0)) % 360.0
