"""LockstepFleet: a small goods-to-person errand loop over RobotAdapters (VDA 5050 tests, benchmark).

Each tick: read every status, re-queue errands of robots that went offline, hand queued errands
to idle robots, plan one step for all robots with the traffic planner (busy, paused and offline
robots pinned), check the step with `validate_step`, send the moves, advance in-process robots by
one tick, then wait until every VDA 5050 robot that was sent a move reports arrival. That last
wait keeps the fleet in lockstep, so no robot is let into a node a real vehicle is still leaving.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from fleet_manager.domain import IdFactory, Task, TaskKind, TaskState
from fleet_manager.events import EventBus
from fleet_manager.robots.adapter import RobotAdapter, RobotStatus
from fleet_manager.robots.vda5050.adapter import Vda5050RobotAdapter
from fleet_manager.robots.vda5050.master import Vda5050Master
from fleet_manager.robots.vda5050.sim_link import await_arrivals  # noqa: F401 (re-export)
from fleet_manager.site.model import Site
from fleet_manager.traffic.graph import MotionGraph
from fleet_manager.traffic.planner import make_planner
from fleet_manager.traffic.validate import Conflict, validate_step


@dataclass
class Errand:
    """Fetch a pod to a station, wait there for the pick, bring it home."""

    task: Task
    pod_id: str
    pod_node: int
    station_node: int
    pick_ticks: int = 2
    stage: str = "queued"  # to_pod lifting to_station picking to_home setting_down done failed
    robot: str | None = None
    wait_left: int = 0

    def goal(self) -> int:
        return {"to_pod": self.pod_node, "to_station": self.station_node,
                "to_home": self.pod_node}.get(self.stage, -1)


@dataclass
class FleetStats:
    ticks: int = 0
    moves: int = 0
    conflicts: list[Conflict] = field(default_factory=list)
    decision_ms: list[float] = field(default_factory=list)  # last state in -> moves out
    plan_ms: list[float] = field(default_factory=list)  # planner step + validate_step
    command_ms: list[float] = field(default_factory=list)  # building and publishing the moves
    requeued: int = 0
    arrival_timeouts: int = 0


class LockstepFleet:
    """Drives a mixed fleet (in-process robots with `advance`, VDA 5050 adapters) in lockstep."""

    def __init__(
        self, site: Site, robots: Sequence[RobotAdapter], *, master: Vda5050Master | None = None,
        bus: EventBus | None = None, seed: int = 0, tick_s: float | None = None,
        arrive_timeout_s: float = 5.0, horizon_nodes: int = 3,
    ) -> None:
        self.site = site
        self.robots = list(robots)
        self.master = master
        self.bus = bus or EventBus()
        self.graph = MotionGraph.from_site(site)
        self.planner = make_planner(self.graph, seed, agent_ids=[r.id for r in self.robots])
        self.tick_s = tick_s or site.cell_size_m / site.robot_model.speed_mps
        self.arrive_timeout_s = arrive_timeout_s
        self.horizon_nodes = horizon_nodes
        self.errands: list[Errand] = []
        self.stats = FleetStats()
        self.sim_time_s = 0.0
        self._ids = IdFactory()
        self._by_robot: dict[str, Errand] = {}

    # ---- errands -------------------------------------------------------------------------
    def add_errand(self, pod_id: str, pod_node: int, station_node: int, pick_ticks: int = 2) -> Errand:
        task = Task(self._ids.next("T"), TaskKind.POD_FETCH, self.sim_time_s, payload={"pod": pod_id})
        errand = Errand(task, pod_id, pod_node, station_node, pick_ticks)
        self.errands.append(errand)
        return errand

    @property
    def open_errands(self) -> int:
        return sum(e.stage not in ("done", "failed") for e in self.errands)

    def _move_task(self, errand: Errand, to: TaskState, reason: str, robot: str | None = None) -> None:
        ev = errand.task.transition(to, self.sim_time_s, reason, robot)
        self.bus.emit("task", str(to), self.sim_time_s, task_id=ev.task_id, robot_id=ev.resource_id,
                      reason=reason, from_state=str(ev.from_state))

    # ---- one tick ------------------------------------------------------------------------
    def tick(self) -> None:
        if self.master is not None:
            self.master.pump()
        statuses = {r.id: r.status() for r in self.robots}
        self._requeue_lost(statuses)
        self._assign(statuses)
        self._advance_errands(statuses)
        statuses = {r.id: r.status() for r in self.robots}
        on_floor = [r for r in self.robots if statuses[r.id].node >= 0]
        pos = np.array([statuses[r.id].node for r in on_floor], dtype=np.int64)
        goals = np.array([self._goal(r.id) for r in on_floor], dtype=np.int64)
        pinned = np.array([self._pinned(statuses[r.id]) for r in on_floor], dtype=bool)
        self.planner.agent_ids = [r.id for r in on_floor]
        t_plan = time.perf_counter()
        nxt = self.planner.step(pos, goals, pinned) if len(on_floor) else pos
        self.stats.conflicts += validate_step(self.graph, pos, nxt, self.stats.ticks + 1)
        t_cmd = time.perf_counter()
        self.stats.plan_ms.append((t_cmd - t_plan) * 1e3)
        movers = []
        for robot, p, n, g in zip(on_floor, pos, nxt, goals, strict=True):
            if n == p:
                continue
            if isinstance(robot, Vda5050RobotAdapter):
                robot.move_to(int(n), self._path_prefix(int(n), int(g)))
                movers.append(robot)
            else:
                robot.move_to(int(n))
            self.stats.moves += 1
        t_done = time.perf_counter()
        self.stats.command_ms.append((t_done - t_cmd) * 1e3)
        if self.master is not None and self.master.last_received_s > 0 and movers:
            self.stats.decision_ms.append((t_done - self.master.last_received_s) * 1e3)
        for robot in self.robots:
            advance = getattr(robot, "advance", None)
            if advance is not None:
                advance(self.tick_s)
        self.sim_time_s += self.tick_s
        self.stats.ticks += 1
        self._await(movers)

    def run(self, max_ticks: int) -> bool:
        """Tick until every errand is finished (True) or max_ticks pass (False)."""
        for _ in range(max_ticks):
            if not self.open_errands:
                return True
            self.tick()
        return not self.open_errands

    # ---- internals -----------------------------------------------------------------------
    def _await(self, movers: list[Vda5050RobotAdapter]) -> None:
        if self.master is None:
            return
        deadline = time.monotonic() + self.arrive_timeout_s
        waiting = [r for r in movers if r.moving and r.online]
        idle_vda_busy = not movers and any(isinstance(r, Vda5050RobotAdapter) and r.busy for r in self.robots)
        if idle_vda_busy:
            self.master.wait(0.05)  # only lifts in progress: do not spin
        while waiting:
            left = deadline - time.monotonic()
            if left <= 0:
                self.stats.arrival_timeouts += 1
                return
            self.master.wait(left)
            waiting = [r for r in waiting if r.moving and r.online]

    def _pinned(self, s: RobotStatus) -> bool:
        return s.busy or not s.online or s.error is not None or s.paused

    def _goal(self, robot_id: str) -> int:
        errand = self._by_robot.get(robot_id)
        return errand.goal() if errand else -1

    def _path_prefix(self, start: int, goal: int) -> list[int]:
        """The next few nodes of a shortest path start -> goal (the VDA 5050 horizon)."""
        if goal < 0 or self.horizon_nodes <= 0:
            return []
        dist = self.graph.distances_to(goal)
        path, v = [], start
        while v != goal and len(path) < self.horizon_nodes:
            succ = self.graph.successors(v)
            v = int(succ[np.argmin(dist[succ])])
            path.append(v)
        return path

    def _requeue_lost(self, statuses: dict[str, RobotStatus]) -> None:
        for robot_id, errand in list(self._by_robot.items()):
            s = statuses[robot_id]
            if s.online and s.error is None:
                continue
            del self._by_robot[robot_id]
            errand.robot = None
            if s.pod_id is None and errand.stage in ("to_pod", "lifting"):
                errand.stage = "queued"  # nothing carried yet: another robot can do it
                self._move_task(errand, TaskState.QUEUED, f"robot {robot_id} lost ({'offline' if not s.online else s.error})")
                self.stats.requeued += 1
            else:
                errand.stage = "failed"  # the pod is on the lost robot: a person must look
                self._move_task(errand, TaskState.FAILED, f"robot {robot_id} lost carrying {s.pod_id}")

    def _assign(self, statuses: dict[str, RobotStatus]) -> None:
        for errand in self.errands:
            if errand.stage != "queued":
                continue
            idle = [r.id for r in self.robots if r.id not in self._by_robot
                    and statuses[r.id].node >= 0 and not self._pinned(statuses[r.id])
                    and statuses[r.id].pod_id is None]
            if not idle:
                return
            dist = self.graph.distances_to(errand.pod_node)
            best = min(idle, key=lambda rid: (int(dist[statuses[rid].node]), rid))
            errand.robot, errand.stage = best, "to_pod"
            self._by_robot[best] = errand
            self._move_task(errand, TaskState.ASSIGNED, "nearest idle robot", best)

    def _advance_errands(self, statuses: dict[str, RobotStatus]) -> None:
        robots = {r.id: r for r in self.robots}
        for robot_id, e in list(self._by_robot.items()):
            s, r = statuses[robot_id], robots[robot_id]
            if s.busy or s.paused:
                continue
            if e.stage == "to_pod" and s.node == e.pod_node:
                r.lift_pod(e.pod_id)
                e.stage = "lifting"
                self._move_task(e, TaskState.ACTIVE, "lifting pod")
            elif e.stage == "lifting" and s.pod_id == e.pod_id:
                e.stage = "to_station"
            elif e.stage == "to_station" and s.node == e.station_node:
                e.stage, e.wait_left = "picking", e.pick_ticks
            elif e.stage == "picking":
                e.wait_left -= 1
                if e.wait_left <= 0:
                    e.stage = "to_home"
            elif e.stage == "to_home" and s.node == e.pod_node:
                r.set_down_pod()
                e.stage = "setting_down"
            elif e.stage == "setting_down" and s.pod_id is None:
                e.stage = "done"
                del self._by_robot[robot_id]
                self._move_task(e, TaskState.DONE, "pod back home")
