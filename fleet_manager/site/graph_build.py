"""Floor graph rules: 4-connected moves, storage spurs, one-way lanes and station queues."""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx
import numpy as np

from fleet_manager.domain import Coord, NodeId
from fleet_manager.site.layout import ARROWS

MOVES: tuple[Coord, ...] = ((1, 0), (-1, 0), (0, 1), (0, -1))


def _against_arrow(arrow: str | None, move: Coord) -> bool:
    """True when `move` runs along this lane cell's axis but opposite to its arrow."""
    if arrow is None:
        return False
    ax, ay = ARROWS[arrow]
    along = (move[0] != 0 and ax != 0) or (move[1] != 0 and ay != 0)
    return along and move != (ax, ay)


def floor_graph(
    cells: Sequence[Coord],
    kinds: Sequence[str],
    arrows: dict[Coord, str],
    stations: Sequence[tuple[Coord, Sequence[Coord]]],
) -> nx.DiGraph:
    """Directed graph over nodes 0..n-1 (node i is cells[i]) under the map's movement rules.

    - Storage slots are spurs: linked both ways to adjacent `aisle` cells only.
    - A one-way cell forbids moves along its axis against its arrow (side moves are fine);
      this applies to both ends of a move, so a lane can be neither left nor entered backwards.
    - A station with a queue is entered only at queue[0], flows queue[0] -> ... -> pick, and is
      left only from the pick cell; a station without a queue behaves like a plain cell.
    """
    node_at = {c: i for i, c in enumerate(cells)}
    role: dict[Coord, tuple[int, int]] = {}  # cell -> (station index, queue position; -1 = pick)
    for s, (pick, queue) in enumerate(stations):
        role[pick] = (s, -1)
        for i, q in enumerate(queue):
            role[q] = (s, i)
    queue_len = [len(q) for _, q in stations]

    g = nx.DiGraph()
    g.add_nodes_from(
        (
            i,
            {
                "x": c[0],
                "y": c[1],
                "kind": kinds[i],
                **({"oneway": arrows[c]} if c in arrows else {}),
            },
        )
        for i, c in enumerate(cells)
    )
    edges: list[tuple[NodeId, NodeId]] = []
    for a, (x, y) in enumerate(cells):
        ka = kinds[a]
        for move in MOVES:
            bc = (x + move[0], y + move[1])
            b = node_at.get(bc)
            if b is None:
                continue
            kb = kinds[b]
            if ka == "storage" or kb == "storage":
                if {ka, kb} == {"storage", "aisle"}:
                    edges.append((a, b))
                continue
            ra, rb = role.get((x, y)), role.get(bc)
            if ra is not None or rb is not None:
                if ra is not None and rb is not None:
                    same = ra[0] == rb[0]
                    last = queue_len[ra[0]] - 1
                    step = ra[1] >= 0 and (rb[1] == ra[1] + 1 or (ra[1] == last and rb[1] == -1))
                    if same and step:
                        edges.append((a, b))
                    continue
                if ra is not None and ra[1] != -1:
                    continue  # queue cells have no side exits
                if rb is not None and not (rb[1] == 0 or (rb[1] == -1 and queue_len[rb[0]] == 0)):
                    continue  # enter a station only at the tail of its queue
            if _against_arrow(arrows.get((x, y)), move) or _against_arrow(arrows.get(bc), move):
                continue
            edges.append((a, b))
    g.add_edges_from(edges)
    return g


def grid_graph(free: np.ndarray) -> tuple[np.ndarray, nx.DiGraph]:
    """Coordinates (n, 2) and the 4-connected two-way graph over free[y, x] cells, row-major."""
    ys, xs = np.nonzero(free)
    n = len(xs)
    index = np.full(free.shape, -1, dtype=np.int64)
    index[ys, xs] = np.arange(n)
    horizontal = free[:, :-1] & free[:, 1:]
    vertical = free[:-1, :] & free[1:, :]
    left = index[:, :-1][horizontal]
    right = index[:, 1:][horizontal]
    up = index[:-1, :][vertical]
    down = index[1:, :][vertical]
    src = np.concatenate([left, right, up, down]).tolist()
    dst = np.concatenate([right, left, down, up]).tolist()
    g = nx.DiGraph()
    g.add_nodes_from(
        (i, {"x": x, "y": y, "kind": "aisle"})
        for i, (x, y) in enumerate(zip(xs.tolist(), ys.tolist()))
    )
    g.add_edges_from(zip(src, dst))
    coords = np.stack([xs, ys], axis=1).astype(np.int64) if n else np.zeros((0, 2), dtype=np.int64)
    return coords, g
