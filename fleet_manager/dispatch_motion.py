"""Motion: goals and pins for every robot, one planner step, the collision oracle, move commands."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from fleet_manager.dispatch_state import RobotRecord
from fleet_manager.domain import NodeId
from fleet_manager.robots.adapter import CommandRejected
from fleet_manager.traffic.planner import make_planner
from fleet_manager.traffic.validate import validate_step

if TYPE_CHECKING:
    from fleet_manager.dispatch import Dispatcher

SERVICE_KINDS = ("station", "queue")


class Motion:
    """Plans and commands one unit move (or a wait) per robot per tick."""

    def __init__(self, d: Dispatcher):
        self.d = d
        ids = d.robot_order
        self.planner = make_planner(d.graph, int(d.rng.integers(2**31)), agent_ids=ids)
        self.kind = [d.site.graph.nodes[v].get("kind", "aisle") for v in range(d.site.num_nodes)]
        self.exit_of: dict[NodeId, NodeId] = {}
        for st in d.site.stations.values():
            out = [v for v in d.site.graph.successors(st.node) if self.kind[v] not in SERVICE_KINDS]
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

    def step(self) -> None:
        d = self.d
        recs = [d.robots[r] for r in d.robot_order]
        n = d.graph.n
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
                or (r.pod_id is not None and d.pods[r.pod_id].carried_by == r.id)
                for r in recs
            ),
            dtype=bool,
            count=len(recs),
        )
        pod_cells = np.zeros(n, dtype=bool)
        pod_cells[[d.site.slots[s].node for s in d.slot_pod]] = True
        nxt = self.planner.step(pos, goals, pinned, loaded=loaded, pod_cells=pod_cells)
        self.steps += 1
        conflicts = validate_step(d.graph, pos, nxt, self.steps, loaded=loaded, pod_cells=pod_cells)
        if conflicts:
            d.kpi.conflicts += len(conflicts)
            self.last_conflicts = [str(c) for c in conflicts]
            d.alarms.raise_alarm("traffic", "conflict", "critical", self.last_conflicts[0])
            return  # never execute a plan the oracle rejects: everyone waits this tick
        for i in np.nonzero(nxt != pos)[0]:
            rec = recs[int(i)]
            try:
                rec.adapter.move_to(int(nxt[i]))
            except CommandRejected as exc:
                d.robot_event(rec, "command_rejected", message=str(exc))
