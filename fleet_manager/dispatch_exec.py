"""Task execution per robot: start a task, detect arrivals, lift, set down, charge, park."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from fleet_manager.allocation import TaskView, needs_charge
from fleet_manager.dispatch_service import StationService
from fleet_manager.dispatch_state import Phase, RobotRecord
from fleet_manager.domain import Task, TaskKind, TaskState
from fleet_manager.robots.adapter import CommandRejected

if TYPE_CHECKING:
    from fleet_manager.dispatch import Dispatcher

FETCH_KINDS = (TaskKind.POD_FETCH, TaskKind.REPLENISH)
ROBOT_KINDS = (*FETCH_KINDS, TaskKind.CHARGE, TaskKind.PARK)


class Executor:
    """Moves each robot through the phases of its task; one instance per dispatcher."""

    def __init__(self, d: Dispatcher):
        self.d = d
        self.service = StationService(d)
        self._battery_ticks = 0

    # ---- allocation helpers -------------------------------------------------------------------
    def robot_task(self, task: Task) -> bool:
        # A presentation becomes allocatable once admitted to its station's queue.
        return task.kind in ROBOT_KINDS and task.payload.get("admitted", True) is not False

    def station_waits(self) -> dict[str, float]:
        """Expected queueing at each station: service time of the pods already on their way."""
        d = self.d
        waits = {}
        for sid, st in d.stations.items():
            busy = [d.tasks[t] for t in st.inbound if d.tasks[t].state != TaskState.QUEUED]
            waits[sid] = sum(t.payload.get("service_s", 0.0) for t in busy)
        return waits

    def task_view(self, task: Task, waits: dict[str, float]) -> TaskView:
        d = self.d
        p = task.payload
        if task.kind in FETCH_KINDS:
            bonus = (
                d.config.age_weight * (d.now_s - task.created_s)
                + d.config.priority_weight_s * task.priority
            )
            return TaskView(
                task.id,
                p["pickup"],
                p["end"],
                p["work_cells"],
                p["service_s"],
                waits.get(p["station"], 0.0),
                bonus,
            )
        if task.kind == TaskKind.PARK:
            spots = (
                [p["spot"]] if p.get("spot") else [s for s, u in d.park_user.items() if u is None]
            )
            node = d.site.parking[spots[0]].node if spots else 0
        else:
            free = [c for c, u in d.charger_user.items() if u is None]
            node = d.site.chargers[free[0]].node if free else 0
        return TaskView(task.id, node, node)

    def start(self, rec: RobotRecord, task: Task) -> bool:
        """Assign `task` to `rec` and set its first goal; False when it cannot start now."""
        d = self.d
        p = task.payload
        if rec.park_id is not None:  # leaving its parking spot (or re-parking elsewhere)
            d.park_user[rec.park_id] = None
            rec.park_id = None
        if task.kind in FETCH_KINDS:
            rec.phase, rec.pod_id, rec.station_id = Phase.TO_POD, p["pod"], p["station"]
            slot = d.pods[p["pod"]].slot
            assert slot is not None, f"pod {p['pod']} of queued task {task.id} is not in storage"
            rec.goal = d.site.slots[slot].node
        elif task.kind == TaskKind.CHARGE:
            charger = self._free_charger(rec)
            if charger is None:
                return False
            d.charger_user[charger] = rec.id
            rec.phase, rec.charger_id, rec.goal = (
                Phase.TO_CHARGER,
                charger,
                d.site.chargers[charger].node,
            )
        elif task.kind == TaskKind.PARK:
            spot = p.get("spot") or self._free_spot(rec)
            if spot is None or d.park_user.get(spot) not in (None, rec.id):
                return False  # no free spot (or the asked one is taken): wait
            d.park_user[spot] = rec.id
            rec.phase, rec.park_id, rec.goal = Phase.TO_PARK, spot, d.site.parking[spot].node
        else:
            return False
        rec.task_id = task.id
        d.transition(task, TaskState.ASSIGNED, "allocated", rec.id)
        d.robot_event(rec, "assigned")
        return True

    def _free_charger(self, rec: RobotRecord) -> str | None:
        return self._nearest_free(self.d.charger_user, self.d.site.chargers, rec)

    def _free_spot(self, rec: RobotRecord) -> str | None:
        return self._nearest_free(self.d.park_user, self.d.site.parking, rec)

    def _nearest_free(
        self, users: Mapping[str, str | None], places: Mapping[str, Any], rec: RobotRecord
    ) -> str | None:
        """The unused place (charger, parking spot) fewest hops from the robot; ties by id."""
        free = [k for k, user in users.items() if user is None]
        if not free:
            return None
        return min(
            free,
            key=lambda k: (self.d.graph.distances_to(places[k].node)[rec.status.node], k),
        )

    # ---- per tick ------------------------------------------------------------------------------
    def check_faults(self) -> None:
        for rec in self.d.robots.values():
            s = rec.status
            faulted = s.error is not None or not s.online
            if faulted and rec.fault_alarm_id is None:
                code = s.error or "offline"
                alarm = self.d.alarms.raise_alarm(
                    f"robot:{rec.id}", code, "error", f"robot {rec.id} stopped: {code}"
                )
                rec.fault_alarm_id = alarm.id
                self.d.robot_event(rec, "fault", code=code)
                if not s.online:
                    self._offline(rec)
            elif not faulted and rec.fault_alarm_id is not None:
                self.d.alarms.clear(rec.fault_alarm_id)
                rec.fault_alarm_id = None
                self.d.robot_event(rec, "recovered")

    def battery(self) -> None:
        """Insert a charge task for every idle robot below the charge threshold."""
        d = self.d
        self._battery_ticks += 1
        if self._battery_ticks % 4:
            return  # state of charge moves slowly: checking every 4th tick is plenty
        pending = {t.payload.get("robot") for t in d.queued.values() if t.kind == TaskKind.CHARGE}
        for rec in d.robots.values():
            if (
                rec.can_take_work
                and rec.id not in pending
                and needs_charge(rec.status.battery_soc, d.site.robot_model)
                and d.site.chargers
            ):
                d.new_task(TaskKind.CHARGE, {"robot": rec.id}, priority=10)

    def progress(self, dt_s: float) -> None:
        for rec in self.d.robots.values():
            s = rec.status
            if rec.phase == Phase.SERVICE:
                if not s.busy and not s.paused:
                    rec.service_left_s -= dt_s
                    if rec.service_left_s <= 1e-9:
                        self.service.finish(rec)
                        rec.status = rec.adapter.status()
                continue
            if rec.phase == Phase.CHARGING:
                if s.battery_soc >= self.d.site.robot_model.charge_target:
                    self._finish_charge(rec)
                    rec.status = rec.adapter.status()
                continue
            if s.busy or s.paused or s.error is not None or not s.online:
                continue
            if rec.goal is not None and s.node == rec.goal:
                self._arrive(rec)
                rec.status = rec.adapter.status()  # lifts and set-downs make the robot busy

    def _arrive(self, rec: RobotRecord) -> None:
        d = self.d
        task = d.tasks.get(rec.task_id) if rec.task_id else None
        try:
            if rec.phase == Phase.TO_POD and task is not None:
                pod = d.pods[rec.pod_id]
                rec.adapter.lift_pod(pod.id)
                d.slot_pod.pop(pod.slot, None)
                pod.slot, pod.carried_by = None, rec.id
                d.transition(task, TaskState.ACTIVE, "pod lifted", rec.id)
                rec.phase, rec.goal = Phase.TO_STATION, d.site.stations[rec.station_id].node
            elif rec.phase == Phase.TO_STATION:
                self.service.begin(rec)
            elif rec.phase == Phase.TO_SLOT:
                self._set_down(rec)
            elif rec.phase == Phase.TO_CHARGER and task is not None:
                rec.adapter.start_charging()
                d.transition(task, TaskState.ACTIVE, "charging", rec.id)
                rec.phase = Phase.CHARGING
            elif rec.phase == Phase.TO_PARK and task is not None:
                d.transition(task, TaskState.ACTIVE, "parking", rec.id)
                d.transition(task, TaskState.DONE, "parked", rec.id)
                self.make_idle(rec, parked=True)
        except CommandRejected as exc:
            d.robot_event(rec, "command_rejected", message=str(exc))

    def _set_down(self, rec: RobotRecord) -> None:
        d = self.d
        pod = d.pods[rec.pod_id]
        rec.adapter.set_down_pod()
        d.slot_reserved.discard(rec.slot_id)
        d.slot_pod[rec.slot_id] = pod.id
        pod.slot, pod.carried_by, pod.task_id = rec.slot_id, None, None
        task = d.tasks.get(rec.task_id) if rec.task_id else None
        if task is not None and not task.is_terminal:
            d.transition(task, TaskState.DONE, "pod returned", rec.id)
        self.make_idle(rec)
        d.g2p.pod_released(pod.id)

    def _finish_charge(self, rec: RobotRecord) -> None:
        d = self.d
        rec.adapter.stop_charging()
        task = d.tasks.get(rec.task_id) if rec.task_id else None
        if task is not None and not task.is_terminal:
            d.transition(task, TaskState.DONE, "charged", rec.id)
        self.make_idle(rec)

    def make_idle(self, rec: RobotRecord, *, parked: bool = False) -> None:
        """Back to idle; a robot that just parked keeps its spot until its next task."""
        d = self.d
        if rec.charger_id is not None:
            d.charger_user[rec.charger_id] = None
        if rec.park_id is not None and not parked:
            d.park_user[rec.park_id] = None
            rec.park_id = None
        rec.phase, rec.task_id, rec.goal = Phase.IDLE, None, None
        rec.pod_id = rec.slot_id = rec.station_id = rec.charger_id = None
        d.robot_event(rec, "idle")

    def _offline(self, rec: RobotRecord) -> None:
        """A robot dropped off its link: hand back what it has not started; a pod on board
        cannot move without it, so that task stays and is escalated instead."""
        d = self.d
        if rec.task_id is None:
            return
        if rec.phase in (Phase.TO_POD, Phase.TO_CHARGER, Phase.CHARGING, Phase.TO_PARK):
            self.release(rec, f"robot {rec.id} went offline")
            return
        d.alarms.raise_alarm(
            f"task:{rec.task_id}",
            "robot_offline_with_pod",
            "critical",
            f"robot {rec.id} went offline carrying pod {rec.pod_id} (task {rec.task_id}); "
            "the task waits for it to come back or for an operator",
        )

    # ---- hand back ------------------------------------------------------------------------------
    def release(self, rec: RobotRecord, reason: str) -> None:
        """Take the robot off its task before the pod is lifted: the task goes back to the queue."""
        d = self.d
        task = d.tasks.get(rec.task_id) if rec.task_id else None
        if rec.status.charging:
            try:
                rec.adapter.stop_charging()
            except CommandRejected as exc:  # e.g. a dead link: the task is handed back anyway
                d.robot_event(rec, "command_rejected", message=str(exc))
        if task is not None and not task.is_terminal:
            d.transition(task, TaskState.QUEUED, reason)
        if rec.park_id is not None:
            d.park_user[rec.park_id] = None
            rec.park_id = None
        self.make_idle(rec)
