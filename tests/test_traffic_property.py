"""Randomised property test: on random small grids every planned step is conflict-free, and on
open grids with few agents every agent keeps reaching its (re-drawn) goals."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fleet_manager.traffic.graph import MotionGraph
from fleet_manager.traffic.planner import make_planner
from fleet_manager.traffic.validate import validate_step


def largest_component(g: MotionGraph) -> np.ndarray:
    """Nodes connected to the node with the most reachers (grid graphs are symmetric)."""
    reach = g.distances_to(0) < 2**30
    best = reach
    for v in range(1, g.n):
        if best.sum() * 2 > g.n:
            break
        if not best[v]:
            r = g.distances_to(v) < 2**30
            best = r if r.sum() > best.sum() else best
    return np.nonzero(best)[0]


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    h=st.integers(3, 9),
    w=st.integers(3, 12),
    density=st.floats(0.0, 0.3),
    agents=st.integers(1, 12),
    guidance=st.sampled_from(["none", "crisscross", "aisles"]),
    pin_rate=st.floats(0.0, 0.2),
)
def test_every_step_is_conflict_free(seed, h, w, density, agents, guidance, pin_rate) -> None:
    rng = np.random.default_rng(seed)
    free = rng.random((h, w)) >= density
    free[0, 0] = True
    g = MotionGraph.from_grid(free)
    comp = largest_component(g)
    agents = min(agents, comp.size - 1) if comp.size > 1 else 0
    if agents == 0:
        return
    pos = rng.choice(comp, agents, replace=False)
    goals = rng.choice(comp, agents)
    planner = make_planner(g, seed=seed, guidance=guidance)
    pinned = np.zeros(agents, dtype=bool)
    for t in range(60):
        pinned = np.where(rng.random(agents) < 0.5, pinned, rng.random(agents) < pin_rate)
        nxt = planner.step(pos, goals, pinned)
        assert validate_step(g, pos, nxt, step=t + 1) == []
        assert (nxt[pinned] == pos[pinned]).all()
        pos = nxt
        arrived = pos == goals
        goals[arrived] = rng.choice(comp, int(arrived.sum()))


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), size=st.integers(4, 8), agents=st.integers(1, 5))
def test_few_agents_on_open_grids_all_keep_reaching_goals(seed, size, agents) -> None:
    rng = np.random.default_rng(seed)
    g = MotionGraph.from_grid(np.ones((size, size), dtype=bool))
    pos = rng.choice(g.n, agents, replace=False)
    goals = rng.choice(g.n, agents)
    planner = make_planner(g, seed=seed)
    reached = np.zeros(agents, dtype=int)
    for t in range(200):
        nxt = planner.step(pos, goals, None)
        assert validate_step(g, pos, nxt, step=t + 1) == []
        pos = nxt
        arrived = pos == goals
        reached += arrived
        goals[arrived] = rng.choice(g.n, int(arrived.sum()))
    # Each errand is at most 2*size hops; over 200 steps everyone finishes several.
    assert (reached >= 3).all(), reached.tolist()
