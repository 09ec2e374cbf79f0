"""Guidance costs for the planner: hop counts, or 'crisscross' costs favouring alternating flows."""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix

from fleet_manager.traffic.distcache import DistanceCache
from fleet_manager.traffic.graph import DEFAULT_CACHE_MIB, MotionGraph

GUIDANCE_MODES = ("none", "crisscross")
_SCALE = 4  # costs are stored in quarter-hops so fractional penalties stay integral


class GuidanceCosts:
    """cost[goal][v] used to rank moves. "none": exact hop counts (the graph's own cache).

    "crisscross": every row gets a preferred horizontal direction (east on even y, west on odd)
    and every column a vertical one (south on even x, north on odd); a move against it costs
    1 + `against_cost` hops. Opposing agents then tend to use different lanes, which removes
    most head-on meetings that PIBT can only resolve by backing one agent out of an aisle.
    Costs only order the moves: feasibility (reachability, edges) always uses the true graph.
    """

    def __init__(
        self,
        graph: MotionGraph,
        mode: str = "crisscross",
        against_cost: float = 0.5,
        cache_tables: int | None = None,
    ) -> None:
        if mode not in GUIDANCE_MODES:
            raise ValueError(f"guidance must be one of {GUIDANCE_MODES}, got {mode!r}")
        self.graph = graph
        self.mode = mode
        self.cache: DistanceCache | None = None
        if mode == "crisscross" and graph.n:
            src, dst = graph.edges()
            dx = graph.coords[dst, 0] - graph.coords[src, 0]
            dy = graph.coords[dst, 1] - graph.coords[src, 1]
            x, y = graph.coords[src, 0], graph.coords[src, 1]
            east_row = y % 2 == 0
            south_col = x % 2 == 0
            against = ((dy == 0) & (dx != 0) & ((dx > 0) != east_row)) | (
                (dx == 0) & (dy != 0) & ((dy > 0) != south_col)
            )
            w = np.where(against, _SCALE + round(_SCALE * against_cost), _SCALE).astype(float)
            reverse = csr_matrix((w, (dst, src)), shape=(graph.n, graph.n))
            if cache_tables is None:  # same memory budget as the graph's default hop cache
                cache_tables = int(DEFAULT_CACHE_MIB * 2**20 // (2 * graph.n))
            cap = cache_tables
            self.cache = DistanceCache(reverse, unweighted=False, dtype=np.uint16, capacity=cap)

    @property
    def table_cache(self) -> DistanceCache:
        return self.graph.cache if self.cache is None else self.cache

    def prepare(self, goals: np.ndarray, first: np.ndarray, budget: int) -> np.ndarray:
        """Build at most `budget` missing tables, for the goals of agents listed in `first`
        order; return a mask of the agents whose goal table is now cached."""
        cache = self.table_cache
        ready = cache.has(goals)
        if not ready.all():
            waiting = first[~ready[first]]
            _, idx = np.unique(goals[waiting], return_index=True)
            build = goals[waiting[np.sort(idx)[: max(0, budget)]]]
            if build.size:
                cache.ensure(build)
                ready = cache.has(goals)
        return ready

    def rows(self, goals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(slab, slots): slab[slots[i]] is goal i's stored cost row; slot -1 if not cached."""
        cache = self.table_cache
        return cache._slab, cache.slots_if_cached(goals)

    def lookup(self, goals: np.ndarray, nodes: np.ndarray) -> np.ndarray:
        """float64 costs in hops; inf where the goal is unreachable or the node is -1."""
        cache = self.table_cache
        hops = cache.lookup(goals, nodes)
        sentinel = cache.sentinel
        scale = 1.0 if self.cache is None else float(_SCALE)
        out = hops.astype(np.float64) / scale
        out[hops == sentinel] = np.inf
        return out
