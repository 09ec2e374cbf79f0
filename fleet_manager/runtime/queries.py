"""Queries answered from the simulation's live state (run on the control thread)."""

from __future__ import annotations

from typing import Any

from fleet_manager.site.model import Site


def where_is(site: Site, sim: Any, sku: str) -> dict[str, Any]:
    """Pods holding `sku` now: units (and unreserved units), slot and cell, carrying robot."""
    inventory = getattr(sim, "inventory", None)
    if inventory is None:
        raise RuntimeError("the simulation exposes no inventory")
    if sku not in site.skus and sku not in getattr(inventory, "known_skus", ()):
        raise KeyError(f"unknown SKU {sku!r}")
    pods = getattr(getattr(sim, "dispatcher", None), "pods", None) or {}
    locations = []
    for pod_id in sorted(inventory.pods_with(sku)):
        pod = pods.get(pod_id)
        spec = site.pods.get(pod_id)
        slot_id = getattr(pod, "slot", None) if pod is not None else (spec.slot if spec else None)
        where: dict[str, Any] = {
            "pod_id": pod_id,
            "quantity": inventory.qty(pod_id, sku),
            "available": inventory.available(pod_id, sku),
            "slot_id": slot_id,
            "robot_id": getattr(pod, "carried_by", None),
        }
        slot = site.slots.get(slot_id) if slot_id else None
        if slot is not None:
            where["cell"] = list(site.coord(slot.node))
        locations.append(where)
    return {"sku": sku, "total_units": inventory.total_on_hand(sku), "locations": locations}
