"""Sorter lane decisions: barcode -> order -> lane; full/disabled -> overflow; unknown -> reject."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fleet_manager.domain import LaneId, OrderId
from fleet_manager.site.model import SorterLane

NOREAD = "NOREAD"  # what a scanner reports when it read nothing


class LaneError(ValueError):
    """An unknown lane or an impossible lane setup; str() names the lane."""


@dataclass(frozen=True)
class LaneDecision:
    barcode: str
    lane: LaneId
    reason: str  # order | overflow_full | overflow_disabled | overflow_no_lane | reject_noread | reject_unknown
    order_id: OrderId | None = None


@dataclass
class SortPlan:
    """Which order each barcode belongs to; optionally an order's lane fixed in advance."""

    items: dict[str, OrderId] = field(default_factory=dict)
    fixed_lanes: dict[OrderId, LaneId] = field(default_factory=dict)

    @classmethod
    def from_orders(cls, orders: Mapping[OrderId, Iterable[str]]) -> SortPlan:
        plan = cls()
        for order_id, barcodes in orders.items():
            for barcode in barcodes:
                plan.add(barcode, order_id)
        return plan

    def add(self, barcode: str, order_id: OrderId) -> None:
        if not barcode or barcode == NOREAD:
            raise ValueError(f"barcode {barcode!r} cannot be planned")
        owner = self.items.get(barcode)
        if owner is not None and owner != order_id:
            raise ValueError(f"barcode {barcode!r} already belongs to order {owner!r}")
        self.items[barcode] = order_id

    def order_of(self, barcode: str) -> OrderId | None:
        return self.items.get(barcode)

    def expected_items(self) -> Counter[OrderId]:
        return Counter(self.items.values())


