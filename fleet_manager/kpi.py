"""KPIs: throughput, cycle times, utilisation, station starvation, pile-on and conflicts."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from fleet_manager.domain import Order, StationId


class KpiTracker:
    """Counts over a measuring window [window_start_s, now]; `reset_window` drops a warm-up."""

    def __init__(self, station_ids: list[StationId], pick_time_s: dict[StationId, float]):
        self.station_ids = list(station_ids)
        self.pick_time_s = dict(pick_time_s)
        self.conflicts = 0  # counted over the whole run: must stay 0
        self.reset_window(0.0)

    def reset_window(self, now_s: float) -> None:
        self.window_start_s = now_s
        self.units = defaultdict(int)
        self.orders_done = 0
        self.lines_done = 0
        self.pod_visits = 0
        self.cycle_s: list[float] = []
        self.late_orders = 0
        self.robot_ticks = {
            "working": 0,
            "charging": 0,
            "waiting_charger": 0,
            "idle": 0,
            "blocked": 0,
        }
        self.station_ticks = 0
        self.station_serving = defaultdict(int)
        self.mismatches = 0
        self.orders_rejected = 0

    # ---- hooks -------------------------------------------------------------------------------
    def on_units(self, station: StationId, units: int) -> None:
        self.units[station] += units

    def on_visit(self) -> None:
        self.pod_visits += 1

    def on_order_done(self, order: Order, now_s: float) -> None:
        self.orders_done += 1
        self.lines_done += len(order.lines)
        self.cycle_s.append(now_s - order.created_s)
        if order.due_s is not None and now_s > order.due_s:
            self.late_orders += 1

    def on_tick(self, robot_states: list[str], serving: dict[StationId, bool]) -> None:
        for state in robot_states:
            self.robot_ticks[state] += 1
        self.station_ticks += 1
        for sid, busy in serving.items():
            if busy:
                self.station_serving[sid] += 1

    # ---- report ------------------------------------------------------------------------------
    def report(self, now_s: float, open_orders: int) -> dict[str, object]:
        hours = max(1e-9, (now_s - self.window_start_s) / 3600.0)
        units = sum(self.units.values())
        robot_total = max(1, sum(self.robot_ticks.values()))
        cap = sum(3600.0 / self.pick_time_s[s] for s in self.station_ids)
        cyc = np.asarray(self.cycle_s) if self.cycle_s else None
        station_idle = {
            s: round(1.0 - self.station_serving[s] / max(1, self.station_ticks), 4)
            for s in self.station_ids
        }
        return {
            "window_s": round(now_s - self.window_start_s, 3),
            "orders_completed": self.orders_done,
            "orders_open": open_orders,
            "orders_rejected": self.orders_rejected,
            "orders_per_h": round(self.orders_done / hours, 2),
            "units_picked": units,
            "units_per_h": round(units / hours, 2),
            "units_per_h_by_station": {
                s: round(self.units[s] / hours, 2) for s in self.station_ids
            },
            "station_capacity_units_per_h": round(cap, 2),
            "capacity_share": round(units / hours / cap, 4) if cap else 0.0,
            "pod_visits": self.pod_visits,
            "pod_visits_per_line": round(self.pod_visits / self.lines_done, 4)
            if self.lines_done
            else None,
            "robot_utilisation": round(self.robot_ticks["working"] / robot_total, 4),
            "robot_idle_share": round(self.robot_ticks["idle"] / robot_total, 4),
            "robot_charging_share": round(self.robot_ticks["charging"] / robot_total, 4),
            "robot_waiting_charger_share": round(
                self.robot_ticks["waiting_charger"] / robot_total, 4
            ),
            "robot_blocked_share": round(self.robot_ticks["blocked"] / robot_total, 4),
            "station_idle_share": station_idle,
            "station_idle_share_mean": round(float(np.mean(list(station_idle.values()))), 4)
            if station_idle
            else 0.0,
            "cycle_time_s_p50": round(float(np.percentile(cyc, 50)), 2)
            if cyc is not None
            else None,
            "cycle_time_s_p95": round(float(np.percentile(cyc, 95)), 2)
            if cyc is not None
            else None,
            "late_orders": self.late_orders,
            "pick_mismatches": self.mismatches,
            "conflicts": self.conflicts,
        }
