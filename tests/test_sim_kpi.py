"""KPI tracker arithmetic on hand-fed events: throughput, cycle times, shares, warm-up window."""

from __future__ import annotations

import pytest

from fleet_manager.domain import Order, OrderLine
from fleet_manager.kpi import KpiTracker


def test_report_arithmetic_and_window_reset() -> None:
    kpi = KpiTracker(["S1", "S2"], {"S1": 10.0, "S2": 20.0})
    kpi.on_units("S1", 99)  # before the window: dropped by the reset
    kpi.reset_window(100.0)
    kpi.on_units("S1", 30)
    kpi.on_units("S2", 10)
    for i in range(4):
        kpi.on_visit()
        order = Order(f"O{i}", [OrderLine("A", 1), OrderLine("B", 1)], created_s=100.0, due_s=300.0)
        kpi.on_order_done(order, 100.0 + 100.0 * (i + 1))
    kpi.on_tick(["working", "working", "idle", "charging"], {"S1": True, "S2": False})
    kpi.on_tick(["working", "waiting_charger", "idle", "blocked"], {"S1": True, "S2": True})
    r = kpi.report(100.0 + 1800.0, open_orders=3)
    assert r["window_s"] == 1800.0
    assert r["units_picked"] == 40 and r["units_per_h"] == 80.0
    assert r["units_per_h_by_station"] == {"S1": 60.0, "S2": 20.0}
    assert r["station_capacity_units_per_h"] == 360.0 + 180.0
    assert r["capacity_share"] == pytest.approx(80.0 / 540.0, abs=1e-4)
    assert r["orders_completed"] == 4 and r["orders_per_h"] == 8.0 and r["orders_open"] == 3
    assert r["pod_visits_per_line"] == 0.5  # 4 visits for 8 lines: pile-on
    assert r["cycle_time_s_p50"] == 250.0 and r["late_orders"] == 2  # done at 400 and 500 > 300
    assert r["robot_utilisation"] == 3 / 8 and r["robot_idle_share"] == 2 / 8
    assert r["robot_waiting_charger_share"] == 1 / 8 and r["robot_blocked_share"] == 1 / 8
    assert r["station_idle_share"] == {"S1": 0.0, "S2": 0.5}
