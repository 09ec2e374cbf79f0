"""Assignment policies: one interface, chosen by name (batch optimal, greedy, first-come)."""

from __future__ import annotations

from typing import Protocol

import numpy as np
from scipy.optimize import linear_sum_assignment

from fleet_manager.allocation.costs import INFEASIBLE

Pairs = list[tuple[int, int]]  # (robot index, task index)


class AssignmentPolicy(Protocol):
    """Pick robot-task pairs from a (R, T) cost matrix; never a pair costing INFEASIBLE."""

    name: str

    def assign(self, cost: np.ndarray) -> Pairs: ...


def _feasible_only(cost: np.ndarray, pairs: Pairs) -> Pairs:
    return [(r, t) for r, t in pairs if cost[r, t] < INFEASIBLE]


class BatchOptimal:
    """Minimum total cost (rectangular Hungarian); one row or column falls back to argmin."""

    name = "batch"

    def assign(self, cost: np.ndarray) -> Pairs:
        if cost.size == 0:
            return []
        if 1 in cost.shape:  # a single arrival or a single robot: greedy insertion is optimal
            flat = int(np.argmin(cost))
            r, t = np.unravel_index(flat, cost.shape)
            return _feasible_only(cost, [(int(r), int(t))])
        # Infeasible pairs carry a big finite cost so the solver still finds a full matching,
        # then they are filtered; maximise the number of feasible pairs first, cost second.
        rows, cols = linear_sum_assignment(cost)
        return _feasible_only(cost, [(int(r), int(c)) for r, c in zip(rows, cols, strict=True)])


class GreedyCheapest:
    """Repeatedly take the globally cheapest remaining pair (greedy insertion)."""

    name = "greedy"

    def assign(self, cost: np.ndarray) -> Pairs:
        if cost.size == 0:
            return []
        order = np.argsort(cost, axis=None, kind="stable")
        used_r = np.zeros(cost.shape[0], dtype=bool)
        used_t = np.zeros(cost.shape[1], dtype=bool)
        pairs: Pairs = []
        limit = min(cost.shape)
        for flat in order:
            r, t = divmod(int(flat), cost.shape[1])
            if cost[r, t] >= INFEASIBLE:
                break
            if not used_r[r] and not used_t[t]:
                used_r[r] = used_t[t] = True
                pairs.append((r, t))
                if len(pairs) == limit:
                    break
        return pairs


class FirstComeNearest:
    """Tasks in queue order, each to its nearest free feasible robot (a simple baseline)."""

    name = "fifo"

    def assign(self, cost: np.ndarray) -> Pairs:
        free = np.ones(cost.shape[0], dtype=bool)
        pairs: Pairs = []
        for t in range(cost.shape[1]):
            if not free.any():
                break
            col = np.where(free, cost[:, t], np.inf)
            r = int(np.argmin(col))
            if col[r] < INFEASIBLE:
                free[r] = False
                pairs.append((r, t))
        return pairs


POLICIES: dict[str, type] = {p.name: p for p in (BatchOptimal, GreedyCheapest, FirstComeNearest)}


def make_assignment_policy(name: str) -> AssignmentPolicy:
    try:
        return POLICIES[name]()
    except KeyError:
        raise ValueError(
            f"unknown assignment policy {name!r}; choose one of {', '.join(POLICIES)}"
        ) from None
