"""Bounded LRU cache of distance-to-goal tables, one slab row per goal, filled by scipy searches."""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import breadth_first_order

from fleet_manager.traffic import dial


class DistanceCache:
    """dist[goal][v] for goals on demand; at most `capacity` tables resident (LRU eviction).

    `reverse` is the reversed unit-edge graph (row g lists g's predecessors), so a breadth-first
    search from g gives every node's hop count *to* g. Integer edge costs are expressed by
    chains of extra nodes numbered from `n` up (a cost-2 edge passes one extra node); only the
    first `n` entries are stored. scipy's C BFS plus a level split is about twice as fast as
    its Dijkstra. Rows are stored in `dtype` (uint16 keeps a 38k-node table at 77 kB); finite
    costs that do not fit saturate at max-1; the dtype's maximum means "unreachable".
    With numba (`dial.py`) and no chain nodes (`reverse` is n x n with the integer edge costs
    as data), tables come from a compiled bucket search instead, several times faster.
    """

    def __init__(self, reverse: csr_matrix, n: int, *, dtype: type, capacity: int) -> None:
        self.reverse = reverse.tocsr()
        self.n = int(n)
        self.dtype = np.dtype(dtype)
        self.sentinel = int(np.iinfo(self.dtype).max)
        self.capacity = max(1, min(int(capacity), max(1, self.n)))
        # np.empty maps pages lazily: only rows actually filled cost resident memory.
        self._slab = np.empty((self.capacity, self.n), dtype=self.dtype)
        self._slot_of_goal = np.full(self.n, -1, dtype=np.int32)
        self._goal_of_slot = np.full(self.capacity, -1, dtype=np.int32)
        # Eviction order: tables marked idle (0), then never-used slots (1), then least recently
        # used. Reusing idle slots first keeps the resident slab near the active goal count.
        self._last_used = np.ones(self.capacity, dtype=np.int64)
        self._clock = 1
        self.computed = 0  # tables built so far (cache misses)
        square = self.reverse.shape[0] == self.n
        self._dial = dial.DialSearch(self.reverse) if square and dial.available() else None

    def ensure(self, goals: np.ndarray) -> np.ndarray:
        """Cache a table for each goal (at most `capacity` distinct); return their slots."""
        goals = np.asarray(goals, dtype=np.int64)
        self._clock += 1
        slots = self._slot_of_goal[goals]
        missing = np.unique(goals[slots < 0])
        if missing.size:
            distinct = np.unique(goals).size
            if distinct > self.capacity:
                raise ValueError(f"{distinct} goals requested at once, cache holds {self.capacity}")
            # Protect this request's hits from eviction, then take free / least recent slots.
            self._last_used[slots[slots >= 0]] = self._clock
            victims = np.argsort(self._last_used, kind="stable")[: missing.size]
            old = self._goal_of_slot[victims]
            self._slot_of_goal[old[old >= 0]] = -1
            self._goal_of_slot[victims] = missing
            self._slot_of_goal[missing] = victims
            self._fill(victims, missing)
            slots = self._slot_of_goal[goals]
        self._last_used[slots] = self._clock
        return slots

    def mark_idle(self, goals: np.ndarray) -> None:
        """Goals nobody heads for now: their tables stay usable but are evicted first."""
        slots = self._slot_of_goal[np.asarray(goals, dtype=np.int64)]
        self._last_used[slots[slots >= 0]] = 0

    def has(self, goals: np.ndarray) -> np.ndarray:
        """True where a goal's table is cached (no work, no LRU update)."""
        return self._slot_of_goal[np.asarray(goals, dtype=np.int64)] >= 0

    def slots_if_cached(self, goals: np.ndarray) -> np.ndarray:
        """Slot of each goal's table, -1 where not cached (no work, no LRU update)."""
        return self._slot_of_goal[np.asarray(goals, dtype=np.int64)]

    def row(self, goal: int) -> np.ndarray:
        """A copy of one goal's table in the stored dtype."""
        return self._slab[self.ensure(np.array([goal]))[0]].copy()

    def lookup(self, goals: np.ndarray, nodes: np.ndarray) -> np.ndarray:
        """Stored dist[goals[i]][nodes[i, ...]] (sentinel where nodes < 0); any batch size."""
        goals = np.asarray(goals, dtype=np.int64)
        nodes = np.asarray(nodes, dtype=np.int64)
        out = np.empty(nodes.shape, dtype=self.dtype)
        uniq, inverse = np.unique(goals, return_inverse=True)
        safe = np.where(nodes >= 0, nodes, 0)
        for start in range(0, uniq.size, self.capacity):
            part = uniq[start : start + self.capacity]
            slots = self.ensure(part)
            sel = (inverse >= start) & (inverse < start + part.size)
            rows = slots[inverse[sel] - start]
            out[sel] = self._slab[rows[:, None] if nodes.ndim == 2 else rows, safe[sel]]
        out[nodes < 0] = self.sentinel
        return out

    def cached(self) -> int:
        return int((self._goal_of_slot >= 0).sum())

    def _fill(self, slots: np.ndarray, goals: np.ndarray) -> None:
        for slot, goal in zip(slots.tolist(), goals.tolist(), strict=True):
            if self._dial is not None:
                self._dial.fill(goal, self._slab[slot])
            else:
                self._slab[slot] = self._bfs(goal)
        self.computed += int(goals.size)

    def _bfs(self, goal: int) -> np.ndarray:
        order, pred = breadth_first_order(
            self.reverse, goal, directed=True, return_predecessors=True
        )
        # BFS appends children in the order parents leave the queue, so each visited node's
        # parent position is non-decreasing along `order`: levels are found by bisection.
        m = order.size
        position = np.empty(self.reverse.shape[0], dtype=np.int64)
        position[order] = np.arange(m)
        parent = position[pred[order[1:]]]
        bounds = [0, 1]
        search = np.searchsorted
        while bounds[-1] < m:
            bounds.append(1 + int(search(parent, bounds[-1])))
        depth = np.repeat(np.arange(len(bounds) - 1), np.diff(bounds))
        row = np.full(self.reverse.shape[0], self.sentinel, dtype=np.int64)
        row[order] = np.minimum(depth, self.sentinel - 1)
        return row[: self.n]
