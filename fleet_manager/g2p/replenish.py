"""Replenishment: reorder-point checks per pod and put-away of customer returns."""

from __future__ import annotations

from dataclasses import dataclass

from fleet_manager.domain import PodId, Sku
from fleet_manager.inventory import Inventory


@dataclass(frozen=True)
class Restock:
    """Units to add to one pod (replenishment or returns put-away)."""

    pod_id: PodId
    add: dict[Sku, int]
    reason: str  # "replenish" | "putaway"


class ReorderPoint:
    """A pod SKU at or below `reorder_point_units` is refilled to its initial level."""

    def __init__(self, reorder_point_units: int, targets: dict[PodId, dict[Sku, int]]):
        self.reorder_point_units = reorder_point_units
        self.targets = targets  # initial quantities: the level a refill restores

    def check(self, inventory: Inventory, pod: PodId) -> Restock | None:
        add: dict[Sku, int] = {}
        for sku, target in self.targets.get(pod, {}).items():
            have = inventory.qty(pod, sku)
            if have <= self.reorder_point_units and target > have:
                add[sku] = target - have
        return Restock(pod, add, "replenish") if add else None


def putaway_pod(
    inventory: Inventory, sku: Sku, qty: int, capacity: dict[PodId, int], busy: set[PodId]
) -> PodId | None:
    """Pod to put returned units on: one already holding the SKU with room, else any with room.

    Ties go to the emptiest pod, then the smallest id, so the choice is deterministic.
    """

    def room(p: PodId) -> int:
        return capacity.get(p, 0) - inventory.pod_units(p)

    holders = sorted(
        (p for p in inventory.pods_with(sku) if p not in busy and room(p) >= qty),
        key=lambda p: (-room(p), p),
    )
    if holders:
        return holders[0]
    others = sorted(
        (p for p in inventory.on_hand if p not in busy and room(p) >= qty),
        key=lambda p: (-room(p), p),
    )
    return others[0] if others else None
