"""JSON-ready snapshot of the control plane: robots, pods, stations and KPIs at its current time."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fleet_manager.dispatch import Phase

if TYPE_CHECKING:
    from fleet_manager.control.plane import ControlPlane

PATH_AHEAD_CELLS = 8


def _path_ahead(plane: ControlPlane, node: int, goal: int | None) -> list[list[float]]:
    """Up to PATH_AHEAD_CELLS cells of a shortest path towards the goal, as [x_m, y_m] points."""
    if goal is None or goal == node:
        return []
    d = plane.dispatcher
    table = d.graph.distances_to(goal)
    out = []
    for _ in range(PATH_AHEAD_CELLS):
        succ = d.graph.successors(node)
        if succ.size == 0:
            break
        nxt = int(succ[table[succ].argmin()])
        if table[nxt] >= table[node]:
            break
        node = nxt
        out.append([round(v, 3) for v in plane.site.node_xy_m(node)])
        if node == goal:
            break
    return out


def snapshot(plane: ControlPlane) -> dict[str, Any]:
    d = plane.dispatcher
    site = plane.site
    robots = []
    xy: dict[str, tuple[float, float]] = {}
    for rid in d.robot_order:
        rec = d.robots[rid]
        s = rec.adapter.status()
        # A vehicle that has not reported where it is yet has no position (a negative node
        # would index the last cell of the map).
        localised = 0 <= s.node < site.num_nodes
        if localised:
            x, y = site.node_xy_m(s.node)
            xy[rid] = (x, y)
        fault = s.error or rec.held_fault
        state = (
            "fault" if fault else "paused" if s.paused
            else "needs_check" if rec.needs_check else rec.phase.value
        )
        robots.append(
            {
                "id": rid,
                "x_m": round(x, 3) if localised else None,
                "y_m": round(y, 3) if localised else None,
                "heading_deg": round(s.heading_deg, 1),
                "state": state,
                "battery_soc": round(s.battery_soc, 4),
                "task_id": rec.task_id,
                "pod_id": s.pod_id,
                "paused": s.paused,
                "error": fault,
                "out_of_service": rec.out_of_service,
                "needs_check": rec.needs_check,
                "path_ahead": _path_ahead(plane, s.node, rec.goal) if localised else [],
                "connection": getattr(rec.adapter, "connection", "ONLINE"),
            }
        )
    pods = []
    for pid, pod in d.pods.items():
        if pod.carried_by is not None and pod.carried_by in xy:
            x, y = xy[pod.carried_by]
        else:  # in its slot, or on a robot not localised yet: shown at its home slot
            x, y = site.node_xy_m(site.slots[pod.slot or pod.home].node)
        pods.append(
            {"id": pid, "x_m": round(x, 3), "y_m": round(y, 3), "carried_by": pod.carried_by}
        )
    stations = []
    for sid, st in d.stations.items():
        lane = {v: i for i, v in enumerate(st.spec.queue)}
        queued = [
            r
            for r in d.robots.values()
            if r.station_id == sid and r.phase == Phase.TO_STATION and r.status.node in lane
        ]
        queued.sort(key=lambda r: -lane[r.status.node])
        picking = None
        if st.serving_robot is not None:
            rec = d.robots[st.serving_robot]
            task = d.tasks.get(rec.task_id) if rec.task_id else None
            picks = task.payload.get("picks", []) if task is not None else []
            picking = picks[0]["order"] if picks else None
        stations.append(
            {
                "id": sid,
                "queue_robot_ids": [r.id for r in queued],
                "serving_robot_id": st.serving_robot,
                "open_order_ids": list(st.order_ids),
                "picking_order_id": picking,
                "confirm": st.confirm,
                "presented_pod_id": (
                    d.robots[st.serving_robot].pod_id if st.serving_robot is not None else None
                ),
            }
        )
    return {
        "time_s": round(plane.now_s, 3),
        "robots": robots,
        "pods": pods,
        "stations": stations,
        "kpis": plane.kpis(),
    }
