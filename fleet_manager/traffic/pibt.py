"""The sequential core of PIBT: priority inheritance with backtracking over ranked moves."""

from __future__ import annotations

import sys

import numpy as np


def pibt_step(
    n_nodes: int,
    pos: np.ndarray,
    pin: np.ndarray,
    ranked: np.ndarray,
    ranked_key: np.ndarray,
    slab: np.ndarray,
    slots: np.ndarray,
    aside: np.ndarray,
    order: np.ndarray,
) -> np.ndarray:
    """Next node of every agent, free of vertex and swap conflicts.

    `ranked[i]` lists agent i's moves best first (-1 = unusable), `ranked_key` their costs;
    agents are served in `order`. An agent that wants an occupied node pushes the occupant,
    which must move elsewhere (never onto its pusher's node) or the pusher tries its next
    move. A pushed agent re-ranks its moves with `aside[pusher]` extra cost on nodes that lie
    ahead on the pusher's way (pusher's cost row: `slab[slots[pusher]]`, -1 = none).
    Pinned agents hold their node first. Runs on plain lists: numpy scalar access is slower.
    """
    n_agents = pos.size
    cand: list[list[int]] = ranked.tolist()
    keys: list[list[float]] = ranked_key.tolist()
    slot: list[int] = slots.tolist()
    extra: list[float] = np.asarray(aside, dtype=float).tolist()
    p: list[int] = pos.tolist()
    occ_now = [-1] * n_nodes
    occ_next = [-1] * n_nodes
    nxt = [-1] * n_agents
    for i, v in enumerate(p):
        occ_now[v] = i
    for i in np.nonzero(pin)[0].tolist():
        nxt[i] = p[i]
        occ_next[p[i]] = i

    def pibt(i: int, parent: int) -> bool:
        parent_at = -1
        options = cand[i]
        if parent >= 0:
            parent_at = p[parent]
            # Pushed: among similar moves prefer stepping aside (off the parent's way
            # forward) over running ahead of it, which only invites the next push.
            row = slab[slot[parent]] if slot[parent] >= 0 else None
            if row is not None:
                ahead = row[p[i]]
                push = extra[parent]
                ki = keys[i]
                scored = [
                    (ki[j] + (push if row[v] < ahead else 0.0), v)
                    for j, v in enumerate(options)
                    if v >= 0
                ]
                scored.sort()
                options = [v for _, v in scored]
        for v in options:
            if v < 0:
                break
            if occ_next[v] != -1 or v == parent_at:
                continue
            occ_next[v] = i
            nxt[i] = v
            k = occ_now[v]
            if k != -1 and k != i and nxt[k] == -1 and not pibt(k, i):
                continue
            return True
        nxt[i] = p[i]
        occ_next[p[i]] = i
        return False

    # Python 3.11 keeps pure-Python recursion off the C stack; chains can be fleet-long.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, n_agents + 1000))
    try:
        for i in np.asarray(order).tolist():
            if nxt[i] == -1:
                pibt(i, -1)
    finally:
        sys.setrecursionlimit(limit)
    return np.asarray(nxt, dtype=np.int64)
