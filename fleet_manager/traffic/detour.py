"""Short routes around pinned agents, which the cached distance tables cannot know about."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.sparse import csr_matrix, diags
from scipy.sparse.csgraph import dijkstra

from fleet_manager.traffic.graph import MotionGraph

CostFn = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (goals, nodes) -> float hops


class Detours:
    """Per-agent detour routes (next node first) around cells held by pinned agents.

    An agent whose best move is onto a pinned agent searches the graph without pinned cells
    within `radius` hops and heads for the reachable node, closer to its goal than it is now,
    minimising (hops there + its own cost to goal beyond). The route is followed while it stays valid: same goal, agent on track,
    next cell not pinned. Searches are local, so a step costs O(agents needing one x radius²).
    With pod masks, a loaded agent also treats pod cells (other than its goal) as blocked.
    """

    def __init__(self, graph: MotionGraph, radius: int = 24) -> None:
        self.graph = graph
        self.radius = int(radius)
        src, dst = graph.edges()
        self._forward = csr_matrix((np.ones(src.size), (src, dst)), shape=(graph.n, graph.n))
        self.routes: dict[int, tuple[int, list[int]]] = {}  # agent -> (goal, route)

    def prefer(
        self,
        pos: np.ndarray,
        goal: np.ndarray,
        pin: np.ndarray,
        cand: np.ndarray,
        key: np.ndarray,
        cost_fn: CostFn,
        forbid: np.ndarray | None = None,
        pod: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        """Update routes, then make each routed agent's next route node its first choice.

        `forbid[i, k]`: move `cand[i, k]` is closed to agent i (a loaded agent into a pod
        cell); `pod` = (loaded per agent, pod per node), given together with `forbid`."""
        if not pin.any() and not self.routes and forbid is None:
            return
        pinned_cell = np.zeros(self.graph.n, dtype=bool)
        pinned_cell[pos[pin]] = True
        self._drop_stale(pos, goal, pinned_cell, pod)
        rows = np.arange(cand.shape[0])
        col = np.argmin(key, axis=1)
        best = cand[rows, col]
        hit = pinned_cell[np.where(best >= 0, best, 0)] & (best >= 0)
        if forbid is not None:
            hit |= forbid[rows, col]
        blocked = hit & ~pin & (pos != goal)
        new = [i for i in np.nonzero(blocked)[0].tolist() if i not in self.routes]
        if new:
            agents = np.asarray(new)
            if pod is None:
                self._plan(agents, pos, goal, pinned_cell, cost_fn)
            else:
                carry, cells = pod
                light, heavy = agents[~carry[agents]], agents[carry[agents]]
                if light.size:
                    self._plan(light, pos, goal, pinned_cell, cost_fn)
                if heavy.size:
                    closed = pinned_cell | cells
                    closed[pos[heavy]] = False
                    closed[goal[heavy]] = pinned_cell[goal[heavy]]
                    self._plan(heavy, pos, goal, closed, cost_fn)
        for i, (_, route) in self.routes.items():
            key[i, cand[i] == route[0]] = -1.0

    def _drop_stale(
        self,
        pos: np.ndarray,
        goal: np.ndarray,
        pinned_cell: np.ndarray,
        pod: tuple[np.ndarray, np.ndarray] | None,
    ) -> None:
        for i in list(self.routes):
            g, route = self.routes[i]
            if i >= pos.size or g != goal[i]:
                del self.routes[i]
                continue
            if route and pos[i] == route[0]:
                route.pop(0)
            if not route or pinned_cell[route[0]] or not self.graph.has_edge(pos[i], route[0]):
                del self.routes[i]
            elif pod is not None and pod[0][i] and pod[1][route[0]] and route[0] != g:
                del self.routes[i]  # a pod was set down on the way of a loaded agent

    def _plan(
        self,
        agents: np.ndarray,
        pos: np.ndarray,
        goal: np.ndarray,
        pinned_cell: np.ndarray,
        cost_fn: CostFn,
    ) -> None:
        keep = diags((~pinned_cell).astype(float))
        masked = (keep @ self._forward @ keep).tocsr()
        for start in range(0, agents.size, 64):
            batch = agents[start : start + 64]
            dist, pred = dijkstra(
                masked, indices=pos[batch], limit=self.radius, return_predecessors=True
            )
            for row, i in enumerate(batch.tolist()):
                ball = np.nonzero(np.isfinite(dist[row]))[0]
                to_go = cost_fn(np.full(ball.size, goal[i]), ball)
                here = to_go[ball == pos[i]][0]
                # Only nodes closer to the goal than here count: the agent's own cost at `here`
                # wrongly assumes the way through the pinned cell is open.
                ahead = to_go < here
                if not ahead.any():
                    continue
                ball, to_go = ball[ahead], to_go[ahead]
                score = dist[row, ball] + to_go * 1.001  # ties: the node furthest along
                target = int(ball[np.argmin(score)])
                route = []
                while target != pos[i] and target >= 0:
                    route.append(target)
                    target = int(pred[row, target])
                if route and target == pos[i]:
                    self.routes[i] = (int(goal[i]), route[::-1])
