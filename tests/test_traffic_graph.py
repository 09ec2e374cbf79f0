"""MotionGraph: grid/networkx construction, one-way edges, BFS distances and the bounded LRU cache."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from fleet_manager.traffic.graph import UNREACHABLE, MotionGraph


def grid(rows: list[str]) -> np.ndarray:
    return np.array([[ch == "." for ch in row] for row in rows])


def test_grid_numbering_is_row_major_and_cell_map_round_trips() -> None:
    g = MotionGraph.from_grid(grid(["..#", "#..", "..."]))
    assert g.n == 7
    assert g.coords[:3].tolist() == [[0, 0], [1, 0], [1, 1]]
    for v in range(g.n):
        x, y = g.coords[v]
        assert g.node_at(int(x), int(y)) == v
    assert g.node_at(2, 0) == -1 and g.node_at(9, 9) == -1
    assert sorted(g.successors(g.node_at(1, 1)).tolist()) == sorted(
        [g.node_at(1, 0), g.node_at(2, 1), g.node_at(1, 2)]
    )


def test_distances_match_networkx_on_a_random_grid() -> None:
    rng = np.random.default_rng(3)
    free = rng.random((12, 15)) < 0.7
    g = MotionGraph.from_grid(free)
    ref = nx.DiGraph()
    ref.add_nodes_from(range(g.n))
    src, dst = g.edges()
    ref.add_edges_from(zip(src.tolist(), dst.tolist(), strict=True))
    for goal in rng.choice(g.n, 5, replace=False):
        d = g.distances_to(int(goal))
        lengths = nx.shortest_path_length(ref, target=int(goal))
        for v in range(g.n):
            assert d[v] == lengths.get(v, UNREACHABLE)


def one_way_ring() -> nx.DiGraph:
    g = nx.DiGraph()
    for v, (x, y) in enumerate([(0, 0), (1, 0), (1, 1), (0, 1)]):
        g.add_node(v, x=x, y=y)
    g.add_edges_from([(0, 1), (1, 2), (2, 3), (3, 0)])
    g.add_node(4, x=3, y=3)  # isolated: nothing reaches it
    return g


def test_networkx_one_way_edges_stay_one_way() -> None:
    g = MotionGraph.from_networkx(one_way_ring())
    assert g.successors(0).tolist() == [1]
    assert g.distances_to(0).tolist()[:4] == [0, 3, 2, 1]  # against the flow is the long way
    assert g.distances_to(4)[0] == UNREACHABLE
    assert g.has_edge(np.array([0, 1, 0]), np.array([1, 0, 0])).tolist() == [True, False, True]


def test_networkx_nodes_must_be_compact() -> None:
    bad = nx.DiGraph()
    bad.add_nodes_from([0, 2])
    with pytest.raises(ValueError, match="0..n-1"):
        MotionGraph.from_networkx(bad)


def test_cache_is_bounded_and_lookup_serves_more_goals_than_it_holds() -> None:
    free = np.ones((10, 10), dtype=bool)
    g = MotionGraph.from_grid(free, cache_tables=4)
    goals = np.arange(20)
    nodes = np.full(20, 99)
    got = g.lookup(goals, nodes)
    assert g.cache.cached() <= 4
    expected = [abs(9 - int(v) % 10) + abs(9 - int(v) // 10) for v in goals]
    assert got.tolist() == expected
    # LRU: a recently used goal survives while the least recently used one is evicted.
    fresh = MotionGraph.from_grid(free, cache_tables=4)
    for goal in (50, 51, 52, 53, 50, 60):
        fresh.distances_to(goal)
    assert fresh.cache.cached() == 4 and fresh.cache.computed == 5
    fresh.distances_to(50)
    assert fresh.cache.computed == 5  # still cached
    fresh.distances_to(51)
    assert fresh.cache.computed == 6  # was evicted by 60


def test_crisscross_costs_equal_weighted_shortest_paths() -> None:
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    from fleet_manager.traffic.guidance import GuidanceCosts, crisscross_against

    rng = np.random.default_rng(7)
    g = MotionGraph.from_grid(rng.random((9, 13)) < 0.75)
    for against_cost in (1, 2):
        costs = GuidanceCosts(g, "crisscross", against_cost)
        src, dst = g.edges()
        w = np.where(crisscross_against(g, src, dst), 1 + against_cost, 1).astype(float)
        ref = dijkstra(csr_matrix((w, (dst, src)), shape=(g.n, g.n)), indices=[0, 7, g.n - 1])
        for row, goal in enumerate((0, 7, g.n - 1)):
            got = costs.lookup(np.full(g.n, goal), np.arange(g.n))
            assert np.array_equal(got, ref[row])  # inf where unreachable on both sides


def test_crisscross_direction_rule() -> None:
    from fleet_manager.traffic.guidance import crisscross_against

    g = MotionGraph.from_grid(np.ones((2, 2), dtype=bool))  # 0 1 / 2 3
    src, dst = np.array([0, 1, 2, 3, 0, 2, 1, 3]), np.array([1, 0, 3, 2, 2, 0, 3, 1])
    # Row 0 runs east, row 1 west; column 0 runs south, column 1 north.
    expected = [False, True, True, False, False, True, True, False]
    assert crisscross_against(g, src, dst).tolist() == expected


def test_lane_parity_alternates_by_aisle_rank() -> None:
    from fleet_manager.traffic.guidance import lane_parity

    # Aisles (busy lines) at 0, 4 and 8: every 4th line, so coordinate parity would agree.
    count = np.array([10, 1, 1, 1, 10, 1, 1, 1, 10])
    parity = lane_parity(count)
    assert parity[[0, 4, 8]].tolist() == [0, 1, 0]
    # Lines after an aisle keep alternating from it.
    assert parity[[1, 2, 3, 5]].tolist() == [1, 0, 1, 0]


def test_aisle_rule_alternates_evenly_spaced_aisles() -> None:
    from fleet_manager.traffic.guidance import GuidanceCosts, aisle_against, crisscross_against

    # Vertical aisles at x = 1, 5, 9 (every 4 columns) between shelf blocks, open rows 0 and 6.
    free = np.ones((7, 11), dtype=bool)
    for x0 in (2, 6):
        free[1:6, x0 : x0 + 3] = False
    free[1:6, 0] = False
    free[1:6, 10] = False
    g = MotionGraph.from_grid(free)
    src, dst = g.edges()
    south = (g.coords[dst, 1] - g.coords[src, 1] == 1) & (g.coords[src, 1] == 3)
    aisle_x = g.coords[src[south], 0]
    assert aisle_x.tolist() == [1, 5, 9]
    # Coordinate parity sends every aisle the same way; aisle rank alternates them.
    assert len(set(crisscross_against(g, src[south], dst[south]).tolist())) == 1
    assert aisle_against(g, src[south], dst[south]).tolist() == [False, True, False]
    # The tables are the weighted shortest paths under that rule.
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    costs = GuidanceCosts(g, "aisles", 1)
    w = np.where(aisle_against(g, src, dst), 2, 1).astype(float)
    ref = dijkstra(csr_matrix((w, (dst, src)), shape=(g.n, g.n)), indices=[0, g.n - 1])
    for row, goal in enumerate((0, g.n - 1)):
        assert np.array_equal(costs.lookup(np.full(g.n, goal), np.arange(g.n)), ref[row])


def test_compiled_tables_match_the_scipy_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    from fleet_manager.traffic import dial
    from fleet_manager.traffic.guidance import GuidanceCosts

    if not dial.available():
        pytest.skip("numba not installed")
    rng = np.random.default_rng(3)
    g = MotionGraph.from_grid(rng.random((11, 17)) < 0.7)
    goals = np.array([0, 5, g.n // 2, g.n - 1])
    nodes = np.tile(np.arange(g.n), (goals.size, 1))
    for against_cost in (0, 1, 2, 5):
        fast = GuidanceCosts(g, "aisles", against_cost)
        assert fast.cache is not None and fast.cache._dial is not None
        monkeypatch.setattr(dial, "available", lambda: False)
        slow = GuidanceCosts(g, "aisles", against_cost)
        monkeypatch.undo()
        assert slow.cache is not None and slow.cache._dial is None
        want = slow.lookup(goals, nodes)
        assert np.array_equal(fast.lookup(goals, nodes), want)
    # Plain hop counts (the graph's own cache) agree with scipy's BFS as well.
    hops = MotionGraph.from_grid(rng.random((11, 17)) < 0.7)
    assert hops.cache._dial is not None
    ref = hops.cache._bfs(3)
    assert np.array_equal(hops.cache.row(3), ref)
