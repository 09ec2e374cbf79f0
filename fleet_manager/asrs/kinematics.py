"""Stacker crane travel times: trapezoidal profile per axis, Chebyshev (max) of the two axes."""

from __future__ import annotations

import math

import numpy as np

from fleet_manager.site.model import CraneModel


def axis_time_s(distance_m: np.ndarray | float, speed_mps: float, accel_mps2: float) -> np.ndarray:
    """Time to cover `distance_m` from rest to rest on one axis (trapezoid, or triangle if short).

    accel_mps2 = inf gives the constant-speed model used by the Bozer-White formulas.
    """
    d = np.abs(np.asarray(distance_m, dtype=float))
    if math.isinf(accel_mps2):
        return d / speed_mps
    d_ramp_m = speed_mps * speed_mps / accel_mps2  # distance spent accelerating plus braking
    triangle = 2.0 * np.sqrt(d / accel_mps2)
    trapezoid = d / speed_mps + speed_mps / accel_mps2
    return np.where(d < d_ramp_m, triangle, trapezoid)


class CraneKinematics:
    """Move and cycle times of one crane; both axes move at once, so a move takes the slower one."""

    def __init__(self, model: CraneModel) -> None:
        self.model = model

    def move_time_s(
        self,
        x0_m: np.ndarray | float,
        y0_m: np.ndarray | float,
        x1_m: np.ndarray | float,
        y1_m: np.ndarray | float,
    ) -> np.ndarray:
        m = self.model
        t_h = axis_time_s(np.subtract(x1_m, x0_m), m.travel_speed_mps, m.travel_accel_mps2)
        t_v = axis_time_s(np.subtract(y1_m, y0_m), m.hoist_speed_mps, m.hoist_accel_mps2)
        return np.maximum(t_h, t_v)

    def single_cycle_s(self, x_m: np.ndarray | float, y_m: np.ndarray | float) -> np.ndarray:
        """I/O -> slot -> I/O with two fork operations (pick up and set down)."""
        return 2.0 * self.move_time_s(0.0, 0.0, x_m, y_m) + 2.0 * self.model.fork_time_s

    def dual_cycle_s(
        self,
        xs_m: np.ndarray | float,
        ys_m: np.ndarray | float,
        xr_m: np.ndarray | float,
        yr_m: np.ndarray | float,
    ) -> np.ndarray:
        """I/O -> store slot -> retrieve slot -> I/O with four fork operations."""
        return (
            self.move_time_s(0.0, 0.0, xs_m, ys_m)
            + self.move_time_s(xs_m, ys_m, xr_m, yr_m)
            + self.move_time_s(xr_m, yr_m, 0.0, 0.0)
            + 4.0 * self.model.fork_time_s
        )


def fem_reference_cycles_s(model: CraneModel, length_m: float, height_m: float) -> tuple[float, float]:
    """FEM 9.851-style reference points: P1 = (L/5, 2H/3), P2 = (2L/3, H/5); (single, dual)."""
    kin = CraneKinematics(model)
    p1 = (length_m / 5.0, 2.0 * height_m / 3.0)
    p2 = (2.0 * length_m / 3.0, height_m / 5.0)
    single = 0.5 * (float(kin.single_cycle_s(*p1)) + float(kin.single_cycle_s(*p2)))
    dual = float(kin.dual_cycle_s(*p1, *p2))
    return single, dual


def bozer_white_cycles_s(model: CraneModel, length_m: float, height_m: float) -> tuple[float, float]:
    """Bozer & White (1984) expected cycles, constant speeds, random storage; (single, dual)."""
    t_h = length_m / model.travel_speed_mps
    t_v = height_m / model.hoist_speed_mps
    t_max = max(t_h, t_v)
    b = min(t_h, t_v) / t_max
    single = t_max * (1.0 + b * b / 3.0) + 2.0 * model.fork_time_s
    dual = t_max / 30.0 * (40.0 + 15.0 * b * b - b**3) + 4.0 * model.fork_time_s
    return single, dual
