"""Guidance costs for the planner: hop counts, or 'crisscross' costs favouring alternating flows."""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix

from fleet_manager.traffic import dial
from fleet_manager.traffic.distcache import DistanceCache
from fleet_manager.traffic.graph import DEFAULT_CACHE_MIB, MotionGraph

GUIDANCE_MODES = ("none", "crisscross", "aisles")


class GuidanceCosts:
    """cost[goal][v] used to rank moves. "none": exact hop counts (the graph's own cache).

    "crisscross": every row gets a preferred horizontal direction (east on even y, west on odd)
    and every column a vertical one (south on even x, north on odd); a move against it costs
    1 + `against_cost` hops. Opposing agents then tend to use different lanes, which removes
    most head-on meetings that PIBT can only resolve by backing one agent out of an aisle.
    "aisles": the same idea with directions alternating by aisle rank instead of coordinate
    parity (see `aisle_against`), so evenly spaced aisles do not all run the same way.
    Costs only order the moves: feasibility (reachability, edges) always uses the true graph.
    """

    def __init__(
        self,
        graph: MotionGraph,
        mode: str = "aisles",
        against_cost: int = 3,
        cache_tables: int | None = None,
    ) -> None:
        if int(against_cost) != against_cost or against_cost < 0:
            raise ValueError(
                f"against_cost must be a whole number of hops >= 0, got {against_cost}"
            )
        against_cost = int(against_cost)
        if mode not in GUIDANCE_MODES:
            raise ValueError(f"guidance must be one of {GUIDANCE_MODES}, got {mode!r}")
        self.graph = graph
        self.mode = mode
        self.cache: DistanceCache | None = None
        if mode in ("crisscross", "aisles") and graph.n:
            src, dst = graph.edges()
            rule = crisscross_against if mode == "crisscross" else aisle_against
            against = rule(graph, src, dst)
            cost = np.where(against, 1 + against_cost, 1)
            # Compiled bucket search on the weighted graph where numba is there, else scipy's
            # BFS on a graph whose costly edges are chains of unit edges.
            weighted = dial.available() and 1 + against_cost <= dial.MAX_EDGE_COST
            reverse = (
                csr_matrix((cost.astype(np.int16), (dst, src)), shape=(graph.n, graph.n))
                if weighted
                else _chained_reverse(graph.n, src, dst, cost)
            )
            self.cache = DistanceCache(
                reverse,
                graph.n,
                dtype=np.uint16,
                capacity=_default_tables(graph) if cache_tables is None else cache_tables,
            )

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
        out = hops.astype(np.float64)
        out[hops == sentinel] = np.inf
        return out


def crisscross_against(graph: MotionGraph, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """True for moves against the crisscross flow: rows run east on even y, west on odd y;
    columns run south on even x, north on odd x."""
    dx = graph.coords[dst, 0] - graph.coords[src, 0]
    dy = graph.coords[dst, 1] - graph.coords[src, 1]
    x, y = graph.coords[src, 0], graph.coords[src, 1]
    horizontal_against = (dy == 0) & (dx != 0) & ((dx > 0) != (y % 2 == 0))
    vertical_against = (dx == 0) & (dy != 0) & ((dy > 0) != (x % 2 == 0))
    return horizontal_against | vertical_against


def lane_parity(count: np.ndarray) -> np.ndarray:
    """Direction parity per line (column or row) from its count of edges along it.

    Lines carrying at least half the busiest line's edges are aisles; aisles alternate by
    rank, and the lines after an aisle (short stretches, open floor) continue alternating from
    it. With aisles every 4 columns the coordinate parity would send them all the same way."""
    major = count >= max(1, count.max()) / 2.0
    rank = np.cumsum(major) - 1  # rank of the last aisle at or before each line
    idx = np.arange(count.size)
    last_major = np.maximum.accumulate(np.where(major, idx, -1))
    offset = np.where(last_major >= 0, idx - last_major, idx)
    return (np.maximum(rank, 0) + offset) % 2


def aisle_against(graph: MotionGraph, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """True for moves against the aisle flow: like `crisscross_against`, but a row's or
    column's direction comes from `lane_parity` (aisle rank) rather than its coordinate."""
    if src.size == 0:
        return np.zeros(0, dtype=bool)
    dx = graph.coords[dst, 0] - graph.coords[src, 0]
    dy = graph.coords[dst, 1] - graph.coords[src, 1]
    x0, y0 = graph.coords[:, 0].min(), graph.coords[:, 1].min()
    x, y = graph.coords[src, 0] - x0, graph.coords[src, 1] - y0
    vertical = (dx == 0) & (dy != 0)
    horizontal = (dy == 0) & (dx != 0)
    col = lane_parity(np.bincount(x[vertical], minlength=int(x.max()) + 1))
    row = lane_parity(np.bincount(y[horizontal], minlength=int(y.max()) + 1))
    horizontal_against = horizontal & ((dx > 0) != (row[y] == 0))
    vertical_against = vertical & ((dy > 0) != (col[x] == 0))
    return horizontal_against | vertical_against


def _default_tables(graph: MotionGraph) -> int:
    """Same memory budget as the graph's default hop cache, at 2 bytes per node."""
    return int(DEFAULT_CACHE_MIB * 2**20 // (2 * max(1, graph.n)))


def _chained_reverse(n: int, src: np.ndarray, dst: np.ndarray, cost: np.ndarray) -> csr_matrix:
    """Reversed unit-edge graph where an edge of integer cost c becomes a chain through c-1
    extra nodes (numbered from n), so plain BFS depth equals the weighted cost."""
    rows, cols = [dst[cost == 1]], [src[cost == 1]]
    nxt = n
    for c in np.unique(cost[cost > 1]).tolist():
        sel = np.nonzero(cost == c)[0]
        chain = nxt + np.arange(sel.size * (c - 1)).reshape(sel.size, c - 1)
        nxt += chain.size
        hops = np.concatenate([dst[sel, None], chain, src[sel, None]], axis=1)
        rows.append(hops[:, :-1].ravel())
        cols.append(hops[:, 1:].ravel())
    r, c_ = np.concatenate(rows), np.concatenate(cols)
    return csr_matrix((np.ones(r.size, dtype=np.int8), (r, c_)), shape=(nxt, nxt))
