"""Lifelong one-step planner: PIBT (priority inheritance with backtracking) on a MotionGraph."""

from __future__ import annotations

import gc
import time
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from fleet_manager.traffic.detour import Detours
from fleet_manager.traffic.graph import MotionGraph
from fleet_manager.traffic.guidance import GuidanceCosts
from fleet_manager.traffic.pibt import pibt_step


class PlanningError(ValueError):
    """Bad planner input: names the robot and the cell (start/goal invalid, unreachable...)."""


class LifelongPlanner(Protocol):
    """One tick of lifelong multi-agent planning."""

    def step(
        self,
        positions: np.ndarray,
        goals: np.ndarray,
        pinned: np.ndarray | None = None,
        *,
        loaded: np.ndarray | None = None,
        pod_cells: np.ndarray | None = None,
    ) -> np.ndarray:
        """Every agent's next node (its own node = wait); never a vertex/swap/illegal move,
        and with the masks never a loaded agent into a pod cell other than its goal."""
        ...


class PibtPlanner:
    """PIBT with dynamic priorities, aisle-flow guidance, livelock escape and pinned detours.

    Options (keyword only; reasoning in docs/traffic.md):
    - `guidance`: "aisles" (default; costs favouring one-way flows alternating from aisle to
      aisle, so head-on meetings in 1-wide aisles become rare), "crisscross" (the same with
      directions by coordinate parity) or "none" (hop counts).
    - `against_cost`: extra whole hops per move against the preferred direction (default 3).
    - `prefer_free`: among equal-cost moves take currently free cells first (default True).
    - `aside_weight`: extra cost (hops) for a pushed agent to run ahead of its pusher rather
      than step aside (default 0.6; grows by up to 2 while the pusher makes no progress).
    - `stuck_limit`: steps without progress before an agent's priority is re-drawn (32).
    - `detour_radius`: hops searched for a way around pinned agents (default 24).
    - `tables_per_step`: new goal tables built per step at most (default max(32, 1.8e6 / n));
      on strongly connected graphs agents still waiting steer by Manhattan distance.
    - `cache_tables`: guidance tables kept in the LRU (default: 1 GiB worth).
    - `agent_ids`: robot names for error messages.
    """

    def __init__(
        self,
        graph: MotionGraph,
        seed: int = 0,
        *,
        guidance: str = "aisles",
        against_cost: int = 3,
        prefer_free: bool = True,
        stuck_limit: int = 32,
        aside_weight: float = 0.6,
        cache_tables: int | None = None,
        detour_radius: int = 24,
        tables_per_step: int | None = None,
        rollouts: int = 1,
        distance_weight: float = -0.5,
        rollout_jitter: float = 8.0,
        agent_ids: Sequence[str] | None = None,
    ) -> None:
        self.graph = graph
        self.rollouts = int(rollouts)
        self.distance_weight = float(distance_weight)
        self.rollout_jitter = float(rollout_jitter)
        self.rng = np.random.default_rng(seed)
        self.prefer_free = prefer_free
        self.stuck_limit = int(stuck_limit)
        self.aside_weight = float(aside_weight)
        self.agent_ids = list(agent_ids) if agent_ids is not None else None
        self.costs = GuidanceCosts(graph, guidance, against_cost, cache_tables)
        self.detours = Detours(graph, detour_radius)
        # Default: about 1.8 M node visits of table building per step (46 on a 38k-node map,
        # above the ~30-40 arrivals per step of 10,000 agents there).
        auto = max(32, 1_800_000 // max(1, graph.n))
        self.tables_per_step = auto if tables_per_step is None else int(tables_per_step)
        # Steering by Manhattan distance before a goal's table exists is only safe where every
        # node can reach every goal; on other graphs every table is built when first needed.
        if not graph.strongly_connected():
            self.tables_per_step = graph.n
        self._n_agents = -1
        self._priority = np.zeros(0)
        self._best = np.zeros(0)
        self._stuck = np.zeros(0, dtype=np.int64)
        self._last_goal = np.zeros(0, dtype=np.int64)
        self._here = np.zeros(0)
        self._at_goal = np.zeros(0, dtype=bool)

    # ---- public ------------------------------------------------------------------------------
    def warm_up(self, goals: np.ndarray, budget_s: float | None = None) -> int:
        """Build the cost tables for these goals ahead of the first tick (set-up time, e.g.
        while the fleet boots), so early steps need not steer by Manhattan distance.
        `budget_s`: stop after about this much wall time (goals in the order given, so list
        the most urgent first); the rest arrive `tables_per_step` at a time. Returns the
        number of tables built; goals beyond the cache capacity are skipped."""
        goals = np.asarray(goals, dtype=np.int64)
        bad = goals[(goals < 0) | (goals >= self.graph.n)]
        if bad.size:
            raise PlanningError(f"warm-up goal {self.graph.describe(int(bad[0]))} is not a node")
        if budget_s is not None and budget_s < 0:
            raise PlanningError(f"warm-up budget_s must be >= 0, got {budget_s}")
        _, first = np.unique(goals, return_index=True)
        goals = goals[np.sort(first)]  # distinct, in the order given
        cache = self.costs.table_cache
        before = cache.computed
        goals = goals[: cache.capacity]
        if budget_s is None:
            cache.ensure(goals)
            return cache.computed - before
        deadline = time.perf_counter() + budget_s
        for start in range(0, goals.size, 64):
            if time.perf_counter() >= deadline:
                break
            cache.ensure(goals[start : start + 64])
        return cache.computed - before

    def step(
        self,
        positions: np.ndarray,
        goals: np.ndarray,
        pinned: np.ndarray | None = None,
        *,
        loaded: np.ndarray | None = None,
        pod_cells: np.ndarray | None = None,
        trailing: np.ndarray | None = None,
    ) -> np.ndarray:
        """Every agent's next node. `loaded` (bool per agent: carries a pod) and `pod_cells`
        (bool per node: a pod stands there) go together: a loaded agent never moves into a
        pod cell, except its own goal. Without them every cell is open to everyone.
        `trailing` (bool per node): cells a vehicle in transit is still leaving; no agent moves
        into one this step."""
        # A tick allocates ~10 small lists per agent; letting the cyclic GC run a full pass
        # in the middle was the main source of p99 spikes (nothing here forms cycles).
        gc_was_on = gc.isenabled()
        gc.disable()
        try:
            return self._step(positions, goals, pinned, loaded, pod_cells, trailing)
        finally:
            if gc_was_on:
                gc.enable()

    def _step(
        self,
        positions: np.ndarray,
        goals: np.ndarray,
        pinned: np.ndarray | None,
        loaded: np.ndarray | None,
        pod_cells: np.ndarray | None,
        trailing: np.ndarray | None = None,
    ) -> np.ndarray:
        pos, goal, pin = self._check(positions, goals, pinned)
        pod = self._check_pods(pos, loaded, pod_cells)
        n_agents = pos.size
        if n_agents == 0:
            return pos.copy()
        g = self.graph
        cand = g.moves[pos]  # (N, K): wait first, then successors, -1 padding
        cost = self._costs(pos, goal, cand)  # float64 hops, inf where the goal is unreachable
        here = cost[:, 0].copy()
        bad = np.nonzero(~np.isfinite(here))[0]
        if bad.size:
            i = int(bad[0])
            raise PlanningError(
                f"{self._name(i)}: goal {g.describe(int(goal[i]))} is unreachable from "
                f"{g.describe(int(pos[i]))}"
            )
        self._update_priorities(pos, goal, here)
        tie = self.rng.random(cand.shape) * 1e-3
        if self.prefer_free:
            occupied = np.zeros(g.n, dtype=bool)
            occupied[pos] = True
            busy = occupied[np.where(cand >= 0, cand, 0)] & (cand != pos[:, None])
            tie += busy * 1e-2
        key = cost + tie
        forbid = None
        if pod is not None:
            # Loaded agents must not enter a pod cell (own goal excepted). Guidance costs
            # ignore pods, so those moves are struck out of the ranking: neither the agent's
            # own choice nor a push can use them, and detours route around them.
            carry, cells = pod
            safe = np.where(cand >= 0, cand, 0)
            forbid = carry[:, None] & cells[safe] & (cand >= 0)
            forbid &= (cand != pos[:, None]) & (cand != goal[:, None])
        if trailing is not None and trailing.any():
            # A real vehicle is still leaving these cells: entering one now could hit it.
            safe = np.where(cand >= 0, cand, 0)
            held = np.asarray(trailing, dtype=bool)[safe] & (cand >= 0) & (cand != pos[:, None])
            forbid = held if forbid is None else forbid | held
        self.detours.prefer(pos, goal, pin, cand, key, self.costs.lookup, forbid, pod)
        if forbid is not None:
            key[forbid] = np.inf
        order = np.argsort(key, axis=1, kind="stable")
        ranked = np.take_along_axis(cand, order, axis=1)
        ranked_key = np.take_along_axis(key, order, axis=1)
        ranked[~np.isfinite(ranked_key)] = -1
        slab, slots = self.costs.rows(goal)
        return self._pibt(pos, pin, ranked, ranked_key, slab, slots)

    # ---- internals ---------------------------------------------------------------------------
    def _costs(self, pos: np.ndarray, goal: np.ndarray, cand: np.ndarray) -> np.ndarray:
        """Cost-to-goal of every candidate. At most `tables_per_step` new goal tables are built
        per call (highest priority first); agents still waiting for theirs steer by Manhattan
        distance for a step or two, which keeps a burst of new goals from stalling the tick."""
        first = (
            np.argsort(-self._priority, kind="stable")
            if self._priority.size == pos.size
            else np.arange(pos.size)
        )
        ready = self.costs.prepare(goal, first, self.tables_per_step)
        if ready.all():
            return self.costs.lookup(goal, cand)
        cost = np.empty(cand.shape)
        cost[ready] = self.costs.lookup(goal[ready], cand[ready])
        wait = ~ready
        xy = self.graph.coords[np.where(cand[wait] >= 0, cand[wait], 0)]
        gxy = self.graph.coords[goal[wait]][:, None, :]
        manhattan = np.abs(xy - gxy).sum(axis=2).astype(np.float64)
        cost[wait] = np.where(cand[wait] >= 0, manhattan, np.inf)
        return cost

    def _pibt(
        self,
        pos: np.ndarray,
        pin: np.ndarray,
        ranked: np.ndarray,
        ranked_key: np.ndarray,
        slab: np.ndarray,
        slots: np.ndarray,
    ) -> np.ndarray:
        # A pusher that has made no progress for a while needs its way cleared for real: the
        # aside preference grows from `aside_weight` to +2 hops over `stuck_limit` steps.
        aside = self.aside_weight + np.minimum(self._stuck, self.stuck_limit) * (
            2.0 / max(1, self.stuck_limit)
        )
        order = np.argsort(-self._urgency(), kind="stable")
        nxt = pibt_step(self.graph.n, pos, pin, ranked, ranked_key, slab, slots, aside, order)
        if self.rollouts <= 1:
            return nxt
        # Spend spare step time on a few more passes with jittered priorities; keep the one
        # whose chosen moves have the least total cost to go (most progress this step).
        best, best_cost = nxt, _chosen_cost(nxt, ranked, ranked_key)
        for _ in range(self.rollouts - 1):
            jitter = self.rng.random(pos.size) * self.rollout_jitter
            order = np.argsort(-(self._urgency() + jitter), kind="stable")
            nxt = pibt_step(self.graph.n, pos, pin, ranked, ranked_key, slab, slots, aside, order)
            cost = _chosen_cost(nxt, ranked, ranked_key)
            if cost < best_cost:
                best, best_cost = nxt, cost
        return best

    def _urgency(self) -> np.ndarray:
        """Service order key: priority (time away from the goal), plus `distance_weight` per
        hop of cost to go (negative: agents about to arrive go first). Agents already at their
        goal count as furthest away, so they stay last and get pushed aside, as before."""
        to_go = self._here
        if self.distance_weight < 0 and self._at_goal.any():
            to_go = np.where(self._at_goal, to_go.max() + 1.0, to_go)
        return self._priority + self.distance_weight * to_go

    def _update_priorities(self, pos: np.ndarray, goal: np.ndarray, here: np.ndarray) -> None:
        n_agents = pos.size
        if n_agents != self._n_agents:
            self._n_agents = n_agents
            self._priority = self.rng.random(n_agents)
            self._best = here.copy()
            self._stuck = np.zeros(n_agents, dtype=np.int64)
            self._last_goal = goal.copy()
        new_goal = goal != self._last_goal
        if new_goal.any():
            self.costs.table_cache.mark_idle(np.setdiff1d(self._last_goal[new_goal], goal))
        self._last_goal = goal.copy()
        self._best[new_goal] = here[new_goal]
        self._stuck[new_goal] = 0
        progress = here < self._best
        self._best = np.minimum(self._best, here)
        at_goal = pos == goal
        self._stuck = np.where(progress | at_goal, 0, self._stuck + 1)
        # Priority grows while an agent is away from its goal; at the goal it drops to its
        # fractional tie-breaker so arriving agents yield to travelling ones.
        frac = self._priority - np.floor(self._priority)
        self._priority = np.where(at_goal, frac, self._priority + 1.0)
        # Livelock escape: agents without progress for `stuck_limit` steps restart from a fresh
        # random tie-breaker. Agents blocking each other got stuck together, so their relative
        # order is re-drawn (a plain reset would keep the old order) and the loser yields.
        stuck = np.nonzero(self._stuck > self.stuck_limit)[0]
        self._here = here
        self._at_goal = at_goal
        if stuck.size:
            self._stuck[stuck] = 0
            # Spread the redraw over the distance term too, so two stuck agents' order is a
            # coin flip whatever their distances to go.
            spread = 2.0 * (1.0 + abs(self.distance_weight) * np.minimum(here[stuck], 1e6))
            self._priority[stuck] = self.rng.random(stuck.size) * spread

    def _check(
        self, positions: np.ndarray, goals: np.ndarray, pinned: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        g = self.graph
        pos = np.asarray(positions)
        goal = np.asarray(goals)
        if pos.ndim != 1 or goal.shape != pos.shape:
            raise PlanningError(
                f"positions and goals must be equal-length 1-D arrays, got {pos.shape} and {goal.shape}"
            )
        pin = np.zeros(pos.size, dtype=bool) if pinned is None else np.asarray(pinned, dtype=bool)
        if pin.shape != pos.shape:
            raise PlanningError(f"pinned must have shape {pos.shape}, got {pin.shape}")
        pos = pos.astype(np.int64)
        goal = goal.astype(np.int64)
        bad = np.nonzero((pos < 0) | (pos >= g.n))[0]
        if bad.size:
            i = int(bad[0])
            raise PlanningError(
                f"{self._name(i)}: start {g.describe(int(pos[i]))} is not free floor"
            )
        # A negative goal means "no errand": stay put unless pushed aside.
        goal = np.where(goal < 0, pos, goal)
        bad = np.nonzero(goal >= g.n)[0]
        if bad.size:
            i = int(bad[0])
            raise PlanningError(
                f"{self._name(i)}: goal {g.describe(int(goal[i]))} is not free floor"
            )
        order = np.argsort(pos, kind="stable")
        same = np.nonzero(pos[order][1:] == pos[order][:-1])[0]
        if same.size:
            a, b = int(order[same[0]]), int(order[same[0] + 1])
            raise PlanningError(
                f"{self._name(a)} and {self._name(b)} are both on {g.describe(int(pos[a]))}"
            )
        return pos, goal, pin

    def _check_pods(
        self, pos: np.ndarray, loaded: np.ndarray | None, pod_cells: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """(loaded per agent, pod per node), or None when no loaded agent meets a pod."""
        if loaded is None and pod_cells is None:
            return None
        if loaded is None or pod_cells is None:
            raise PlanningError("loaded and pod_cells must be given together")
        carry = np.asarray(loaded)
        cells = np.asarray(pod_cells)
        if carry.dtype != bool or carry.shape != pos.shape:
            raise PlanningError(
                f"loaded must be a bool array of shape {pos.shape}, got {carry.dtype} {carry.shape}"
            )
        if cells.dtype != bool or cells.shape != (self.graph.n,):
            raise PlanningError(
                f"pod_cells must be a bool array of shape ({self.graph.n},), "
                f"got {cells.dtype} {cells.shape}"
            )
        if not carry.any() or not cells.any():
            return None
        return carry, cells

    def _name(self, i: int) -> str:
        if self.agent_ids is not None and i < len(self.agent_ids):
            return f"robot {self.agent_ids[i]!r} (index {i})"
        return f"robot {i}"


def _chosen_cost(nxt: np.ndarray, ranked: np.ndarray, ranked_key: np.ndarray) -> float:
    """Total ranking cost of the moves chosen (every agent's choice is one of its ranked
    moves, waiting included)."""
    col = np.argmax(ranked == nxt[:, None], axis=1)
    chosen = ranked_key[np.arange(nxt.size), col]
    return float(np.sum(np.where(np.isfinite(chosen), chosen, 0.0)))


def make_planner(graph: MotionGraph, seed: int = 0, **options: Any) -> PibtPlanner:
    """Build the default lifelong planner; see `PibtPlanner` for the options."""
    return PibtPlanner(graph, seed, **options)
