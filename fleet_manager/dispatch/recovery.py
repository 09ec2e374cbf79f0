"""Pod recovery: a robot that stops with a pod on board, a cancelled trip after the lift.

A fetch whose robot faults, loses its link or is taken out of service after the lift cannot
go on: its unpicked lines go back to planning (another pod or robot serves them), the task
fails with the reason, and the pod stays "on robot X" (one alarm and one `pod` event) until the
robot can move again and brings it home to storage. A trip cancelled after the lift (the task,
or the last order it served) brings the pod home at once instead of visiting the station.
"""

from __future__ import annotations

from collections.abc import Callable

from fleet_manager.dispatch.events import Events
from fleet_manager.dispatch.records import Phase, RobotRecord
from fleet_manager.dispatch.state import FloorState
from fleet_manager.domain import NodeId, PodId, SlotId, Task, TaskState

LIFTED = (Phase.TO_STATION, Phase.SERVICE)  # pod on board, picks still to do


class PodRecovery:
    """`return_slot(pod, node)` reserves a storage slot; `withdraw(task)` drops a WMS
    presentation from its station's queue."""

    def __init__(
        self,
        floor: FloorState,
        events: Events,
        return_slot: Callable[[PodId, NodeId], SlotId],
        withdraw: Callable[[Task], None],
    ) -> None:
        self.floor = floor
        self.events = events
        self.return_slot = return_slot
        self.withdraw = withdraw
        self.alarm_of: dict[PodId, str] = {}  # pod on a stopped robot -> its alarm id

    def release_picks(self, task: Task) -> None:
        """Give a fetch's unpicked lines back to planning (reservations, station inbound)."""
        f = self.floor
        pod_id = task.payload.get("pod")
        for p in task.payload.get("picks", []):
            f.inventory.release(pod_id, p["sku"], p["qty"])
            f.line_reserved[(p["order"], p["line"])] -= p["qty"]
        task.payload["picks"] = []
        station = f.stations.get(task.payload.get("station", ""))
        if station is not None:
            station.inbound.discard(task.id)
            station.dirty = True
            if station.serving_robot == task.resource_id:
                station.serving_robot = None
        self.withdraw(task)

    def strand(self, rec: RobotRecord, reason: str) -> None:
        """The robot stopped with a pod on board before its picks: re-plan the lines, fail the
        task, keep the pod on the robot until it can move again."""
        f = self.floor
        task = f.tasks.get(rec.task_id) if rec.task_id else None
        pod_id = rec.pod_id
        if task is not None and not task.is_terminal:
            self.release_picks(task)
            self.events.transition(task, TaskState.FAILED, reason, rec.id)
        if pod_id is not None and pod_id not in self.alarm_of:
            f.pods[pod_id].task_id = None
            self.alarm_of[pod_id] = f.alarms.raise_alarm(
                f"pod:{pod_id}", "pod_on_stopped_robot", "critical",
                f"pod {pod_id} is on robot {rec.id}, which stopped ({reason}); it goes back to "
                "storage when the robot can move again",
            ).id
            f.bus.emit("pod", "stranded", f.now_s, pod_id=pod_id, robot_id=rec.id, reason=reason)
        rec.phase, rec.task_id, rec.goal, rec.station_id = Phase.IDLE, None, None, None
        self.events.robot_event(rec, "stranded", pod_id=pod_id, reason=reason)

    def cancel_lifted(self, rec: RobotRecord, task: Task, reason: str) -> None:
        """A lifted trip cancelled: lines back to planning, the pod straight home."""
        self.release_picks(task)
        self.events.transition(task, TaskState.CANCELLED, reason, rec.id)
        rec.task_id = None
        self.bring_home(rec)

    def bring_home(self, rec: RobotRecord) -> None:
        """Send the robot with the pod on board to a free storage slot."""
        f = self.floor
        assert rec.pod_id is not None
        rec.slot_id = self.return_slot(rec.pod_id, rec.status.node)
        rec.phase, rec.goal, rec.station_id = Phase.TO_SLOT, f.site.slots[rec.slot_id].node, None
        self.events.robot_event(rec, "returning_pod", pod_id=rec.pod_id)

    def carries_home_pending(self, rec: RobotRecord) -> bool:
        """Idle with a pod on board (a recovered robot): it should bring the pod home."""
        s = rec.status
        return (
            rec.phase == Phase.IDLE
            and rec.pod_id is not None
            and self.floor.pods[rec.pod_id].carried_by == rec.id
            and rec.task_id is None
            and s.online
            and s.error is None
            and not s.paused
            and not s.busy
            and not rec.out_of_service
            and rec.held_fault is None
            and rec.needs_check is None
            and 0 <= s.node < self.floor.graph.n
        )

    def adopt_reported(self, rec: RobotRecord) -> None:
        """A robot reports a pod this control plane did not give it (e.g. after a restart of
        the WCS mid-trip): the robot's word is the truth, so the pod is "on robot X" now and
        goes home as soon as the robot can move."""
        f = self.floor
        pod_id = rec.status.pod_id
        pod = f.pods.get(pod_id) if pod_id else None
        if pod is None or rec.pod_id is not None or rec.phase != Phase.IDLE:
            return
        if pod.carried_by not in (None, rec.id):
            return  # claimed by another robot's report: leave it to a technician
        if pod.task_id is not None:  # planned as if in storage: that trip cannot happen
            self._drop_trip(f.tasks[pod.task_id], f"pod {pod.id} is on robot {rec.id}")
        if pod.slot is not None:
            f.slot_pod.pop(pod.slot, None)
        pod.slot, pod.carried_by, pod.task_id = None, rec.id, None
        rec.pod_id = pod.id
        f.bus.emit("pod", "on_robot", f.now_s, pod_id=pod.id, robot_id=rec.id,
                   reason="reported by the robot")

    def _drop_trip(self, task: Task, reason: str) -> None:
        """A fetch of a pod that is not where the plan thought: its lines go back to planning,
        the task fails with the reason and the robot driving to the pod (if any) is free."""
        f = self.floor
        if task.is_terminal:
            return
        driver = f.robots.get(task.resource_id) if task.resource_id else None
        self.release_picks(task)
        self.events.transition(task, TaskState.FAILED, reason)
        if driver is not None and driver.task_id == task.id:
            driver.phase, driver.task_id, driver.goal = Phase.IDLE, None, None
            driver.pod_id = driver.station_id = None
            self.events.robot_event(driver, "idle")

    def pod_home(self, pod_id: PodId) -> None:
        """The pod is back in storage: its alarm (if any) clears."""
        alarm = self.alarm_of.pop(pod_id, None)
        if alarm is not None:
            self.floor.alarms.clear(alarm)