class LaneAssigner:
    """Keeps lane state (enabled, fill, items on their way) and decides each scanned item's lane.

    An order gets a lane at its first scan (sticky): the enabled order lane with room and the
    fewest open orders. An item whose order lane is full or disabled goes to the overflow lane;
    a NOREAD or a barcode in no order goes to the reject lane. Counts of items decided but not
    yet confirmed ("in flight") are included when judging "full"."""

    def __init__(self, lanes: Sequence[SorterLane], plan: SortPlan | None = None) -> None:
        self.lanes: dict[LaneId, SorterLane] = {lane.id: lane for lane in lanes}
        if len(self.lanes) != len(lanes):
            raise LaneError("duplicate lane id in sorter lanes")
        rejects = [lane.id for lane in lanes if lane.role == "reject"]
        if not rejects:
            raise LaneError("sorter has no lane with role 'reject'")
        self.reject_lane: LaneId = rejects[0]
        overflow = [lane.id for lane in lanes if lane.role == "overflow"]
        self.overflow_lane: LaneId = overflow[0] if overflow else self.reject_lane
        self.order_lanes = [lane.id for lane in lanes if lane.role == "order"]
        self.plan = plan or SortPlan()
        for lane_id in self.plan.fixed_lanes.values():
            self._check(lane_id)
        self.enabled: dict[LaneId, bool] = {lane_id: True for lane_id in self.lanes}
        self.fill: dict[LaneId, int] = dict.fromkeys(self.lanes, 0)
        self.in_flight: dict[LaneId, int] = dict.fromkeys(self.lanes, 0)
        self.order_lane: dict[OrderId, LaneId] = dict(self.plan.fixed_lanes)
        self.sorted_items: Counter[OrderId] = Counter()
        self.decisions: Counter[str] = Counter()

    # ---- lane state ------------------------------------------------------------------------
    def _check(self, lane_id: LaneId) -> SorterLane:
        lane = self.lanes.get(lane_id)
        if lane is None:
            raise LaneError(f"unknown lane {lane_id!r} (known: {', '.join(self.lanes)})")
        return lane

    def set_enabled(self, lane_id: LaneId, enabled: bool) -> None:
        self._check(lane_id)
        self.enabled[lane_id] = bool(enabled)

    def set_fill(self, lane_id: LaneId, items: int) -> None:
        """Authoritative fill count, e.g. read from the PLC's lane words."""
        self._check(lane_id)
        if items < 0:
            raise LaneError(f"lane {lane_id!r}: fill count {items} is negative")
        self.fill[lane_id] = items

    def lane_emptied(self, lane_id: LaneId) -> None:
        self.set_fill(lane_id, 0)

    def is_full(self, lane_id: LaneId) -> bool:
        lane = self._check(lane_id)
        return self.fill[lane_id] + self.in_flight[lane_id] >= lane.capacity_items

    def _usable(self, lane_id: LaneId) -> bool:
        return self.enabled[lane_id] and not self.is_full(lane_id)

    # ---- decisions -------------------------------------------------------------------------
    def decide(self, barcode: str) -> LaneDecision:
        """Destination lane of one scanned item; counts it as in flight to that lane."""
        decision = self._decide(barcode.strip())
        self.in_flight[decision.lane] += 1
        self.decisions[decision.reason] += 1
        return decision

    def _decide(self, barcode: str) -> LaneDecision:
        if not barcode or barcode == NOREAD:
            return LaneDecision(barcode, self.reject_lane, "reject_noread")
        order_id = self.plan.order_of(barcode)
        if order_id is None:
            return LaneDecision(barcode, self.reject_lane, "reject_unknown")
        lane_id = self.order_lane.get(order_id) or self._assign(order_id)
        if lane_id is None:
            return LaneDecision(barcode, self._overflow(), "overflow_no_lane", order_id)
        if not self.enabled[lane_id]:
            return LaneDecision(barcode, self._overflow(), "overflow_disabled", order_id)
        if self.is_full(lane_id):
            return LaneDecision(barcode, self._overflow(), "overflow_full", order_id)
        return LaneDecision(barcode, lane_id, "order", order_id)

    def _overflow(self) -> LaneId:
        # A disabled overflow lane sends items to reject rather than nowhere.
        return self.overflow_lane if self.enabled[self.overflow_lane] else self.reject_lane

    def _assign(self, order_id: OrderId) -> LaneId | None:
        open_orders = Counter(self.order_lane.values())
        candidates = [lane_id for lane_id in self.order_lanes if self._usable(lane_id)]
        if not candidates:
            return None
        lane_id = min(
            candidates, key=lambda lid: (open_orders[lid], self.fill[lid] + self.in_flight[lid])
        )
        self.order_lane[order_id] = lane_id
        return lane_id

    def confirmed(
        self,
        decided: LaneId | None,
        actual: LaneId | None,
        order_id: OrderId | None,
        plc_counts_fill: bool = True,
    ) -> None:
        """An item's divert outcome: it leaves 'in flight' of the decided lane; if it landed in
        a lane and the PLC does not report fill counts, count it here."""
        if decided is not None and self.in_flight.get(decided, 0) > 0:
            self.in_flight[decided] -= 1
        if actual is not None:
            self._check(actual)
            if not plc_counts_fill:
                self.fill[actual] += 1
            if order_id is not None and self.order_lane.get(order_id) == actual:
                self.sorted_items[order_id] += 1

    def release_order(self, order_id: OrderId) -> None:
        """The order's lane was emptied for good: its lane may serve another order."""
        self.order_lane.pop(order_id, None)

    def status(self) -> dict[str, Any]:
        return {
            "lanes": {
                lane_id: {
                    "role": lane.role,
                    "enabled": self.enabled[lane_id],
                    "fill": self.fill[lane_id],
                    "in_flight": self.in_flight[lane_id],
                    "capacity": lane.capacity_items,
                    "full": self.is_full(lane_id),
                }
                for lane_id, lane in self.lanes.items()
            },
            "orders_with_lane": len(self.order_lane),
            "decisions": dict(self.decisions),
        }


def demo_orders(n_orders: int, seed: int = 0, max_items: int = 5) -> dict[OrderId, list[str]]:
    """A seeded demo order book: order id -> item barcodes (at most 12 ASCII characters)."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, max_items + 1, size=n_orders)
    return {
        f"D{o:05d}": [f"D{o:05d}-{i:02d}" for i in range(int(sizes[o]))] for o in range(n_orders)
    }
