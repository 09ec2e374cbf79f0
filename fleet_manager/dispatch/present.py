"""Pod presentations: a submitted POD_FETCH that brings one named pod to a station for a hold.

A presentation rides the normal fetch trip (Executor phases, allocation core, return policy):
only intake, station admission and the hold time are its own. It carries no order lines, so
nothing is picked from the pod during it (no pile-on, no restock on visit): good for a cycle
count or a manual pick.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from fleet_manager.dispatch.records import StationState
from fleet_manager.dispatch.state import FloorState
from fleet_manager.domain import PodId, Sku, Task, TaskId, TaskState
from fleet_manager.inventory import IntakeError

PRESENT_MODE = "present"

# (station, pod, work_s, picks, restock, mode) -> the fetch trip's payload (Trips.fetch_payload)
FetchPayload = Callable[
    [StationState, PodId, float, list[dict[str, Any]], dict[Sku, int], str], dict[str, Any]
]


def is_presentation(task: Task) -> bool:
    return task.payload.get("mode") == PRESENT_MODE


class Presentations:
    """Checks and queues submitted pod fetches; admits them to their station's queue."""

    def __init__(self, floor: FloorState, fetch_payload: FetchPayload, max_inbound: int):
        self.floor = floor
        self.fetch_payload = fetch_payload
        self.max_inbound = max_inbound  # per station, as for order fetches
        # Accepted, pod claimed, waiting for room in the station queue (not yet allocatable).
        self.waiting: dict[TaskId, Task] = {}
        # What the submitter sent, before the trip's bookkeeping was merged into task.payload.
        self.submitted: dict[TaskId, dict[str, Any]] = {}

    def check(self, task: Task) -> tuple[str, str, float]:
        """(pod, station, hold_s) of a submitted pod fetch; IntakeError naming the field."""
        f = self.floor
        p = task.payload
        pod_id, station_id = p.get("pod_id"), p.get("station_id")
        if not isinstance(pod_id, str) or not pod_id:
            raise IntakeError(
                "payload.pod_id", f"a pod fetch needs a pod id string, got {pod_id!r}"
            )
        if pod_id not in f.pods:
            raise IntakeError("payload.pod_id", f"unknown pod {pod_id!r}")
        if not isinstance(station_id, str) or not station_id:
            raise IntakeError(
                "payload.station_id", f"a pod fetch needs a station id string, got {station_id!r}"
            )
        if station_id not in f.stations:
            raise IntakeError("payload.station_id", f"unknown pick station {station_id!r}")
        station = f.stations[station_id]
        hold = p.get("hold_s", station.spec.pick_time_s_per_unit)
        if (
            isinstance(hold, bool)
            or not isinstance(hold, int | float)
            or not math.isfinite(hold)
            or hold < 0
        ):
            raise IntakeError(
                "payload.hold_s", f"must be a non-negative number of seconds, got {hold!r}"
            )
        if (busy := self.unavailable(pod_id)) is not None:
            raise IntakeError("payload.pod_id", busy)
        return pod_id, station_id, float(hold)

    def unavailable(self, pod_id: str) -> str | None:
        """Why this known pod cannot be fetched now (carried or reserved), else None.
        Read-only: the API's synchronous pre-check and `check` share it."""
        pod = self.floor.pods.get(pod_id)
        if pod is None:
            return None  # unknown: `check` names it (the API's validation answers 422 first)
        if pod.carried_by is not None or pod.slot is None:
            return f"pod {pod_id} is being carried by robot {pod.carried_by}"
        if pod.task_id is not None:
            return f"pod {pod_id} is reserved by task {pod.task_id}"
        return None

    def accept(self, task: Task) -> None:
        """Fill in the trip, claim the pod (no order can select it now) and wait for room.
        The caller adds the task to the floor (Events.add_task) right after."""
        f = self.floor
        pod_id, station_id, hold_s = self.check(task)
        station = f.stations[station_id]
        self.submitted[task.id] = dict(task.payload)
        trip = self.fetch_payload(station, pod_id, hold_s, [], {}, PRESENT_MODE)
        for stale in ("picks_done", "replenish_tasks"):  # a resubmitted record's last run
            task.payload.pop(stale, None)
        task.payload.update(trip, hold_s=hold_s, admitted=False)
        f.pods[pod_id].task_id = task.id
        self.waiting[task.id] = task

    def admit(self) -> None:
        """Let waiting presentations into their station queue (highest priority, oldest first)
        while it is under `max_inbound_per_station`: order fetches respect the same limit."""
        if not self.waiting:
            return
        f = self.floor
        limit = self.max_inbound
        for task in sorted(self.waiting.values(), key=lambda t: (-t.priority, t.created_s, t.id)):
            station = f.stations[task.payload["station"]]
            if len(station.inbound) >= limit:
                continue
            del self.waiting[task.id]
            task.payload["admitted"] = True
            station.inbound.add(task.id)
            if task.state == TaskState.QUEUED:
                f.queued[task.id] = task

    def withdraw(self, task: Task) -> None:
        self.waiting.pop(task.id, None)

    def public_payload(self, task: Task) -> dict[str, Any]:
        """The payload to publish in task events: exactly what was submitted for a presentation
        (the executor's trip fields stay internal), task.payload for everything else."""
        sent = self.submitted.get(task.id)
        if sent is None:
            return task.payload
        if task.is_terminal:  # its last event: the record is no longer needed
            del self.submitted[task.id]
        return dict(sent)
