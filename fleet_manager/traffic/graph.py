"""MotionGraph: a directed CSR graph over floor nodes with an LRU cache of distance-to-goal tables."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from fleet_manager.traffic.distcache import DistanceCache

if TYPE_CHECKING:
    from fleet_manager.site.model import Site

UNREACHABLE = np.int32(2**30)  # distance sentinel returned for nodes that cannot reach the goal
MAX_MOVES = 5  # wait + 4 grid moves; graphs with a larger out-degree widen the moves table
DEFAULT_CACHE_MIB = 1024.0


class MotionGraph:
    """Directed graph over nodes 0..n-1: CSR successors (`indptr`, `indices`) and `coords` (x, y).

    `distances_to(goal)` gives every node's hop count to `goal` (BFS on the reversed graph).
    Tables are shared per goal and kept in an LRU slab of at most `cache_tables` rows (default:
    as many as fit in `cache_mib`), so memory stays bounded however many agents there are;
    rows are uint16 below 65,535 nodes, i.e. 2 bytes x n per cached goal.
    """

    def __init__(
        self,
        indptr: np.ndarray,
        indices: np.ndarray,
        coords: np.ndarray,
        *,
        cache_tables: int | None = None,
        cache_mib: float = DEFAULT_CACHE_MIB,
    ) -> None:
        self.indptr = np.asarray(indptr, dtype=np.int64)
        self.indices = np.asarray(indices, dtype=np.int32)
        self.coords = np.asarray(coords, dtype=np.int32).reshape(-1, 2)
        self.n = int(self.coords.shape[0])
        if self.indptr.shape != (self.n + 1,):
            raise ValueError(f"indptr must have n+1={self.n + 1} entries, got {self.indptr.shape}")
        if self.n and self.coords.min() < 0:
            raise ValueError("coords must be non-negative grid cells (x, y)")
        if self.indices.size and (self.indices.min() < 0 or self.indices.max() >= self.n):
            raise ValueError("indices name nodes outside 0..n-1")
        # Reversed graph in scipy form: row g lists the predecessors of g, so a search from g
        # over it yields every node's distance *to* g.
        src = np.repeat(np.arange(self.n, dtype=np.int32), np.diff(self.indptr))
        ones = np.ones(self.indices.size, dtype=np.int8)
        self._reverse = csr_matrix((ones, (self.indices, src)), shape=(self.n, self.n))
        self.moves = self._moves_table()
        self._strong: bool | None = None
        width = int(self.coords[:, 0].max()) + 1 if self.n else 0
        height = int(self.coords[:, 1].max()) + 1 if self.n else 0
        self.cell_to_node = np.full((height, width), -1, dtype=np.int32)  # [y, x] -> node or -1
        self.cell_to_node[self.coords[:, 1], self.coords[:, 0]] = np.arange(self.n)
        dtype = np.uint16 if self.n < np.iinfo(np.uint16).max else np.int32
        if cache_tables is None:
            cache_tables = int(cache_mib * 2**20 // max(1, self.n * np.dtype(dtype).itemsize))
        self.cache = DistanceCache(self._reverse, self.n, dtype=dtype, capacity=cache_tables)

    # ---- construction -------------------------------------------------------------------
    @classmethod
    def from_networkx(cls, g: nx.Graph, **options: Any) -> MotionGraph:
        """Build from a (Di)Graph whose nodes are 0..n-1 with `x`, `y` attributes."""
        n = g.number_of_nodes()
        if set(g.nodes) != set(range(n)):
            raise ValueError("graph nodes must be exactly the integers 0..n-1")
        coords = np.zeros((n, 2), dtype=np.int32)
        for v, data in g.nodes(data=True):
            coords[v] = (int(data.get("x", 0)), int(data.get("y", 0)))
        dg = g if g.is_directed() else g.to_directed()
        edges = np.array([(u, v) for u, v in dg.edges() if u != v], dtype=np.int64).reshape(-1, 2)
        return cls._from_edges(n, edges, coords, **options)

    @classmethod
    def from_site(cls, site: Site, **options: Any) -> MotionGraph:
        """Build from a loaded `Site` (its directed floor graph; one-way lanes stay one-way)."""
        graph = cls.from_networkx(site.graph, **options)
        graph.coords[:] = np.asarray(site.coords, dtype=np.int32)
        graph.cell_to_node[:] = -1
        graph.cell_to_node[graph.coords[:, 1], graph.coords[:, 0]] = np.arange(graph.n)
        return graph

    @classmethod
    def from_grid(cls, free: np.ndarray, **options: Any) -> MotionGraph:
        """4-connected graph over the True cells of free[y, x], numbered row-major."""
        free = np.asarray(free, dtype=bool)
        ys, xs = np.nonzero(free)
        coords = np.stack([xs, ys], axis=1).astype(np.int32)
        cell = np.full(free.shape, -1, dtype=np.int64)
        cell[ys, xs] = np.arange(ys.size)
        edges = []
        for dy, dx in ((0, 1), (1, 0), (0, -1), (-1, 0)):
            ny, nx_ = ys + dy, xs + dx
            ok = (ny >= 0) & (ny < free.shape[0]) & (nx_ >= 0) & (nx_ < free.shape[1])
            ok[ok] = free[ny[ok], nx_[ok]]
            edges.append(np.stack([cell[ys[ok], xs[ok]], cell[ny[ok], nx_[ok]]], axis=1))
        return cls._from_edges(ys.size, np.concatenate(edges), coords, **options)

    @classmethod
    def _from_edges(
        cls, n: int, edges: np.ndarray, coords: np.ndarray, **options: Any
    ) -> MotionGraph:
        edges = np.unique(edges, axis=0) if edges.size else edges.reshape(0, 2)
        order = np.lexsort((edges[:, 1], edges[:, 0]))
        edges = edges[order]
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(edges[:, 0], minlength=n), out=indptr[1:])
        return cls(indptr, edges[:, 1], coords, **options)

    # ---- queries --------------------------------------------------------------------------
    def successors(self, v: int) -> np.ndarray:
        return self.indices[self.indptr[v] : self.indptr[v + 1]]

    def edges(self) -> tuple[np.ndarray, np.ndarray]:
        """All directed edges as (sources, targets) arrays."""
        src = np.repeat(np.arange(self.n, dtype=np.int32), np.diff(self.indptr))
        return src, self.indices

    def strongly_connected(self) -> bool:
        """True when every node can reach every other node."""
        if self._strong is None:
            count, _ = connected_components(self._reverse, directed=True, connection="strong")
            self._strong = count <= 1
        return self._strong

    def has_edge(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Vectorised: True where u -> v is an edge or a wait (u == v)."""
        return (self.moves[np.asarray(u)] == np.asarray(v)[..., None]).any(axis=-1)

    def node_at(self, x: int, y: int) -> int:
        """Node of cell (x, y), or -1 when the cell is not part of the graph."""
        h, w = self.cell_to_node.shape
        return int(self.cell_to_node[y, x]) if 0 <= x < w and 0 <= y < h else -1

    def describe(self, v: int) -> str:
        """Human-readable node name for error messages: `node 12 (x=3, y=4)`."""
        if 0 <= v < self.n:
            x, y = self.coords[v]
            return f"node {v} (x={int(x)}, y={int(y)})"
        return f"node {v} (not a node of this graph: valid ids are 0..{self.n - 1})"

    def distances_to(self, goal: int) -> np.ndarray:
        """Hop count from every node to `goal` (int32; UNREACHABLE where no path exists)."""
        if not 0 <= goal < self.n:
            raise ValueError(f"goal {self.describe(goal)}")
        return self._as_int32(self.cache.row(goal))

    def lookup(self, goals: np.ndarray, nodes: np.ndarray) -> np.ndarray:
        """dist[goals[i]][nodes[i, ...]] for a batch: int32, UNREACHABLE for no path / node -1.

        `nodes` has shape (len(goals),) or (len(goals), k). Goals beyond the cache capacity
        are served in passes, so the memory bound always holds.
        """
        return self._as_int32(self.cache.lookup(goals, nodes))

    def _as_int32(self, arr: np.ndarray) -> np.ndarray:
        out = arr.astype(np.int32)
        out[arr == self.cache.sentinel] = UNREACHABLE
        return out

    def _moves_table(self) -> np.ndarray:
        """(n, k) padded table: column 0 is the node itself (wait), then successors, -1 pad."""
        deg = np.diff(self.indptr)
        k = max(MAX_MOVES, int(deg.max()) + 1 if self.n else 1)
        table = np.full((self.n, k), -1, dtype=np.int32)
        table[:, 0] = np.arange(self.n)
        rank = np.arange(self.indices.size) - np.repeat(self.indptr[:-1], deg)
        rows = np.repeat(np.arange(self.n), deg)
        table[rows, rank + 1] = self.indices
        return table
