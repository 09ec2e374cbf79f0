"""Motion: goals and pins for every robot, one planner step, the collision oracle, move commands."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from fleet_manager.dispatch.records import RobotRecord
from fleet_manager.dispatch.state import FloorState
from fleet_manager.domain import NodeId
from fleet_manager.robots.adapter import CommandRejected
from fleet_manager.traffic.planner import make_planner
from fleet_manager.traffic.validate import validate_step

SERVICE_KINDS = ("station", "queue")


class Motion:
    """Plans and commands one unit move (or a wait) per robot per tick.

    `robot_event(rec, kind, **data)` publishes a move the robot rejected."""

    def __init__(self, floor: FloorState, robot_event: Callable[..., None], seed: int):
        self.floor = floor
        self.robot_event = robot_event
        f = floor
        self.planner = make_planner(f.graph, seed, agent_ids=f.robot_order)
        self.kind = [f.site.graph.nodes[v].get("kind", "aisle") for v in range(f.site.num_nodes)]
        self.exit_of: dict[NodeId, NodeId] = {}
        for st in f.site.stations.values():
            out = [v for v in f.site.graph.successors(st.node) if self.kind[v] not in SERVICE_KINDS]
            exit_node = min(out) if out else st.node
            for v in (st.node, *st.queue):
                self.exit_of[v] = exit_node
        self.steps = 0
        self.last_conflicts: list[str] = []

    def goal_of(self, rec: RobotRecord) -> NodeId:
        node = rec.status.node
        if rec.goal is not None:
            return rec.goal
        # Idle: stay, unless standing in a station lane, which it must leave through the pick.
        return self.exit_of.get(node, node)

    @staticmethod
    def _trailing(recs: list[RobotRecord], n: int) -> np.ndarray | None:
        """Cells real vehicles are still leaving (adapters that report `trailing_node`): a
        vehicle slower than the tick must not be caught up from behind."""
        cells = [getattr(r.adapter, "trailing_node", None) for r in recs]
        cells = [v for v in cells if v is not None and 0 <= v < n]
        if not cells:
            return None
        mask = np.zeros(n, dtype=bool)
        mask[cells] = True
        return mask

    def step(self) -> None:
        f = self.floor
        recs = [f.robots[r] for r in f.robot_order]
        n = f.graph.n
        if any(not 0 <= r.status.node < n for r in recs):
            # A robot that is not localised on the graph is not on the floor for the planner.
            recs = [r for r in recs if 0 <= r.status.node < n]
        if not recs:
            return
        pos = np.fromiter((r.status.node for r in recs), dtype=np.int64, count=len(recs))
        goals = np.fromiter((self.goal_of(r) for r in recs), dtype=np.int64, count=len(recs))
        pinned = np.fromiter((r.pinned for r in recs), dtype=bool, count=len(recs))
        # A loaded robot cannot pass under a standing pod: tell the planner and the oracle
        # which robots carry one (status, or our own record if the status lags a lift) and
        # which nodes hold a pod on its slot (pods being carried are not in slot_pod).
        loaded = np.fromiter(
            (
                r.status.pod_id is not None
                or (r.pod_id is not None and f.pods[r.pod_id].carried_by == r.id)
                for r in recs
            ),
            dtype=bool,
            count=len(recs),
        )
        pod_cells = np.zeros(n, dtype=bool)
        pod_cells[[f.site.slots[s].node for s in f.slot_pod]] = True
        trailing = self._trailing(recs, n)
        nxt = self.planner.step(
            pos, goals, pinned, loaded=loaded, pod_cells=pod_cells, trailing=trailing
        )
        self.steps += 1
        conflicts = validate_step(
            f.graph, pos, nxt, self.steps, loaded=loaded, pod_cells=pod_cells, trailing=trailing
        )
        if conflicts:
            f.kpi.conflicts += len(conflicts)
            self.last_conflicts = [str(c) for c in conflicts]
            f.alarms.raise_alarm("traffic", "conflict", "critical", self.last_conflicts[0])
            return  # never execute a plan the oracle rejects: everyone waits this tick
        for i in np.nonzero(nxt != pos)[0]:
            rec = recs[int(i)]
            try:
                rec.adapter.move_to(int(nxt[i]))
            except CommandRejected as exc:
                self.robot_event(rec, "command_rejected", message=str(exc))
