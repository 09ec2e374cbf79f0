"""Task execution per robot: start a task, detect arrivals, lift, set down, charge, park."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fleet_manager.allocation import needs_charge
from fleet_manager.dispatch.events import FETCH_KINDS, Events
from fleet_manager.dispatch.records import Phase, RobotRecord
from fleet_manager.dispatch.recovery import LIFTED, PodRecovery
from fleet_manager.dispatch.state import FloorState
from fleet_manager.dispatch.station_service import StationService
from fleet_manager.domain import PodId, Task, TaskKind, TaskState
from fleet_manager.robots.adapter import CommandRejected


class Executor:
    """Moves each robot through the phases of its task; one instance per dispatcher.

    `service` runs the station visit; `pod_released(pod)` tells the G2P planner a pod is free;
    `recovery` handles robots that stop with a pod on board.
    """

    def __init__(
        self,
        floor: FloorState,
        events: Events,
        service: StationService,
        pod_released: Callable[[PodId], None],
        recovery: PodRecovery,
    ):
        self.floor = floor
        self.events = events
        self.service = service
        self.pod_released = pod_released
        self.recovery = recovery
        self._battery_ticks = 0

    def start(self, rec: RobotRecord, task: Task) -> bool:
        """Assign `task` to `rec` and set its first goal; False when it cannot start now."""
        f = self.floor
        p = task.payload
        if rec.park_id is not None:  # leaving its parking spot (or re-parking elsewhere)
            f.park_user[rec.park_id] = None
            rec.park_id = None
        if task.kind in FETCH_KINDS:
            slot = f.pods[p["pod"]].slot
            if slot is None:  # not in storage (on a stopped robot): never start such a trip
                return False
            rec.phase, rec.pod_id, rec.station_id = Phase.TO_POD, p["pod"], p["station"]
            rec.goal = f.site.slots[slot].node
        elif task.kind == TaskKind.CHARGE:
            charger = self._free_charger(rec)
            if charger is None:
                return False
            f.charger_user[charger] = rec.id
            rec.phase, rec.charger_id, rec.goal = (
                Phase.TO_CHARGER,
                charger,
                f.site.chargers[charger].node,
            )
        elif task.kind == TaskKind.PARK:
            spot = p.get("spot") or self._free_spot(rec)
            if spot is None or f.park_user.get(spot) not in (None, rec.id):
                return False  # no free spot (or the asked one is taken): wait
            f.park_user[spot] = rec.id
            rec.phase, rec.park_id, rec.goal = Phase.TO_PARK, spot, f.site.parking[spot].node
        else:
            return False
        rec.task_id = task.id
        self.events.transition(task, TaskState.ASSIGNED, "allocated", rec.id)
        self.events.robot_event(rec, "assigned")
        return True

    def _free_charger(self, rec: RobotRecord) -> str | None:
        return self._nearest_free(self.floor.charger_user, self.floor.site.chargers, rec)

    def _free_spot(self, rec: RobotRecord) -> str | None:
        return self._nearest_free(self.floor.park_user, self.floor.site.parking, rec)

    def _nearest_free(
        self, users: Mapping[str, str | None], places: Mapping[str, Any], rec: RobotRecord
    ) -> str | None:
        """The unused place (charger, parking spot) fewest hops from the robot; ties by id."""
        free = [k for k, user in users.items() if user is None]
        if not free:
            return None
        return min(
            free,
            key=lambda k: (self.floor.graph.distances_to(places[k].node)[rec.status.node], k),
        )

    # ---- per tick ------------------------------------------------------------------------------
    def check_faults(self) -> None:
        for rec in self.floor.robots.values():
            s = rec.status
            if not rec.seen_online:
                if not s.online:
                    continue  # never heard from yet: its fleet link reports that, not a fault
                rec.seen_online = True
            faulted = s.error is not None or not s.online or rec.held_fault is not None
            if faulted and rec.fault_alarm_id is None:
                code = s.error or rec.held_fault or "offline"
                alarm = self.floor.alarms.raise_alarm(
                    f"robot:{rec.id}", code, "error", f"robot {rec.id} stopped: {code}"
                )
                rec.fault_alarm_id = alarm.id
                self.events.robot_event(rec, "fault", code=code)
                self.stopped(rec, f"robot {rec.id} stopped: {code}")
            elif not faulted and rec.fault_alarm_id is not None:
                self.floor.alarms.clear(rec.fault_alarm_id)
                rec.fault_alarm_id = None
                self.events.robot_event(rec, "recovered")

    def battery(self) -> None:
        """Insert a charge task for every idle robot below the charge threshold."""
        f = self.floor
        self._battery_ticks += 1
        if self._battery_ticks % 4:
            return  # state of charge moves slowly: checking every 4th tick is plenty
        pending = {t.payload.get("robot") for t in f.queued.values() if t.kind == TaskKind.CHARGE}
        for rec in f.robots.values():
            if (
                rec.can_take_work
                and rec.id not in pending
                and needs_charge(rec.status.battery_soc, f.site.robot_model)
                and f.site.chargers
            ):
                self.events.new_task(TaskKind.CHARGE, {"robot": rec.id}, priority=10)

    def progress(self, dt_s: float) -> None:
        for rec in self.floor.robots.values():
            s = rec.status
            if s.pod_id is not None and rec.pod_id is None:
                rec.needs_check = None  # it reports its pod: the robot's word settles the check
                self.recovery.adopt_reported(rec)
            if self.recovery.carries_home_pending(rec):
                self.recovery.bring_home(rec)
            if rec.phase == Phase.SERVICE:
                if not s.busy and not s.paused:
                    rec.service_left_s -= dt_s
                    if rec.service_left_s <= 1e-9:
                        self.service.finish(rec)
                        rec.status = rec.adapter.status()
                continue
            if rec.phase == Phase.CHARGING:
                if s.battery_soc >= self.floor.site.robot_model.charge_target:
                    self._finish_charge(rec)
                    rec.status = rec.adapter.status()
                continue
            if s.busy or s.paused or s.error is not None or not s.online:
                continue
            if rec.goal is not None and s.node == rec.goal:
                self._arrive(rec)
                rec.status = rec.adapter.status()  # lifts and set-downs make the robot busy

    def _arrive(self, rec: RobotRecord) -> None:
        f = self.floor
        task = f.tasks.get(rec.task_id) if rec.task_id else None
        try:
            if rec.phase == Phase.TO_POD and task is not None:
                pod = f.pods[rec.pod_id]
                rec.adapter.lift_pod(pod.id)
                f.slot_pod.pop(pod.slot, None)
                pod.slot, pod.carried_by = None, rec.id
                self.events.transition(task, TaskState.ACTIVE, "pod lifted", rec.id)
                rec.phase, rec.goal = Phase.TO_STATION, f.site.stations[rec.station_id].node
            elif rec.phase == Phase.TO_STATION:
                self.service.begin(rec)
            elif rec.phase == Phase.TO_SLOT:
                self._set_down(rec)
            elif rec.phase == Phase.TO_CHARGER and task is not None:
                rec.adapter.start_charging()
                self.events.transition(task, TaskState.ACTIVE, "charging", rec.id)
                rec.phase = Phase.CHARGING
            elif rec.phase == Phase.TO_PARK and task is not None:
                self.events.transition(task, TaskState.ACTIVE, "parking", rec.id)
                self.events.transition(task, TaskState.DONE, "parked", rec.id)
                self.make_idle(rec, parked=True)
        except CommandRejected as exc:
            self.events.robot_event(rec, "command_rejected", message=str(exc))

    def _set_down(self, rec: RobotRecord) -> None:
        f = self.floor
        pod = f.pods[rec.pod_id]
        rec.adapter.set_down_pod()
        f.slot_reserved.discard(rec.slot_id)
        f.slot_pod[rec.slot_id] = pod.id
        pod.slot, pod.carried_by, pod.task_id = rec.slot_id, None, None
        self.recovery.pod_home(pod.id)
        task = f.tasks.get(rec.task_id) if rec.task_id else None
        if task is not None and not task.is_terminal:
            self.events.transition(task, TaskState.DONE, "pod returned", rec.id)
        self.make_idle(rec)
        self.pod_released(pod.id)

    def _finish_charge(self, rec: RobotRecord) -> None:
        f = self.floor
        rec.adapter.stop_charging()
        task = f.tasks.get(rec.task_id) if rec.task_id else None
        if task is not None and not task.is_terminal:
            self.events.transition(task, TaskState.DONE, "charged", rec.id)
        self.make_idle(rec)

    def make_idle(self, rec: RobotRecord, *, parked: bool = False) -> None:
        """Back to idle; a robot that just parked keeps its spot until its next task."""
        f = self.floor
        if rec.charger_id is not None:
            f.charger_user[rec.charger_id] = None
        if rec.park_id is not None and not parked:
            f.park_user[rec.park_id] = None
            rec.park_id = None
        rec.phase, rec.task_id, rec.goal = Phase.IDLE, None, None
        rec.pod_id = rec.slot_id = rec.station_id = rec.charger_id = None
        self.events.robot_event(rec, "idle")

    def stopped(self, rec: RobotRecord, reason: str) -> None:
        """The robot can no longer do its task (fault, lost link, out of service): hand back
        what it has not started; with a pod on board the lines are re-planned and the pod
        stays on the robot until it can bring it home."""
        if rec.task_id is None:
            return
        if rec.phase in (Phase.TO_POD, Phase.TO_CHARGER, Phase.CHARGING, Phase.TO_PARK):
            self.release(rec, reason)
        elif rec.phase in LIFTED:
            self.recovery.strand(rec, reason)

    # ---- hand back ------------------------------------------------------------------------------
    def release(self, rec: RobotRecord, reason: str) -> None:
        """Take the robot off its task before the pod is lifted: the task goes back to the queue."""
        f = self.floor
        task = f.tasks.get(rec.task_id) if rec.task_id else None
        if rec.status.charging:
            try:
                rec.adapter.stop_charging()
            except CommandRejected as exc:  # e.g. a dead link: the task is handed back anyway
                self.events.robot_event(rec, "command_rejected", message=str(exc))
        if task is not None and not task.is_terminal:
            self.events.transition(task, TaskState.QUEUED, reason)
        if rec.park_id is not None:
            f.park_user[rec.park_id] = None
            rec.park_id = None
        self.make_idle(rec)
