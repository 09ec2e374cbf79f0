"""Pod return policies: which free storage slot a pod goes back to after its station visit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from fleet_manager.domain import NodeId, PodId, SlotId
from fleet_manager.g2p.views import G2PContext

ZONE_SHARES = (("A", 0.2), ("B", 0.3), ("C", 0.5))  # turnover classes by nearness to stations


@dataclass
class SlotTable:
    """All storage slots: node, turnover zone and distance to the nearest station (hops)."""

    nodes: dict[SlotId, NodeId]
    zones: dict[SlotId, str]
    to_station: dict[SlotId, float]


def derive_zones(to_station: dict[SlotId, float], labels: dict[SlotId, str]) -> dict[SlotId, str]:
    """Use the map's zone labels where given; otherwise the nearest 20 % are A, next 30 % B."""
    if labels and all(labels.get(s) for s in to_station):
        return {s: labels[s] for s in to_station}
    ranked = sorted(to_station, key=lambda s: (to_station[s], s))
    zones: dict[SlotId, str] = {}
    start = 0
    for i, (zone, share) in enumerate(ZONE_SHARES):
        end = len(ranked) if i == len(ZONE_SHARES) - 1 else start + round(share * len(ranked))
        for s in ranked[start:end]:
            zones[s] = zone
        start = end
    return zones


class PodReturnPolicy(Protocol):
    """Pick a slot from `free` (non-empty) for `pod` leaving a station at `from_node`."""

    name: str

    def choose(
        self,
        pod: PodId,
        home: SlotId,
        from_node: NodeId,
        free: list[SlotId],
        slots: SlotTable,
        pod_visits: dict[PodId, int],
        ctx: G2PContext,
    ) -> SlotId: ...


def _nearest(from_node: NodeId, free: list[SlotId], slots: SlotTable, ctx: G2PContext) -> SlotId:
    # Distance from the station to each slot ~ slot's distance to the station (aisles are
    # two-way or paired one-way lanes, so the two are close).
    table = ctx.dist_to(from_node)
    cost = np.array([table[slots.nodes[s]] for s in free])
    return free[int(np.argmin(cost))]


class OriginalSlot:
    """Back to the pod's home slot; nearest free slot if it was taken meanwhile."""

    name = "original"

    def choose(
        self,
        pod: PodId,
        home: SlotId,
        from_node: NodeId,
        free: list[SlotId],
        slots: SlotTable,
        pod_visits: dict[PodId, int],
        ctx: G2PContext,
    ) -> SlotId:
        return home if home in free else _nearest(from_node, free, slots, ctx)


class NearestFree:
    """The free slot nearest to the station the pod leaves."""

    name = "nearest_free"

    def choose(
        self,
        pod: PodId,
        home: SlotId,
        from_node: NodeId,
        free: list[SlotId],
        slots: SlotTable,
        pod_visits: dict[PodId, int],
        ctx: G2PContext,
    ) -> SlotId:
        return _nearest(from_node, free, slots, ctx)


class TurnoverZone:
    """Hot pods (most visits so far) to zone A near the stations, cold ones further out."""

    name = "turnover_zone"

    def choose(
        self,
        pod: PodId,
        home: SlotId,
        from_node: NodeId,
        free: list[SlotId],
        slots: SlotTable,
        pod_visits: dict[PodId, int],
        ctx: G2PContext,
    ) -> SlotId:
        visits = sorted(pod_visits.values(), reverse=True)
        mine = pod_visits.get(pod, 0)
        rank = sum(1 for v in visits if v > mine) / max(1, len(visits))
        want = "A" if rank < 0.2 else "B" if rank < 0.5 else "C"
        for zone in (want, "A", "B", "C") if want != "C" else ("C", "B", "A"):
            candidates = [s for s in free if slots.zones.get(s) == zone]
            if candidates:
                return _nearest(from_node, candidates, slots, ctx)
        return _nearest(from_node, free, slots, ctx)


POD_RETURN_POLICIES: dict[str, type] = {
    p.name: p for p in (OriginalSlot, NearestFree, TurnoverZone)
}
