"""Crane sequencing: single command, or dual command pairing stores with retrieves."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from scipy.optimize import linear_sum_assignment

from fleet_manager.asrs.rack import Rack
from fleet_manager.asrs.records import MoveKind, MoveRecord

Job = tuple[MoveRecord, ...]  # one store, or one retrieve with its relocation (if any) first


class Pairing(StrEnum):
    SINGLE = "single"  # every job its own cycle
    DUAL_FIFO = "dual_fifo"  # i-th store with i-th retrieve, in arrival order
    DUAL_NN = "dual_nn"  # each store takes the nearest remaining retrieve (greedy)
    DUAL_OPT = "dual_opt"  # min total travel-between over all pairs (linear_sum_assignment)


@dataclass(frozen=True)
class Cycle:
    """Moves the crane runs in one trip from and back to the I/O point."""

    moves: Job
    time_s: float

    @property
    def is_dual(self) -> bool:
        kinds = {m.kind for m in self.moves}
        return MoveKind.STORE in kinds and MoveKind.RETRIEVE in kinds


def location_m(rack: Rack, location: str) -> tuple[float, float]:
    """Slot position, or the I/O point (0, 0) for anything that is not a slot."""
    i = rack.index.get(location)
    return (0.0, 0.0) if i is None else (float(rack.x_m[i]), float(rack.y_m[i]))


def path_time_s(rack: Rack, moves: Sequence[MoveRecord]) -> float:
    """I/O -> each move's source (fork) -> its target (fork) -> ... -> back to the I/O point."""
    kin = rack.kinematics
    fork_s = rack.aisle.crane.fork_time_s
    x, y = 0.0, 0.0
    total = 0.0
    for m in moves:
        for loc in (m.source, m.target):
            nx, ny = location_m(rack, loc)
            total += float(kin.move_time_s(x, y, nx, ny)) + fork_s
            x, y = nx, ny
    return total + float(kin.move_time_s(x, y, 0.0, 0.0))


def _is_plain_retrieve(job: Job) -> bool:
    return len(job) == 1 and job[0].kind == MoveKind.RETRIEVE


def plan_cycles(rack: Rack, jobs: Sequence[Job], pairing: Pairing) -> list[Cycle]:
    """Group jobs into crane cycles. Retrieves needing a relocation always run as their own cycle."""
    stores = [j for j in jobs if j[0].kind == MoveKind.STORE]
    retrieves = [j for j in jobs if _is_plain_retrieve(j)]
    others = [j for j in jobs if j[0].kind != MoveKind.STORE and not _is_plain_retrieve(j)]
    pairs: list[tuple[int, int]] = []
    if pairing != Pairing.SINGLE and stores and retrieves:
        pairs = pair_stores_retrieves(rack, [s[0] for s in stores], [r[0] for r in retrieves], pairing)
    paired_s = {i for i, _ in pairs}
    paired_r = {j for _, j in pairs}
    cycles = [Cycle(stores[i] + retrieves[j], path_time_s(rack, stores[i] + retrieves[j]))
              for i, j in pairs]
    singles = [s for i, s in enumerate(stores) if i not in paired_s]
    singles += [r for j, r in enumerate(retrieves) if j not in paired_r]
    cycles += [Cycle(job, path_time_s(rack, job)) for job in others + singles]
    return cycles


def pair_stores_retrieves(
    rack: Rack, stores: Sequence[MoveRecord], retrieves: Sequence[MoveRecord], pairing: Pairing
) -> list[tuple[int, int]]:
    """Indices (store, retrieve) to run as dual commands; min(len) pairs."""
    n = min(len(stores), len(retrieves))
    if pairing == Pairing.DUAL_FIFO:
        return [(i, i) for i in range(n)]
    s_xy = np.array([location_m(rack, m.target) for m in stores])
    r_xy = np.array([location_m(rack, m.source) for m in retrieves])
    # The I/O legs are fixed per move, so only the travel-between cost decides the pairing.
    between = rack.kinematics.move_time_s(
        s_xy[:, 0:1], s_xy[:, 1:2], r_xy[None, :, 0], r_xy[None, :, 1]
    )
    if pairing == Pairing.DUAL_OPT:
        rows, cols = linear_sum_assignment(between)
        return sorted(zip(rows.tolist(), cols.tolist(), strict=True))
    if pairing == Pairing.DUAL_NN:
        taken = np.zeros(len(retrieves), bool)
        out = []
        for i in range(n):
            j = int(np.argmin(np.where(taken, np.inf, between[i])))
            taken[j] = True
            out.append((i, j))
        return out
    raise ValueError(f"unknown pairing {pairing!r}")
