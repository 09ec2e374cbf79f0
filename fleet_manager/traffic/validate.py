"""The one path oracle: vectorised vertex, swap, illegal-edge, bad-node and pod checks on joint plans."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from fleet_manager.traffic.graph import MotionGraph

ConflictKind = Literal["vertex", "swap", "edge", "node", "pod", "trailing"]


@dataclass(frozen=True)
class Conflict:
    """One violation. `step` is the row of `paths` where it shows: for a move from row t to
    row t+1 (swap, edge) that is t+1; for vertex and node conflicts it is the row itself.

    vertex: `agents` share `nodes[0]`. swap: agents[0] goes nodes[0]->nodes[1] while agents[1]
    goes back. edge: agents[0] moves nodes[0]->nodes[1], which is neither an edge nor a wait
    (a one-way lane driven backwards, a jump). node: agents[0] is on an invalid id nodes[0].
    pod: agents[0], carrying a pod, moves nodes[0]->nodes[1] where another pod stands (a
    loaded robot cannot pass under a pod; an unloaded one can). trailing: agents[0] moves
    nodes[0]->nodes[1] while a real vehicle is still leaving nodes[1] (live checks only).
    """

    kind: ConflictKind
    step: int
    agents: tuple[int, ...]
    nodes: tuple[int, ...]

    def __str__(self) -> str:
        who = ", ".join(f"agent {a}" for a in self.agents)
        where = "->".join(str(v) for v in self.nodes)
        return f"{self.kind} conflict at step {self.step}: {who} at node {where}"


def validate_paths(
    graph: MotionGraph,
    paths: np.ndarray,
    step_offset: int = 0,
    *,
    loaded: np.ndarray | None = None,
    pod_cells: np.ndarray | None = None,
) -> list[Conflict]:
    """Every conflict in a joint plan `paths` of shape (T+1, N): row t = each agent's node.

    Moving into a cell its occupant leaves in the same step (following, rotating cycles of
    3+ agents) is allowed; exchanging two cells (swap) is not. Sorted by step, then kind.
    With both masks given, a move t -> t+1 of an agent `loaded` at row t into a node that
    is one of the `pod_cells` at row t (pods standing on the floor, not carried) is a "pod"
    conflict, goal or not. `loaded`: bool (N,) or per row (T+1, N); `pod_cells`: bool (n,)
    or per row (T+1, n).
    """
    paths = np.asarray(paths)
    if paths.ndim != 2:
        raise ValueError(f"paths must be a (T+1, N) array, got shape {paths.shape}")
    if not np.issubdtype(paths.dtype, np.integer):
        raise ValueError(f"paths must hold integer node ids, got dtype {paths.dtype}")
    paths = paths.astype(np.int64, copy=False)
    rows, agents = paths.shape
    n = graph.n
    carry = _row_mask("loaded", loaded, rows, agents)
    pods = _row_mask("pod_cells", pod_cells, rows, n)
    conflicts: list[Conflict] = []
    if rows == 0 or agents == 0:
        return conflicts

    bad = (paths < 0) | (paths >= n)
    for t, i in zip(*np.nonzero(bad), strict=True):
        conflicts.append(Conflict("node", int(t) + step_offset, (int(i),), (int(paths[t, i]),)))
    safe = np.where(bad, -1, paths)

    # Vertex: two agents on one node in the same row. Key (t, v) -> sort -> equal neighbours.
    t_idx = np.broadcast_to(np.arange(rows)[:, None], paths.shape)
    valid = ~bad
    keys = t_idx[valid] * n + safe[valid]
    who = np.broadcast_to(np.arange(agents)[None, :], paths.shape)[valid]
    order = np.argsort(keys, kind="stable")
    sk, sw = keys[order], who[order]
    dup = np.nonzero(sk[1:] == sk[:-1])[0]
    if dup.size:
        for key in np.unique(sk[dup]):
            lo, hi = np.searchsorted(sk, [key, key + 1])
            t, v = divmod(int(key), n)
            group = tuple(sorted(int(a) for a in sw[lo:hi]))
            conflicts.append(Conflict("vertex", t + step_offset, group, (v,)))

    if rows > 1:
        u, v = safe[:-1], safe[1:]
        both = (u >= 0) & (v >= 0)
        moving = both & (u != v)
        # Illegal edge: a move that is not along a successor edge.
        mt, mi = np.nonzero(moving)
        if mt.size:
            legal = graph.has_edge(u[mt, mi], v[mt, mi])
            for t, i in zip(mt[~legal], mi[~legal], strict=True):
                conflicts.append(
                    Conflict(
                        "edge", int(t) + 1 + step_offset, (int(i),), (int(u[t, i]), int(v[t, i]))
                    )
                )
            # Swap: (t, a, b) and (t, b, a) both present; report once with a < b.
            mu, mv = u[mt, mi], v[mt, mi]
            fwd = (mt * n + mu) * n + mv
            rev = (mt * n + mv) * n + mu
            order = np.argsort(fwd, kind="stable")
            sf = fwd[order]
            pos = np.searchsorted(sf, rev)
            pos = np.minimum(pos, sf.size - 1)
            hit = (sf[pos] == rev) & (mu < mv)
            for k in np.nonzero(hit)[0]:
                other = int(mi[order[pos[k]]])
                conflicts.append(
                    Conflict(
                        "swap",
                        int(mt[k]) + 1 + step_offset,
                        (int(mi[k]), other),
                        (int(mu[k]), int(mv[k])),
                    )
                )
            if carry is not None and pods is not None:
                # Pod: a loaded agent drives into a node where another pod stands.
                hit = carry[mt, mi] & pods[mt, mv]
                for t, i in zip(mt[hit], mi[hit], strict=True):
                    conflicts.append(
                        Conflict(
                            "pod", int(t) + 1 + step_offset, (int(i),), (int(u[t, i]), int(v[t, i]))
                        )
                    )
    rank = {"node": 0, "vertex": 1, "edge": 2, "swap": 3, "pod": 4}
    conflicts.sort(key=lambda c: (c.step, rank[c.kind], c.agents))
    return conflicts


def validate_step(
    graph: MotionGraph,
    prev: np.ndarray,
    nxt: np.ndarray,
    step: int = 1,
    *,
    loaded: np.ndarray | None = None,
    pod_cells: np.ndarray | None = None,
    trailing: np.ndarray | None = None,
) -> list[Conflict]:
    """Incremental form for a live control loop: check one transition prev -> nxt.

    `step` labels the row of `nxt`; conflicts in `prev` itself are reported at step - 1.
    `loaded` (N,) and `pod_cells` (n,) describe the fleet at `prev` (see `validate_paths`).
    `trailing` (n,): cells a vehicle still in transit is leaving; nobody may move into them.
    """
    prev = np.asarray(prev)
    nxt = np.asarray(nxt)
    if prev.shape != nxt.shape or prev.ndim != 1:
        raise ValueError(
            f"prev and nxt must be equal-length 1-D arrays, got {prev.shape}, {nxt.shape}"
        )
    found = validate_paths(
        graph, np.stack([prev, nxt]), step_offset=step - 1, loaded=loaded, pod_cells=pod_cells
    )
    if trailing is not None:
        moved = np.nonzero(nxt != prev)[0]
        for i in moved[np.asarray(trailing, dtype=bool)[nxt[moved]]]:
            found.append(Conflict("trailing", step, (int(i),), (int(prev[i]), int(nxt[i]))))
    return found


def _row_mask(name: str, mask: np.ndarray | None, rows: int, width: int) -> np.ndarray | None:
    """A bool mask of shape (width,) or (rows, width) as a (rows, width) view; None stays None."""
    if mask is None:
        return None
    m = np.asarray(mask)
    if m.dtype != bool:
        raise ValueError(f"{name} must be a bool mask, got dtype {m.dtype}")
    if m.shape == (width,):
        return np.broadcast_to(m, (rows, width))
    if m.shape == (rows, width):
        return m
    raise ValueError(f"{name} must have shape ({width},) or ({rows}, {width}), got {m.shape}")
