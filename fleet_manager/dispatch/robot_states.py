"""Robot states of record: what a restart must not forget (lock-out, pause, fault, pod held)."""

from __future__ import annotations

from typing import Any

from fleet_manager.dispatch.events import Events
from fleet_manager.dispatch.records import Phase, RobotRecord
from fleet_manager.dispatch.state import FloorState


def state_of_record(rec: RobotRecord) -> dict[str, Any]:
    """One robot's state of record, as JSON-ready values."""
    s = rec.status
    fault = rec.held_fault or s.error
    return {
        "out_of_service": rec.out_of_service,
        "paused": bool(s.paused),
        "fault": fault,
        "pod_id": rec.pod_id if rec.pod_id is not None else s.pod_id,
        "in_task": rec.phase != Phase.IDLE or rec.task_id is not None,
        "needs_check": rec.needs_check,
    }


def robot_states(floor: FloorState) -> dict[str, dict[str, Any]]:
    return {rid: state_of_record(rec) for rid, rec in sorted(floor.robots.items())}


def restore(floor: FloorState, events: Events, states: dict[str, dict[str, Any]]) -> list[str]:
    """Put the stored states back on the robots before the first tick; returns the robot ids
    restored. A robot that was on a trip or held a pod when the last run died starts as
    "needs check": nobody knows where it and its pod are until it reports the pod or a
    technician confirms."""
    restored = []
    for rid, st in states.items():
        rec = floor.robots.get(rid)
        if rec is None or not isinstance(st, dict):
            continue
        rec.out_of_service = bool(st.get("out_of_service"))
        if st.get("paused"):
            rec.adapter.pause()
        if st.get("fault"):
            rec.held_fault = str(st["fault"])
        if st.get("needs_check"):
            rec.needs_check = str(st["needs_check"])
        pod_id = st.get("pod_id")
        rec.status = rec.adapter.status()
        if pod_id and rec.status.pod_id != pod_id:
            rec.needs_check = (
                f"robot {rid} held pod {pod_id} before the restart and does not report it now"
            )
        elif st.get("in_task") and not pod_id:
            rec.needs_check = f"robot {rid} was on a trip when the last run stopped"
        events.robot_event(rec, "restored", **{k: v for k, v in st.items() if v})
        restored.append(rid)
    return restored

