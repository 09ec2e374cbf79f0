"""Inventory: SKU quantities per pod, reservations for order lines, scan-confirmed picks."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from fleet_manager.domain import Order, PodId, Sku, StationId


class IntakeError(ValueError):
    """An order (or other input) was refused; names the field and the reason. Nothing applied."""

    def __init__(self, field: str, reason: str):
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class InventoryError(ValueError):
    """An inventory operation would make a quantity negative or exceed a reservation."""


@dataclass(frozen=True)
class ScanEvent:
    """What the picker's scanner reported at a station."""

    sku: Sku
    quantity: int
    pod_id: PodId
    station_id: StationId
    at_s: float = 0.0


@dataclass(frozen=True)
class PickResult:
    """Outcome of confirming a pick against what was expected."""

    picked: int  # units taken off the pod and credited to the order line
    mismatch: str | None = None  # None | "wrong_sku" | "short_pick"


class Inventory:
    """On-hand and reserved units per (pod, SKU); open order demand per SKU.

    Invariants: 0 <= reserved <= on_hand for every pod and SKU, open demand >= 0.
    """

    def __init__(self, pods: Mapping[PodId, Mapping[Sku, int]], known_skus: Iterable[Sku] = ()):
        self.on_hand: dict[PodId, dict[Sku, int]] = {p: dict(inv) for p, inv in pods.items()}
        self.reserved: dict[PodId, dict[Sku, int]] = {p: {} for p in pods}
        self.demand: dict[Sku, int] = defaultdict(int)
        self.known_skus = set(known_skus)
        self._total: dict[Sku, int] = defaultdict(int)
        self._pods_with: dict[Sku, set[PodId]] = defaultdict(set)
        self.changed: set[PodId] = set()  # pods whose stock moved since `take_changed`
        for pod, inv in self.on_hand.items():
            for sku, qty in inv.items():
                if qty < 0:
                    raise InventoryError(f"pod {pod}: negative quantity {qty} of {sku}")
                self.known_skus.add(sku)
                self._total[sku] += qty
                if qty > 0:
                    self._pods_with[sku].add(pod)

    # ---- queries -------------------------------------------------------------------------
    def qty(self, pod: PodId, sku: Sku) -> int:
        return self.on_hand[pod].get(sku, 0)

    def available(self, pod: PodId, sku: Sku) -> int:
        return self.on_hand[pod].get(sku, 0) - self.reserved[pod].get(sku, 0)

    def total_on_hand(self, sku: Sku) -> int:
        return self._total.get(sku, 0)

    def pods_with(self, sku: Sku) -> set[PodId]:
        """Pods holding at least one unit of `sku` (reserved or not)."""
        return self._pods_with.get(sku, set())

    def pod_units(self, pod: PodId) -> int:
        return sum(self.on_hand[pod].values())

    # ---- order intake --------------------------------------------------------------------
    def check_order(self, order: Order) -> None:
        """Raise IntakeError naming the first bad field; never changes anything."""
        if not order.lines:
            raise IntakeError("lines", "an order needs at least one line")
        wanted: dict[Sku, int] = defaultdict(int)
        for i, line in enumerate(order.lines):
            if line.sku not in self.known_skus:
                raise IntakeError(f"lines[{i}].sku", f"unknown SKU {line.sku!r}")
            if not isinstance(line.quantity, int) or line.quantity <= 0:
                raise IntakeError(
                    f"lines[{i}].quantity", f"must be a positive integer, got {line.quantity!r}"
                )
            wanted[line.sku] += line.quantity
            free = self.total_on_hand(line.sku) - self.demand.get(line.sku, 0)
            if wanted[line.sku] > free:
                raise IntakeError(
                    f"lines[{i}].quantity",
                    f"{wanted[line.sku]} units of {line.sku} wanted, site holds {free} not yet promised",
                )

    def commit_demand(self, order: Order) -> None:
        for line in order.lines:
            self.demand[line.sku] += line.open_quantity

    def release_demand(self, sku: Sku, qty: int) -> None:
        self.demand[sku] = max(0, self.demand.get(sku, 0) - qty)

    # ---- reservations ----------------------------------------------------------------------
    def reserve(self, pod: PodId, sku: Sku, qty: int) -> None:
        if qty <= 0 or self.available(pod, sku) < qty:
            raise InventoryError(
                f"pod {pod}: cannot reserve {qty} of {sku}, {self.available(pod, sku)} free"
            )
        self.reserved[pod][sku] = self.reserved[pod].get(sku, 0) + qty

    def release(self, pod: PodId, sku: Sku, qty: int) -> None:
        have = self.reserved[pod].get(sku, 0)
        if qty < 0 or qty > have:
            raise InventoryError(f"pod {pod}: cannot release {qty} of {sku}, {have} reserved")
        self.reserved[pod][sku] = have - qty

    # ---- picks and stock changes --------------------------------------------------------------
    def confirm_pick(self, pod: PodId, sku: Sku, expected: int, scan: ScanEvent) -> PickResult:
        """Check a scan against a reserved pick of `expected` units of `sku` from `pod`.

        The reservation is always released. A wrong SKU or pod takes nothing; a short pick takes
        the scanned units and records the pod as empty of that SKU (the picker found no more).
        """
        self.release(pod, sku, expected)
        if scan.sku != sku or scan.pod_id != pod:
            return PickResult(0, "wrong_sku")
        taken = max(0, min(scan.quantity, expected, self.qty(pod, sku)))
        self._remove(pod, sku, taken)
        self.release_demand(sku, taken)
        if taken < expected:
            self._remove(pod, sku, self.qty(pod, sku) - self.reserved[pod].get(sku, 0))
            return PickResult(taken, "short_pick")
        return PickResult(taken)

    def add_stock(self, pod: PodId, sku: Sku, qty: int) -> None:
        if qty < 0:
            raise InventoryError(f"pod {pod}: cannot add {qty} of {sku}")
        self.on_hand[pod][sku] = self.on_hand[pod].get(sku, 0) + qty
        self.changed.add(pod)
        self._total[sku] += qty
        self.known_skus.add(sku)
        if self.on_hand[pod][sku] > 0:
            self._pods_with[sku].add(pod)

    def take_changed(self) -> dict[PodId, dict[Sku, int]]:
        """Stock of every pod changed since the last call (to store with the events)."""
        out = {p: {k: v for k, v in self.on_hand[p].items() if v > 0} for p in sorted(self.changed)}
        self.changed.clear()
        return out

    def restore_pod(self, pod: PodId, stock: Mapping[Sku, int]) -> None:
        """Replace a pod's stock with the stored one (at start, before anything is reserved)."""
        if pod not in self.on_hand or any(self.reserved[pod].values()):
            raise InventoryError(f"pod {pod}: cannot restore stock (unknown or reserved)")
        for sku, qty in self.on_hand[pod].items():
            self._total[sku] -= qty
            self._pods_with[sku].discard(pod)
        self.on_hand[pod] = {}
        for sku, qty in stock.items():
            if int(qty) > 0:
                self.on_hand[pod][sku] = int(qty)
                self._total[sku] += int(qty)
                self._pods_with[sku].add(pod)
                self.known_skus.add(sku)

    def _remove(self, pod: PodId, sku: Sku, qty: int) -> None:
        have = self.on_hand[pod].get(sku, 0)
        if qty < 0 or qty > have - self.reserved[pod].get(sku, 0):
            raise InventoryError(f"pod {pod}: cannot remove {qty} of {sku}, {have} on hand")
        self.on_hand[pod][sku] = have - qty
        self.changed.add(pod)
        self._total[sku] -= qty
        if self.on_hand[pod][sku] == 0:
            self._pods_with[sku].discard(pod)
