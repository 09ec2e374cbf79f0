"""validate_paths: each conflict kind on hand-made plans, and what is allowed (follow, rotate)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from fleet_manager.traffic.graph import MotionGraph
from fleet_manager.traffic.validate import validate_paths, validate_step


@pytest.fixture
def line() -> MotionGraph:
    return MotionGraph.from_grid(np.ones((1, 5), dtype=bool))  # nodes 0..4 in a row


def kinds(conflicts: list) -> list[tuple[str, int, tuple[int, ...]]]:
    return [(c.kind, c.step, c.agents) for c in conflicts]


def test_clean_plan_with_following_is_valid(line: MotionGraph) -> None:
    paths = np.array([[0, 1], [1, 2], [2, 3]])  # agent 0 follows agent 1 closely
    assert validate_paths(line, paths) == []


def test_vertex_conflict(line: MotionGraph) -> None:
    paths = np.array([[0, 2], [1, 1]])
    assert kinds(validate_paths(line, paths)) == [("vertex", 1, (0, 1))]
    assert validate_paths(line, paths)[0].nodes == (1,)


def test_swap_conflict(line: MotionGraph) -> None:
    paths = np.array([[1, 2, 4], [2, 1, 4]])
    found = validate_paths(line, paths)
    assert kinds(found) == [("swap", 1, (0, 1))]
    assert found[0].nodes == (1, 2)


def test_jump_is_an_illegal_edge(line: MotionGraph) -> None:
    paths = np.array([[0], [2]])
    assert kinds(validate_paths(line, paths)) == [("edge", 1, (0,))]


def test_one_way_violation_is_an_illegal_edge() -> None:
    g = nx.DiGraph()
    for v in range(3):
        g.add_node(v, x=v, y=0)
    g.add_edges_from([(0, 1), (1, 2)])  # one-way lane to the east
    graph = MotionGraph.from_networkx(g)
    assert validate_paths(graph, np.array([[0], [1], [2]])) == []
    found = validate_paths(graph, np.array([[2], [1]]))
    assert kinds(found) == [("edge", 1, (0,))] and found[0].nodes == (2, 1)


def test_invalid_node_ids(line: MotionGraph) -> None:
    found = validate_paths(line, np.array([[0, 3], [-1, 7]]))
    assert kinds(found) == [("node", 1, (0,)), ("node", 1, (1,))]


def test_rotation_of_three_or_more_is_allowed() -> None:
    ring = MotionGraph.from_grid(np.ones((2, 2), dtype=bool))  # 0 1 / 2 3
    assert validate_paths(ring, np.array([[0, 1, 3, 2], [1, 3, 2, 0]])) == []


def test_validate_step_labels_the_step(line: MotionGraph) -> None:
    found = validate_step(line, np.array([1, 2]), np.array([2, 1]), step=7)
    assert kinds(found) == [("swap", 7, (0, 1))]
    assert validate_step(line, np.array([1, 2]), np.array([2, 3]), step=7) == []


def test_many_agents_many_steps_vectorised() -> None:
    free = np.ones((100, 100), dtype=bool)
    g = MotionGraph.from_grid(free)
    rng = np.random.default_rng(0)
    paths = np.tile(rng.permutation(g.n)[:2000], (301, 1))  # everyone waits: valid
    paths[150, 5] = paths[150, 6]  # plant one vertex conflict
    found = validate_paths(g, paths)
    assert [c.kind for c in found] == ["vertex", "edge", "edge"]  # plus jumps in and out
    assert found[0].step == 150 and found[0].agents == (5, 6)
