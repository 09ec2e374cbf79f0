"""Distance-to-goal tables by Dial's bucket search over small integer edge costs (numba)."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix

MAX_EDGE_COST = 64  # the bucket ring holds max cost + 1 buckets


def available() -> bool:
    """True when the compiled kernel can be used (numba is a pinned dependency; without it
    the scipy path in distcache.py is used)."""
    return importlib.util.find_spec("numba") is not None


@cache
def _kernel() -> Callable[..., Any]:
    """The compiled search; numba is imported on first use only (it takes a second or two),
    and the machine code is cached next to this file after the first compile."""
    from numba import njit

    return njit(cache=True, nogil=True)(_dial)


def _dial(
    indptr: np.ndarray,
    indices: np.ndarray,
    cost: np.ndarray,
    source: int,
    max_cost: int,
    sentinel: int,
    out: np.ndarray,
) -> None:
    """out[v] = least total cost from `source` to v along the CSR edges (row u lists the
    nodes u reaches, `cost` their integer costs 1..max_cost); `sentinel` where unreached,
    finite values saturate at sentinel - 1. Buckets form a ring of max_cost + 1 slots: every
    tentative distance lies in [d, d + max_cost] while bucket d is drained, so one slot holds
    one distance at a time. Entries are linked lists over a pool of one entry per edge."""
    n = out.size
    big = np.iinfo(np.int64).max
    dist = np.full(n, big, dtype=np.int64)
    ring = max_cost + 1
    head = np.full(ring, -1, dtype=np.int64)
    pool_node = np.empty(indices.size + 1, dtype=np.int64)
    pool_next = np.empty(indices.size + 1, dtype=np.int64)
    used = 0
    dist[source] = 0
    pool_node[0] = source
    pool_next[0] = -1
    head[0] = 0
    used = 1
    d = 0
    empty_run = 0
    while empty_run < ring:
        slot = d % ring
        if head[slot] < 0:
            empty_run += 1
            d += 1
            continue
        empty_run = 0
        while head[slot] >= 0:
            e = head[slot]
            head[slot] = pool_next[e]
            u = pool_node[e]
            if dist[u] != d:
                continue  # stale entry: u was reached more cheaply
            for k in range(indptr[u], indptr[u + 1]):
                v = indices[k]
                nd = d + cost[k]
                if nd < dist[v]:
                    dist[v] = nd
                    s = nd % ring
                    pool_node[used] = v
                    pool_next[used] = head[s]
                    head[s] = used
                    used += 1
        d += 1
    for v in range(n):
        if dist[v] == big:
            out[v] = sentinel
        elif dist[v] >= sentinel:
            out[v] = sentinel - 1
        else:
            out[v] = dist[v]


class DialSearch:
    """Fills distance-to-goal rows on a weighted graph given as its reversed CSR (row g lists
    the nodes that reach g directly, with the edge costs as data)."""

    def __init__(self, reverse: csr_matrix) -> None:
        if not available():
            raise RuntimeError("numba is not installed")
        rev = reverse.tocsr()
        self.indptr = rev.indptr.astype(np.int64)
        self.indices = rev.indices.astype(np.int64)
        self.cost = np.rint(rev.data).astype(np.int64)
        if self.cost.size and (self.cost.min() < 1 or self.cost.max() > MAX_EDGE_COST):
            raise ValueError(f"edge costs must be whole numbers in 1..{MAX_EDGE_COST}")
        self.max_cost = int(self.cost.max()) if self.cost.size else 1

    def fill(self, goal: int, out: np.ndarray) -> None:
        """Write goal's table into `out` (one slab row, unsigned integer dtype)."""
        sentinel = int(np.iinfo(out.dtype).max)
        _kernel()(self.indptr, self.indices, self.cost, goal, self.max_cost, sentinel, out)
