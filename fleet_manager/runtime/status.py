"""The one-line status `wcs run` prints: sim time, orders done, units/h, robots busy/charging."""

from __future__ import annotations

from typing import Any

IDLE_STATES = frozenset({"idle", "fault", "paused"})
CHARGING_STATES = frozenset({"charging", "to_charger"})


def _robot_counts(robots: Any) -> tuple[int, int]:
    """(busy, charging): busy = on a task; charging = at or heading to a charger."""
    found = robots.values() if isinstance(robots, dict) else robots or []
    busy = charging = 0
    for robot in found:
        state = str(robot.get("state", "idle"))
        if state in CHARGING_STATES:
            charging += 1
        elif state not in IDLE_STATES and not robot.get("out_of_service"):
            busy += 1
    return busy, charging


def status_line(runtime: Any) -> str:
    snap = runtime.snapshot()
    kpis = snap.get("kpis", {}) or {}
    robots = snap.get("robots", [])
    counts = runtime.store.count_orders()
    t = runtime.now_s
    clock = f"{int(t // 3600):02d}:{int(t % 3600 // 60):02d}:{int(t % 60):02d}"
    uph = kpis.get("units_per_h", kpis.get("site_units_per_h", 0.0)) or 0.0
    busy, charging = _robot_counts(robots)
    n = len(robots)
    open_orders = counts.get("open", 0) + counts.get("in_progress", 0)
    lag = f"  lag {runtime.stats.lag_s:.1f}s" if runtime.stats.lag_s > 1.0 else ""
    return (
        f"sim {clock}  orders done {counts.get('done', 0)} open {open_orders}"
        f"  {float(uph):.0f} units/h  robots busy {busy}/{n} charging {charging}{lag}"
    )
