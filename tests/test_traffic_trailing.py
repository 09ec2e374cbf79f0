"""Cells a real vehicle is still leaving: the planner keeps everyone out, the oracle agrees."""

from __future__ import annotations

import numpy as np

from fleet_manager.traffic.graph import MotionGraph
from fleet_manager.traffic.planner import make_planner
from fleet_manager.traffic.validate import validate_step


def _corridor(n: int = 6) -> MotionGraph:
    return MotionGraph.from_grid(np.ones((1, n), dtype=bool))


def test_nobody_enters_a_trailing_cell() -> None:
    g = _corridor()
    # Agent 0 at cell 2 wants to go right, through cell 3, which a vehicle is still leaving.
    pos = np.array([2, 5])
    goals = np.array([4, 5])
    trailing = np.zeros(g.n, dtype=bool)
    trailing[3] = True
    planner = make_planner(g, seed=0)
    nxt = planner.step(pos, goals, np.array([False, True]), trailing=trailing)
    assert nxt[0] == 2  # waits
    free = make_planner(g, seed=0).step(pos, goals, np.array([False, True]))
    assert free[0] == 3  # without the trailing cell it would have moved in


def test_the_oracle_reports_a_move_into_a_trailing_cell() -> None:
    g = _corridor()
    trailing = np.zeros(g.n, dtype=bool)
    trailing[3] = True
    found = validate_step(g, np.array([2, 5]), np.array([3, 5]), 7, trailing=trailing)
    assert [(c.kind, c.step, c.agents, c.nodes) for c in found] == [("trailing", 7, (0,), (2, 3))]
    assert validate_step(g, np.array([2, 5]), np.array([2, 5]), 7, trailing=trailing) == []
