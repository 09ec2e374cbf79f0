"""AS/RS controller: order lines -> reserved crane moves -> sequenced cycles -> conveyor handoff."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fleet_manager.alarms import AlarmRegistry
from fleet_manager.asrs.crane_driver import CraneDriver, CraneOutcome
from fleet_manager.asrs.inventory import AsrsInventory
from fleet_manager.asrs.records import (
    CRANE_PREFIX,
    MoveKind,
    MoveRecord,
    MoveState,
    ToteNotFound,
    crane_location,
)
from fleet_manager.asrs.sequencing import Pairing, plan_cycles
from fleet_manager.domain import IdFactory, Sku, Task, TaskKind, TaskState
from fleet_manager.events import Event, EventBus

TASK_KIND = {MoveKind.STORE: TaskKind.ASRS_STORE, MoveKind.RETRIEVE: TaskKind.ASRS_RETRIEVE,
             MoveKind.RELOCATE: TaskKind.ASRS_RELOCATE}


@dataclass
class _Job:
    """Moves that must run in order (a relocation before its retrieve), each with its task."""

    moves: list[MoveRecord]
    tasks: dict[str, Task]  # move id -> task
    station_id: str | None = None
    from_forks: bool = False  # first move resumes with the tote already on the forks
    done: int = 0

    @property
    def remaining(self) -> tuple[MoveRecord, ...]:
        return tuple(self.moves[self.done:])


@dataclass
class CraneFault:
    move: MoveRecord
    outcome: CraneOutcome
    alarm_id: str | None = None


@dataclass
class AsrsController:
    """One aisle: queue store/retrieve requests, run crane cycles, hand retrieved totes off."""

    inventory: AsrsInventory
    driver: CraneDriver
    bus: EventBus
    ids: IdFactory = field(default_factory=IdFactory)
    clock: Callable[[], float] = lambda: 0.0
    pairing: Pairing = Pairing.DUAL_OPT
    alarms: AlarmRegistry | None = None
    tasks: dict[str, Task] = field(default_factory=dict)
    fault: CraneFault | None = None
    cycles_run: int = 0
    dual_cycles_run: int = 0
    _jobs: list[_Job] = field(default_factory=list)
    handoffs: list[Task] = field(default_factory=list)  # transfers created, not yet taken
    _adopted: set[str] = field(default_factory=set)

    # ---- requests ------------------------------------------------------------------------------
    def request_store(self, tote_id: str, sku: Sku, quantity: int, lot: str,
                      received_s: float | None = None, slot_id: str | None = None,
                      task: Task | None = None) -> Task:
        """A tote is at the I/O point: reserve a slot (policy, or `slot_id`) and queue the move.
        `task` adopts a task created elsewhere (the WMS API) instead of making a new one."""
        now = self.clock()
        inv = self.inventory
        received = False
        try:
            inv.store.tote(tote_id)
        except ToteNotFound:  # first time seen: it enters at this aisle's I/O point
            inv.receive(tote_id, sku, quantity, lot, now if received_s is None else received_s)
            received = True
        task = self._adopt(task, TaskKind.ASRS_STORE, None, {"tote_id": tote_id, "sku": sku})
        try:
            move = inv.plan_store(tote_id, slot_id, ref=task.id)
        except Exception:
            if received:  # nothing half-applied: a refused store forgets the tote again
                inv.store.remove_tote_at(tote_id, inv.io)
            raise
        task.payload.update(move_id=move.move_id, target=move.target)
        self._queue(_Job([move], {move.move_id: task}), [task])
        return task

    def request_retrieve(self, order_id: str | None, sku: Sku, station_id: str | None,
                         quantity: int = 1, task: Task | None = None) -> Task:
        """An order line wants `sku` at `station_id` (None: leave it at the I/O point): reserve
        the FIFO tote (+ one relocation)."""
        task = self._adopt(task, TaskKind.ASRS_RETRIEVE, order_id,
                           {"sku": sku, "quantity": quantity, "station_id": station_id})
        moves = self.inventory.plan_retrieve(sku, ref=task.id, station_id=station_id)
        return self._queue_retrieve(task, moves, order_id, station_id)

    def _adopt(self, task: Task | None, kind: TaskKind, order_id: str | None,
               payload: dict) -> Task:
        if task is None:
            return self._new_task(kind, order_id, payload)
        if task.id in self.tasks:
            raise ValueError(f"task {task.id} is already known to aisle {self.inventory.rack.aisle.id}")
        task.payload.update({"aisle": self.inventory.rack.aisle.id, **payload})
        self._adopted.add(task.id)
        return task

    def _queue_retrieve(self, task: Task, moves: list[MoveRecord], order_id: str | None,
                        station_id: str | None) -> Task:
        tasks = {moves[-1].move_id: task}
        task.payload.update(move_id=moves[-1].move_id, tote_id=moves[-1].tote_id,
                            source=moves[-1].source)
        queued = [task]
        for m in moves[:-1]:
            reloc = self._new_task(TaskKind.ASRS_RELOCATE, order_id, {
                "move_id": m.move_id, "tote_id": m.tote_id, "source": m.source, "target": m.target,
                "for_task": task.id})
            tasks[m.move_id] = reloc
            queued.insert(0, reloc)
        self._queue(_Job(moves, tasks, station_id), queued)
        return task

    def request_retrieve_tote(self, order_id: str | None, tote_id: str, station_id: str | None,
                              task: Task | None = None) -> Task:
        """Retrieve one named tote; ToteNotFound names where it is when it is not in the rack."""
        tote = self.inventory.store.tote(tote_id)
        task = self._adopt(task, TaskKind.ASRS_RETRIEVE, order_id,
                           {"sku": tote.sku, "station_id": station_id})
        moves = self.inventory.plan_retrieve_tote(tote_id, ref=task.id, station_id=station_id)
        return self._queue_retrieve(task, moves, order_id, station_id)

    def recover_open_moves(self, adopt: dict[str, Task] | None = None) -> int:
        """After a restart: re-queue this aisle's reserved and faulted moves from the store (one
        job per original request). A move that was active when the WCS stopped may or may not
        have run, so it becomes a crane fault with an alarm for an operator to check.
        `adopt` maps request ids (a move's ref) to tasks that carry on under the same id; a
        retrieve keeps the station it was planned for."""
        adopt = adopt or {}
        rack, io = self.inventory.rack, self.inventory.io
        mine = [m for m in self.inventory.store.open_moves()
                if m.source in rack.index or m.target in rack.index or io in (m.source, m.target)]
        by_ref: dict[str, list[MoveRecord]] = {}
        for m in mine:
            by_ref.setdefault(m.ref or m.move_id, []).append(m)
        for ref, moves in by_ref.items():
            moves.sort(key=lambda m: m.kind != MoveKind.RELOCATE)  # a relocation runs first
            station_id = self.inventory.store.job_station(ref)
            tasks: dict[str, Task] = {}
            for m in moves:
                payload = {"move_id": m.move_id, "tote_id": m.tote_id, "source": m.source,
                           "target": m.target, "recovered_from": ref}
                given = adopt.get(ref) if m.kind != MoveKind.RELOCATE else None
                if given is not None and TASK_KIND[m.kind] == given.kind:
                    tasks[m.move_id] = self._adopt(given, given.kind, given.order_id, payload)
                else:
                    tasks[m.move_id] = self._new_task(TASK_KIND[m.kind], None, payload)
            job = _Job(moves, tasks, station_id)
            job.from_forks = self.inventory.store.tote(moves[0].tote_id).location == \
                crane_location(moves[0].crane_id)
            self._queue(job, list(tasks.values()))
            active = next((m for m in moves if m.state == MoveState.ACTIVE), None)
            if active is not None and self.fault is None:
                outcome = CraneOutcome(False, False, 0, "WCS restarted while this move was active; "
                                       "check whether the crane finished it")
                task = tasks[active.move_id]
                self._transition(task, TaskState.ASSIGNED, "recovered", self.driver.crane_id)
                self._transition(task, TaskState.ACTIVE, "recovered")
                self._on_fault(job, active, task, outcome)
        return len(mine)

    def _new_task(self, kind: TaskKind, order_id: str | None, payload: dict) -> Task:
        task = Task(self.ids.next("AT"), kind, self.clock(), order_id=order_id,
                    payload={"aisle": self.inventory.rack.aisle.id, **payload})
        return task  # registered by _queue once its moves are reserved (no orphans on refusal)

    def _queue(self, job: _Job, tasks: list[Task]) -> None:
        self._jobs.append(job)
        for t in tasks:
            self.tasks[t.id] = t
            # An adopted task was announced by its creator: this is its "created" hand-over.
            kind = "created" if t.id in self._adopted else None
            self._emit_task(t, None, TaskState.QUEUED, "created", kind)

    def cancel_queued(self, task_id: str, reason: str) -> None:
        """Cancel a request whose crane moves have not started: reservations released, its
        tasks cancelled. Refused (ValueError) once the crane works on it."""
        job = next((j for j in self._jobs if any(t.id == task_id for t in j.tasks.values())), None)
        if job is None:
            raise ValueError(f"task {task_id}: no queued crane job (already done or unknown)")
        started = [m for m in job.moves if self.inventory.store.move(m.move_id).state
                   != MoveState.RESERVED]
        if started or job.done:
            raise ValueError(f"task {task_id}: the crane already works on it; cannot cancel")
        for move in job.moves:
            self.inventory.cancel(move.move_id, reason)
            self._transition(job.tasks[move.move_id], TaskState.CANCELLED, reason)
        self._jobs.remove(job)

    @property
    def pending_jobs(self) -> int:
        return len(self._jobs)

    # ---- execution -----------------------------------------------------------------------------
    async def run(self) -> int:
        """Run every queued job as crane cycles; stops at a crane fault. Returns moves completed."""
        done = 0
        while self.fault is None:
            self._jobs = [j for j in self._jobs if j.remaining]
            if not self._jobs:
                break
            resuming = [j for j in self._jobs if j.from_forks]
            jobs = resuming[:1] or self._jobs
            for cycle in plan_cycles(self.inventory.rack, [j.remaining for j in jobs], self.pairing):
                self.cycles_run += 1
                self.dual_cycles_run += cycle.is_dual
                for move in cycle.moves:
                    if not await self._run_move(move):
                        return done
                    done += 1
        return done

    def _job_of(self, move_id: str) -> _Job:
        return next(j for j in self._jobs if any(m.move_id == move_id for m in j.moves))

    async def _run_move(self, move: MoveRecord) -> bool:
        job = self._job_of(move.move_id)
        task = job.tasks[move.move_id]
        crane = self.driver.crane_id
        from_forks = job.from_forks and job.done == job.moves.index(move)
        if task.state == TaskState.QUEUED:
            self._transition(task, TaskState.ASSIGNED, "crane cycle planned", crane)
        self.inventory.store.start_move(move.move_id, crane, resume_from_forks=from_forks)
        self._transition(task, TaskState.ACTIVE, "crane moving", crane)
        self._publish("asrs", "move_started", **_move_data(move), crane_id=crane,
                      from_forks=from_forks)
        try:
            outcome = await self.driver.execute(move, from_forks=from_forks)
        except (ValueError, RuntimeError, TimeoutError, ConnectionError) as exc:
            # Refused, unencodable or unanswered telegram: no completion seen, so the inventory
            # keeps the tote where it was last known and an operator checks the crane.
            outcome = CraneOutcome(False, from_forks, 0, f"crane command failed: {exc}")
        if not outcome.ok:
            self._on_fault(job, move, task, outcome)
            return False
        self.inventory.complete(move.move_id)  # source freed, target filled: one transaction
        job.done += 1
        job.from_forks = False
        self._publish("asrs", "move_done", **_move_data(move), crane_id=crane)
        self._transition(task, TaskState.DONE, f"tote {move.tote_id} at {move.target}")
        if move.kind == MoveKind.RETRIEVE:
            self._hand_off(job, move, task)
        return True

    def _on_fault(self, job: _Job, move: MoveRecord, task: Task, outcome: CraneOutcome) -> None:
        rec = self.inventory.fault(move.move_id, outcome.load_on_forks, outcome.detail)
        where = self.inventory.store.tote(move.tote_id).location
        msg = (f"crane {self.driver.crane_id} fault during {move.kind} {move.move_id}: "
               f"{outcome.detail}; tote {move.tote_id} is "
               f"{'on the forks' if where.startswith(CRANE_PREFIX) else 'still at ' + where}, "
               f"{move.source} -> {move.target}; inventory unchanged")
        alarm_id = None
        if self.alarms is not None:
            alarm_id = self.alarms.raise_alarm(f"crane:{self.driver.crane_id}", "crane_fault",
                                               "error", msg).id
        else:
            self._publish("alarm", "raised", source=f"crane:{self.driver.crane_id}",
                          code="crane_fault", severity="error", message=msg)
        self._publish("asrs", "move_faulted", **_move_data(rec),
                      crane_id=self.driver.crane_id, tote_location=where, detail=outcome.detail)
        job.from_forks = outcome.load_on_forks
        self._transition(task, TaskState.QUEUED, msg)
        self.fault = CraneFault(rec, outcome, alarm_id)

    async def reset_fault(self) -> None:
        """After an operator checked the crane: reset it; the faulted move runs again first
        (finishing from the forks if the tote was already picked up)."""
        if self.fault is None:
            return
        await self.driver.reset()
        if self.alarms is not None and self.fault.alarm_id:
            self.alarms.clear(self.fault.alarm_id)
        self._publish("asrs", "crane_reset", crane_id=self.driver.crane_id,
                      move_id=self.fault.move.move_id)
        self.fault = None

    async def cancel_faulted(self, reason: str) -> None:
        """Give up the faulted move (and the rest of its job): reservations released, tasks
        cancelled. Refused (InventoryError) while its tote is on the forks: finish it instead."""
        if self.fault is None:
            return
        job = self._job_of(self.fault.move.move_id)
        for move in job.remaining:
            self.inventory.cancel(move.move_id, reason)
            self._transition(job.tasks[move.move_id], TaskState.CANCELLED, reason)
        self._jobs.remove(job)
        await self.reset_fault()

    def _hand_off(self, job: _Job, move: MoveRecord, task: Task) -> None:
        """The tote is at the I/O point: a conveyor transfer to the station continues the order
        (none when the retrieve named no station: the tote waits at the I/O point)."""
        if job.station_id is None:
            return
        aisle = self.inventory.rack.aisle
        transfer = self._new_task(TaskKind.CONVEYOR_TRANSFER, task.order_id, {
            "tote_id": move.tote_id, "sku": task.payload.get("sku"),
            "from": f"asrs:{aisle.id}", "from_node": aisle.io_node, "conveyor": aisle.io_conveyor,
            "to": job.station_id, "after_task": task.id})
        task.payload["transfer_task"] = transfer.id
        self.tasks[transfer.id] = transfer
        self.handoffs.append(transfer)  # for whoever runs the conveyor
        self._emit_task(transfer, None, TaskState.QUEUED, "created")

    def fail_task(self, task: Task, reason: str) -> None:
        """Close a task nobody can run (e.g. a transfer the conveyor refused)."""
        self._transition(task, TaskState.FAILED, reason)

    # ---- events --------------------------------------------------------------------------------
    def _publish(self, topic: str, event_kind: str, /, **data: Any) -> None:
        self.bus.publish(Event(topic, event_kind, self.clock(), data))  # data may carry its own "kind"

    def _transition(self, task: Task, to: TaskState, reason: str, resource: str | None = None) -> None:
        before = task.state
        task.transition(to, self.clock(), reason, resource)
        self._emit_task(task, before, to, reason)

    def _emit_task(self, task: Task, before: TaskState | None, to: TaskState, reason: str,
                   event_kind: str | None = None) -> None:
        self._publish("task", event_kind or str(to), task_id=task.id, kind=str(task.kind),
                      task_kind=str(task.kind), state=str(to),
                      from_state=str(before) if before else None, to_state=str(to), reason=reason,
                      resource_id=task.resource_id, order_id=task.order_id, payload=dict(task.payload))


def _move_data(m: MoveRecord) -> dict:
    return {"move_id": m.move_id, "kind": str(m.kind), "tote_id": m.tote_id, "source": m.source,
            "target": m.target, "ref": m.ref}
