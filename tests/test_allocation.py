"""Allocation core: optimal batch assignment vs brute force, greedy, battery feasibility rules."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from fleet_manager.allocation import (
    INFEASIBLE,
    BatchOptimal,
    CostModel,
    FirstComeNearest,
    GreedyCheapest,
    RobotView,
    TaskView,
    make_assignment_policy,
    needs_charge,
)
from fleet_manager.site.model import RobotModel
from fleet_manager.traffic.graph import MotionGraph


def brute_force(cost: np.ndarray) -> tuple[int, float]:
    """Most feasible pairs, then least total cost, over every injective robot->task map."""
    r, t = cost.shape
    best = (0, 0.0)
    if r <= t:
        maps = ((list(range(r)), list(p)) for p in itertools.permutations(range(t), r))
    else:
        maps = ((list(p), list(range(t))) for p in itertools.permutations(range(r), t))
    for rows, cols in maps:
        vals = cost[rows, cols]
        ok = vals < INFEASIBLE
        key = (int(ok.sum()), -float(vals[ok].sum()))
        if key > (best[0], -best[1]):
            best = (key[0], -key[1])
    return best


@pytest.mark.parametrize("shape", [(3, 3), (2, 5), (5, 2), (4, 6), (1, 4), (4, 1)])
@pytest.mark.parametrize("seed", range(8))
def test_batch_matches_brute_force(shape: tuple[int, int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    cost = rng.integers(1, 50, size=shape).astype(float)
    cost[rng.random(shape) < 0.25] = INFEASIBLE
    pairs = BatchOptimal().assign(cost)
    count, total = brute_force(cost)
    assert len(pairs) == count
    assert sum(cost[r, t] for r, t in pairs) == pytest.approx(total)
    assert len({r for r, _ in pairs}) == len(pairs) == len({t for _, t in pairs})


@pytest.mark.parametrize("policy", ["batch", "greedy", "fifo"])
def test_policies_never_pick_infeasible_pairs(policy: str) -> None:
    rng = np.random.default_rng(3)
    cost = rng.random((6, 9)) * 100
    cost[:, ::2] = INFEASIBLE
    pairs = make_assignment_policy(policy).assign(cost)
    assert pairs and all(cost[r, t] < INFEASIBLE for r, t in pairs)
    assert {t for _, t in pairs} <= {1, 3, 5, 7}


def test_greedy_takes_cheapest_pair_first_and_fifo_serves_queue_order() -> None:
    cost = np.array([[1.0, 2.0], [3.0, 100.0]])
    assert GreedyCheapest().assign(cost) == [(0, 0), (1, 1)]
    assert sorted(BatchOptimal().assign(cost)) == [(0, 1), (1, 0)]  # 2 + 3 < 1 + 100
    assert FirstComeNearest().assign(cost) == [(0, 0), (1, 1)]
    with pytest.raises(ValueError, match="unknown assignment policy 'x'"):
        make_assignment_policy("x")


def _line_graph(n: int) -> MotionGraph:
    free = np.ones((1, n), dtype=bool)
    return MotionGraph.from_grid(free)


def test_cost_matrix_is_travel_time_plus_wait_minus_bonus() -> None:
    graph = _line_graph(10)
    model = RobotModel()
    costs = CostModel(graph, model, tick_s=1.0, charger_nodes=[0])
    robots = [RobotView("a", 0, 1.0), RobotView("b", 9, 1.0)]
    tasks = [TaskView("t1", 3, 3, wait_s=5.0), TaskView("t2", 8, 8, bonus_s=2.0)]
    m = costs.matrix(robots, tasks)
    assert m.tolist() == [[3 + 5, 8 - 2], [6 + 5, 1 - 2]]


def test_battery_rule_robot_never_takes_a_task_it_cannot_finish() -> None:
    graph = _line_graph(200)
    model = RobotModel(
        battery_wh=100.0, drain_moving_w=3600.0, reserve_soc=0.1
    )  # 1 Wh per cell-second
    costs = CostModel(graph, model, tick_s=1.0, charger_nodes=[0])
    # Task: drive 0 -> 40, work 40 more cells, end at node 80, then 80 cells back to the charger.
    task = TaskView("t", 40, 80, work_cells=40.0)
    need_wh = 40 + 40 + 80  # 160 Wh: more than the 100 Wh battery
    assert costs.matrix([RobotView("r", 0, 1.0)], [task])[0, 0] == INFEASIBLE
    short = TaskView("s", 10, 10, work_cells=0.0)  # 10 there + 10 back = 20 Wh
    soc_ok = (20 + 10) / 100 + 1e-6  # 20 Wh + 10 Wh reserve
    assert costs.matrix([RobotView("r", 0, soc_ok)], [short])[0, 0] < INFEASIBLE
    assert costs.matrix([RobotView("r", 0, soc_ok - 0.02)], [short])[0, 0] == INFEASIBLE
    assert need_wh > model.battery_wh


def test_unreachable_pickup_is_infeasible() -> None:
    g = MotionGraph.from_grid(np.array([[True, True, False, True]]))
    costs = CostModel(g, RobotModel(), 1.0, [0])
    m = costs.matrix([RobotView("r", 0, 1.0)], [TaskView("t", 2, 2)])
    assert m[0, 0] == INFEASIBLE


def test_needs_charge_below_threshold() -> None:
    model = RobotModel(charge_threshold=0.25)
    assert needs_charge(0.249, model) and not needs_charge(0.25, model)
