"""Cost matrices for assigning tasks to robots: travel time, station wait, battery feasibility."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fleet_manager.domain import NodeId, RobotId, TaskId
from fleet_manager.site.model import RobotModel
from fleet_manager.traffic.graph import UNREACHABLE, MotionGraph

INFEASIBLE = 1e12  # cost of a pair that must never be chosen (filtered after assignment)


@dataclass(frozen=True)
class RobotView:
    """What allocation needs to know about a free robot."""

    id: RobotId
    node: NodeId
    soc: float


@dataclass(frozen=True)
class TaskView:
    """What allocation needs to know about a queued task.

    `work_cells`: cells driven after reaching `pickup` (e.g. pod -> station -> storage);
    `end_node`: where the task leaves the robot; `service_s`: standing time (picking, lifts);
    `wait_s`: expected queueing at the station; `bonus_s`: subtracted from the cost
    (priority and age, so old or urgent work wins ties and never starves).
    """

    id: TaskId
    pickup: NodeId
    end_node: NodeId
    work_cells: float = 0.0
    service_s: float = 0.0
    wait_s: float = 0.0
    bonus_s: float = 0.0


class CostModel:
    """Builds robot x task cost matrices (seconds) on one motion graph, vectorised with numpy."""

    def __init__(
        self, graph: MotionGraph, model: RobotModel, tick_s: float, charger_nodes: list[NodeId]
    ):
        self.graph = graph
        self.model = model
        self.tick_s = tick_s
        self.wh_per_cell = model.drain_moving_w * tick_s / 3600.0
        if charger_nodes:
            tables = graph.lookup(
                np.asarray(charger_nodes),
                np.broadcast_to(np.arange(graph.n), (len(charger_nodes), graph.n)),
            )
            self.to_charger_cells = tables.min(axis=0).astype(np.float64)
        else:
            self.to_charger_cells = np.zeros(graph.n)

    def travel_cells(self, robot_nodes: np.ndarray, pickups: np.ndarray) -> np.ndarray:
        """(R, T) hop counts robot -> pickup; np.inf where unreachable."""
        robot_nodes = np.asarray(robot_nodes, dtype=np.int64)
        pickups = np.asarray(pickups, dtype=np.int64)
        if robot_nodes.size == 0 or pickups.size == 0:
            return np.zeros((robot_nodes.size, pickups.size))
        hops = self.graph.lookup(
            pickups, np.broadcast_to(robot_nodes, (pickups.size, robot_nodes.size))
        )
        out = hops.T.astype(np.float64)
        out[hops.T >= UNREACHABLE] = np.inf
        return out

    def energy_wh(self, travel: np.ndarray, tasks: list[TaskView]) -> np.ndarray:
        """(R, T) energy to do each task and then reach the nearest charger."""
        work = np.array([t.work_cells for t in tasks], dtype=np.float64)
        service = np.array([t.service_s for t in tasks], dtype=np.float64)
        ends = np.array([t.end_node for t in tasks], dtype=np.int64)
        after = self.to_charger_cells[ends] if len(tasks) else np.zeros(0)
        cells = travel + (work + after)[None, :]
        return cells * self.wh_per_cell + (service * self.model.drain_idle_w / 3600.0)[None, :]

    def feasible(self, socs: np.ndarray, energy_wh: np.ndarray) -> np.ndarray:
        """A robot may take a task only if it still reaches a charger with the reserve left."""
        left_wh = np.asarray(socs, dtype=np.float64)[:, None] * self.model.battery_wh - energy_wh
        return left_wh >= self.model.reserve_soc * self.model.battery_wh

    def matrix(self, robots: list[RobotView], tasks: list[TaskView]) -> np.ndarray:
        """(R, T) cost in seconds; INFEASIBLE where unreachable or the battery forbids it."""
        if not robots or not tasks:
            return np.zeros((len(robots), len(tasks)))
        travel = self.travel_cells(
            np.array([r.node for r in robots]), np.array([t.pickup for t in tasks])
        )
        energy = self.energy_wh(travel, tasks)
        ok = np.isfinite(travel) & self.feasible(np.array([r.soc for r in robots]), energy)
        extra = np.array([t.wait_s - t.bonus_s for t in tasks], dtype=np.float64)
        cost = travel * self.tick_s + extra[None, :]
        return np.where(ok, cost, INFEASIBLE)


def needs_charge(soc: float, model: RobotModel) -> bool:
    """Charge tasks are inserted for robots below the threshold."""
    return soc < model.charge_threshold
