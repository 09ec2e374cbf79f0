"""PIBT planner on hand-made corridor, swap, cycle, deadlock, pinned and bad-input cases."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from fleet_manager.traffic.graph import MotionGraph
from fleet_manager.traffic.planner import PlanningError, make_planner
from fleet_manager.traffic.validate import validate_paths


def grid(rows: list[str]) -> MotionGraph:
    return MotionGraph.from_grid(np.array([[ch == "." for ch in row] for row in rows]))


def cells(g: MotionGraph, *xy: tuple[int, int]) -> np.ndarray:
    nodes = np.array([g.node_at(x, y) for x, y in xy])
    assert (nodes >= 0).all()
    return nodes


def run_until_all_at_goal(
    g: MotionGraph, starts: np.ndarray, goals: np.ndarray, max_steps: int, **options
) -> np.ndarray:
    """Plan until every agent is on its goal at once; the whole plan must be conflict-free."""
    planner = make_planner(g, seed=1, **options)
    rows = [starts.copy()]
    pos = starts.copy()
    for _ in range(max_steps):
        if (pos == goals).all():
            break
        pos = planner.step(pos, goals, np.zeros(pos.size, dtype=bool))
        rows.append(pos)
    paths = np.array(rows)
    assert validate_paths(g, paths) == []
    assert (paths[-1] == goals).all(), f"not all at goal after {max_steps} steps: {paths[-1]}"
    return paths


@pytest.mark.parametrize("guidance", ["none", "crisscross", "aisles"])
def test_corridor_followers_reach_goals(guidance: str) -> None:
    g = grid(["........"])
    starts = cells(g, (0, 0), (1, 0), (2, 0))
    goals = cells(g, (5, 0), (6, 0), (7, 0))
    paths = run_until_all_at_goal(g, starts, goals, 20, guidance=guidance)
    assert len(paths) - 1 == 5  # all three move every step: following is allowed


@pytest.mark.parametrize("guidance", ["none", "crisscross", "aisles"])
def test_swap_through_side_pocket(guidance: str) -> None:
    g = grid([".......", "###.###"])
    starts = cells(g, (0, 0), (6, 0))
    goals = cells(g, (6, 0), (0, 0))
    run_until_all_at_goal(g, starts, goals, 300, guidance=guidance)


def test_rotation_on_a_full_2x2_block() -> None:
    g = grid(["..", ".."])
    ring = cells(g, (0, 0), (1, 0), (1, 1), (0, 1))
    paths = run_until_all_at_goal(g, ring, np.roll(ring, -1), 10, guidance="none")
    assert len(paths) - 1 == 1  # one simultaneous rotation


def test_rotation_around_a_2x2_block() -> None:
    g = grid(["....", ".##.", ".##.", "...."])
    ring_xy = [
        (0, 0),
        (1, 0),
        (2, 0),
        (3, 0),
        (3, 1),
        (3, 2),
        (3, 3),
        (2, 3),
        (1, 3),
        (0, 3),
        (0, 2),
        (0, 1),
    ]
    ring = cells(g, *ring_xy)
    paths = run_until_all_at_goal(g, ring, np.roll(ring, -3), 30)
    assert len(paths) - 1 == 3


def test_head_on_deadlock_at_a_crossroads_is_resolved() -> None:
    g = grid(["##.##", "##.##", ".....", "##.##", "##.##"])
    starts = cells(g, (2, 1), (1, 2), (3, 2), (2, 3))
    goals = cells(g, (2, 4), (4, 2), (0, 2), (2, 0))
    run_until_all_at_goal(g, starts, goals, 400)


def test_agents_at_goal_are_pushed_aside_and_return() -> None:
    g = grid([".....", "##.##"])
    starts = cells(g, (2, 0), (0, 0))
    goals = cells(g, (2, 0), (4, 0))  # agent 0 sits on agent 1's way
    paths = run_until_all_at_goal(g, starts, goals, 50)
    assert (paths[:, 0] != starts[0]).any()


def test_pinned_agents_never_move_and_are_never_entered() -> None:
    g = grid(["......", "......"])
    starts = cells(g, (2, 0), (0, 0), (5, 1))
    goals = cells(g, (3, 0), (4, 0), (0, 1))
    pinned = np.array([True, False, False])
    planner = make_planner(g, seed=0)
    pos = starts.copy()
    rows = [pos]
    for _ in range(30):
        pos = planner.step(pos, goals, pinned)
        rows.append(pos)
    paths = np.array(rows)
    assert validate_paths(g, paths) == []
    assert (paths[:, 0] == starts[0]).all()
    assert not (paths[:, 1:] == starts[0]).any()
    assert pos[1] == goals[1] and pos[2] == goals[2]  # others go around


def test_one_way_lanes_are_respected() -> None:
    dg = nx.DiGraph()
    xy = [(0, 0), (1, 0), (2, 0), (2, 1), (1, 1), (0, 1)]
    for v, (x, y) in enumerate(xy):
        dg.add_node(v, x=x, y=y)
    dg.add_edges_from([(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 0)])  # one-way loop
    g = MotionGraph.from_networkx(dg)
    starts, goals = np.array([1, 4]), np.array([0, 3])  # both must go the long way round
    paths = run_until_all_at_goal(g, starts, goals, 40)
    assert len(paths) - 1 == 5


def expect_error(g: MotionGraph, pos, goals, *fragments: str, **kw) -> None:
    planner = make_planner(g, seed=0, **kw)
    with pytest.raises(PlanningError) as info:
        planner.step(np.array(pos), np.array(goals), np.zeros(len(pos), dtype=bool))
    for text in fragments:
        assert text in str(info.value)


def test_bad_inputs_name_robot_and_cell() -> None:
    g = grid(["...", "#.#", "#.."])  # nodes: 0 1 2 / 3 / 4 5
    expect_error(g, [0, 99], [1, 2], "robot 1", "start", "node 99")
    expect_error(g, [0, 1], [1, 95], "robot 1", "goal", "node 95")
    expect_error(g, [3, 3], [1, 2], "robot 0", "robot 1", "both on", "node 3 (x=1, y=1)")
    expect_error(g, [4, 4], [3, 2], "'AMR-1'", "'AMR-7'", agent_ids=["AMR-1", "AMR-7"])


def test_unreachable_goal_names_robot_and_cells() -> None:
    g = MotionGraph.from_grid(np.array([[True, True, False, True]]))
    expect_error(
        g, [0, 2], [1, 0], "robot 'b'", "unreachable", "x=3, y=0", "x=0, y=0", agent_ids=["a", "b"]
    )
    one_way = nx.DiGraph()
    one_way.add_node(0, x=0, y=0)
    one_way.add_node(1, x=1, y=0)
    one_way.add_edge(0, 1)
    expect_error(MotionGraph.from_networkx(one_way), [1], [0], "robot 0", "unreachable")


def test_shape_mismatch_is_a_planning_error() -> None:
    g = grid(["..."])
    with pytest.raises(PlanningError, match="equal-length"):
        make_planner(g).step(np.array([0, 1]), np.array([2]), None)


def test_site_map_with_one_way_lanes_runs_conflict_free() -> None:
    from fleet_manager.site import load_site

    site = load_site(Path(__file__).resolve().parents[1] / "maps" / "demo.yaml")
    g = MotionGraph.from_site(site)
    assert g.indices.size == site.graph.number_of_edges()
    core = np.array(sorted(max(nx.strongly_connected_components(site.graph), key=len)))
    rng = np.random.default_rng(5)
    pos = rng.choice(core, 40, replace=False)
    goals = rng.choice(core, 40)
    planner = make_planner(g, seed=5)
    rows = [pos]
    done = 0
    for _ in range(150):
        pos = planner.step(pos, goals, None)
        rows.append(pos)
        arrived = pos == goals
        done += int(arrived.sum())
        goals[arrived] = rng.choice(core, int(arrived.sum()))
    assert validate_paths(g, np.array(rows)) == []
    assert done > 0


def test_table_budget_defers_tables_without_conflicts() -> None:
    g = MotionGraph.from_grid(np.ones((8, 8), dtype=bool))
    rng = np.random.default_rng(2)
    pos = rng.choice(g.n, 12, replace=False)
    goals = rng.choice(g.n, 12, replace=False)
    planner = make_planner(g, seed=2, tables_per_step=1)
    rows = [pos]
    for _ in range(4):
        pos = planner.step(pos, goals, None)
        rows.append(pos)
        # One new table per step: agents without one steered by Manhattan distance meanwhile.
        assert planner.costs.table_cache.cached() <= len(rows) - 1
    paths = run_until_all_at_goal(g, pos, goals, 200, tables_per_step=1)
    assert validate_paths(g, np.concatenate([np.array(rows), paths[1:]])) == []


def test_warm_up_builds_tables_and_rejects_bad_goals() -> None:
    g = grid(["....", "....", "...."])
    planner = make_planner(g, seed=0, tables_per_step=1)
    assert planner.warm_up(np.array([0, 5, 5, 11])) == 3
    assert planner.warm_up(np.array([0])) == 0  # cached already
    with pytest.raises(PlanningError, match="node 12"):
        planner.warm_up(np.array([1, 12]))


def test_warm_up_budget_keeps_goal_order_and_can_stop_early() -> None:
    g = MotionGraph.from_grid(np.ones((4, 4), dtype=bool))
    planner = make_planner(g, seed=0)
    assert planner.warm_up(np.array([9, 3, 9]), budget_s=0.0) == 0  # no time: nothing built
    assert planner.warm_up(np.array([9, 3, 9]), budget_s=60.0) == 2
    assert planner.costs.table_cache.has(np.array([9, 3, 4])).tolist() == [True, True, False]
    with pytest.raises(PlanningError, match="budget_s"):
        planner.warm_up(np.array([1]), budget_s=-1.0)


def test_idle_agent_yields_to_an_arriving_one_with_closest_first() -> None:
    # Corridor 0..4 with a pocket below node 2: agent 0 idles on node 2 (no errand), agent 1
    # drives from 0 to 4. Serving the closest first must not let the idle agent hold its
    # node: it stays last in the order and is pushed into the pocket.
    free = np.zeros((2, 5), dtype=bool)
    free[0] = True
    free[1, 2] = True
    g = MotionGraph.from_grid(free)
    for weight in (0.0, -0.5, -5.0):
        planner = make_planner(g, seed=0, distance_weight=weight)
        pos, goals = np.array([2, 0]), np.array([-1, 4])
        paths = [pos.copy()]
        for _ in range(6):
            pos = planner.step(pos, goals)
            paths.append(pos.copy())
        assert pos[1] == 4, weight
        assert validate_paths(g, np.array(paths)) == []


def test_rollouts_keep_the_pass_with_most_progress() -> None:
    from fleet_manager.traffic.planner import _chosen_cost

    # Chosen moves are scored by their ranking cost; waiting (column 0 here) costs more.
    ranked = np.array([[5, 4, -1], [7, 8, -1]])
    keys = np.array([[3.0, 4.0, np.inf], [1.0, 2.0, np.inf]])
    assert _chosen_cost(np.array([5, 7]), ranked, keys) == 4.0
    assert _chosen_cost(np.array([4, 8]), ranked, keys) == 6.0
    # Several passes per step stay conflict-free and still bring everyone home.
    g = grid(["........", ".@@.@@..", "........", ".@@.@@..", "........"])
    starts = np.array([0, 7, 16, 23, g.n - 1, g.n - 8])
    goals = np.array([g.n - 1, g.n - 8, 23, 16, 0, 7])
    run_until_all_at_goal(g, starts, goals, 200, rollouts=3)
