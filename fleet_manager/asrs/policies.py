"""Storage assignment policies (closest open, random, class-based) and the double-deep rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from fleet_manager.asrs.rack import Rack
from fleet_manager.domain import Sku


@dataclass
class RackView:
    """A snapshot of slot states over rack indices, taken under the inventory lock."""

    occupied: np.ndarray  # bool: a tote stands there
    reserved: np.ndarray  # bool: a move into or out of it is pending
    blocked: np.ndarray  # bool: out of service
    sku: list[Sku | None]  # SKU of the tote standing there

    @property
    def free(self) -> np.ndarray:
        return ~(self.occupied | self.reserved | self.blocked)

    @classmethod
    def from_rows(cls, rack: Rack, rows: Sequence[tuple]) -> RackView:
        n = len(rack)
        view = cls(np.zeros(n, bool), np.zeros(n, bool), np.zeros(n, bool), [None] * n)
        view.update(rack, rows)
        return view

    def update(self, rack: Rack, rows: Sequence[tuple]) -> None:
        """Overwrite the given slots' states (rows as InventoryStore.slot_rows returns them)."""
        view = self
        for slot_id, tote_id, reserved_by, blocked_reason, sku in rows:
            i = rack.index.get(slot_id)
            if i is None:
                continue  # a slot of a rack layout no longer in the map: never offered
            view.occupied[i] = tote_id is not None
            view.reserved[i] = reserved_by is not None
            view.blocked[i] = blocked_reason is not None
            view.sku[i] = sku


def eligible_tiers(rack: Rack, view: RackView, sku: Sku) -> tuple[np.ndarray, np.ndarray]:
    """(preferred, fallback) masks of slots a new tote of `sku` may go to.

    Double-deep rule: a rear tote only ever sits behind a tote of the same SKU. So the rear slot
    is offered only when its whole lane is free, and a front slot only in front of the same SKU
    (or of nothing, when the rear is blocked). Fallback when nothing else is left: a front slot
    before another SKU; retrieving that rear tote later costs exactly one relocation.
    """
    free = view.free
    if rack.aisle.depth == 1:
        return free, np.zeros_like(free)
    p = rack.partner
    rear = rack.depth == 2
    front = ~rear
    same_sku = np.array([s == sku for s in view.sku], dtype=bool)
    rear_settled = view.occupied[p] & ~view.reserved[p]  # the tote behind is not about to move
    preferred = free & (
        (rear & free[p])
        | (front & rear_settled & same_sku[p])
        | (front & view.blocked[p] & ~view.occupied[p])
    )
    fallback = free & front & rear_settled & ~same_sku[p]
    return preferred, fallback


class StoragePolicy(Protocol):
    """Chooses the slot for a tote of `sku`; `exclude` masks slots it must not use."""

    name: str

    def choose(self, rack: Rack, view: RackView, sku: Sku, exclude: np.ndarray | None = None) -> int | None:
        ...


def _tiers(rack: Rack, view: RackView, sku: Sku, exclude: np.ndarray | None) -> list[np.ndarray]:
    tiers = eligible_tiers(rack, view, sku)
    return [t & ~exclude if exclude is not None else t for t in tiers]


class ClosestOpenSlot:
    """Dedicate nothing: the eligible slot with the shortest single-command cycle from the I/O point."""

    name = "closest"

    def choose(self, rack: Rack, view: RackView, sku: Sku, exclude: np.ndarray | None = None) -> int | None:
        for mask in _tiers(rack, view, sku, exclude):
            if mask.any():
                cost = np.where(mask, rack.single_cycle_s, np.inf)
                return int(np.argmin(cost))  # ties: lowest index (side, bay, level, depth order)
        return None


class RandomOpenSlot:
    """Random storage: any eligible slot, uniformly (the Bozer-White baseline)."""

    name = "random"

    def __init__(self, seed: int = 0) -> None:
        self._rng = np.random.default_rng(seed)

    def choose(self, rack: Rack, view: RackView, sku: Sku, exclude: np.ndarray | None = None) -> int | None:
        for mask in _tiers(rack, view, sku, exclude):
            candidates = np.flatnonzero(mask)
            if candidates.size:
                return int(self._rng.choice(candidates))
        return None


def abc_classes(
    turnover: Mapping[Sku, float], sku_shares: Sequence[float] = (0.2, 0.3, 0.5), labels: str = "ABC"
) -> dict[Sku, str]:
    """Rank SKUs by turnover; the top sku_shares[0] of them are A, the next B, the rest C."""
    ranked = sorted(turnover, key=lambda s: (-turnover[s], s))
    bounds = np.cumsum(sku_shares) * len(ranked)
    return {sku: labels[min(int(np.searchsorted(bounds, i, side="right")), len(labels) - 1)]
            for i, sku in enumerate(ranked)}


class ClassBasedSlot:
    """Class-based storage: zone A is the slots nearest the I/O point by cycle time, then B, C.

    Within a zone the slot is random (classic class-based) or the closest (within="closest").
    A full zone overflows to the next farther zone first, then to nearer ones.
    """

    name = "class"

    def __init__(
        self,
        sku_class: Mapping[Sku, str],
        zone_shares: Mapping[str, float] | None = None,
        within: str = "random",
        seed: int = 0,
    ) -> None:
        self.sku_class = dict(sku_class)
        self.zone_shares = dict(zone_shares or {"A": 0.2, "B": 0.3, "C": 0.5})
        if within not in ("random", "closest"):
            raise ValueError(f"within must be 'random' or 'closest', got {within!r}")
        self.within = within
        self._rng = np.random.default_rng(seed)
        self._zones: dict[int, np.ndarray] = {}  # per rack id(): zone index of every slot

    def zone_of(self, rack: Rack) -> np.ndarray:
        key = id(rack)
        if key not in self._zones:
            order = np.argsort(rack.single_cycle_s, kind="stable")
            bounds = np.cumsum(list(self.zone_shares.values())) * len(rack)
            zone = np.empty(len(rack), dtype=np.int64)
            zone[order] = np.minimum(
                np.searchsorted(bounds, np.arange(len(rack)), side="right"), len(bounds) - 1
            )
            self._zones[key] = zone
        return self._zones[key]

    def choose(self, rack: Rack, view: RackView, sku: Sku, exclude: np.ndarray | None = None) -> int | None:
        labels = list(self.zone_shares)
        own = labels.index(self.sku_class[sku]) if self.sku_class.get(sku) in labels else len(labels) - 1
        order = list(range(own, len(labels))) + list(range(own - 1, -1, -1))
        zone = self.zone_of(rack)
        for mask in _tiers(rack, view, sku, exclude):
            for z in order:
                candidates = np.flatnonzero(mask & (zone == z))
                if candidates.size == 0:
                    continue
                if self.within == "closest":
                    return int(candidates[np.argmin(rack.single_cycle_s[candidates])])
                return int(self._rng.choice(candidates))
        return None
