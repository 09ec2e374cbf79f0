"""Order-to-station policies: which pick station gets which waiting order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from fleet_manager.domain import Order, OrderId, StationId
from fleet_manager.g2p.views import G2PContext, StationView

Assignment = list[tuple[OrderId, StationId]]


class OrderStationPolicy(Protocol):
    """Assign waiting orders (oldest first in `orders`) to stations with free order slots."""

    name: str

    def assign(
        self, orders: list[Order], stations: list[StationView], ctx: G2PContext
    ) -> Assignment: ...


def _open_stations(stations: list[StationView]) -> list[StationView]:
    # Queue control: a station whose inbound robots reached its limit takes no new orders,
    # so new work is re-routed to the others.
    return [s for s in stations if s.free_slots > 0 and s.inbound < s.max_inbound]


def _take(station: StationView, order: Order) -> None:
    station.open_orders += 1
    station.skus.update(line.sku for line in order.lines)


def _assign_each(
    orders: list[Order],
    stations: list[StationView],
    pick: Callable[[list[Order], list[StationView]], tuple[Order, StationView]],
) -> Assignment:
    """Until no order is pending or no station is open: `pick` removes one order from the
    pending list and names the open station it goes to."""
    out: Assignment = []
    pending = list(orders)
    while pending:
        open_ = _open_stations(stations)
        if not open_:
            break
        order, station = pick(pending, open_)
        _take(station, order)
        out.append((order.id, station.id))
    return out


def _least_loaded(stations: list[StationView]) -> StationView:
    return min(stations, key=lambda s: (s.open_orders + s.inbound, s.id))


class FirstCome:
    """Oldest order first, to the least loaded open station."""

    name = "fcfs"

    def assign(
        self, orders: list[Order], stations: list[StationView], ctx: G2PContext
    ) -> Assignment:
        out: Assignment = []
        for order in orders:
            open_ = _open_stations(stations)
            if not open_:
                break
            best = _least_loaded(open_)
            _take(best, order)
            out.append((order.id, best.id))
        return out


class PodOverlap:
    """Fewest new pods: pair orders with stations that already want the same SKUs.

    Looks at the `lookahead` oldest orders and repeatedly takes the (order, station) pair with
    the fewest SKUs the station does not already have coming; ties go to the older order.
    """

    name = "pod_overlap"

    def __init__(self, lookahead: int = 24):
        self.lookahead = lookahead

    def assign(
        self, orders: list[Order], stations: list[StationView], ctx: G2PContext
    ) -> Assignment:
        return _assign_each(orders, stations, self._pick)

    def _pick(self, pending: list[Order], open_: list[StationView]) -> tuple[Order, StationView]:
        best: tuple[int, int, int, str] | None = None
        for rank, order in enumerate(pending[: self.lookahead]):
            skus = {line.sku for line in order.lines}
            for s in open_:
                key = (len(skus - s.skus), rank, s.open_orders + s.inbound, s.id)
                if best is None or key < best:
                    best = key
        assert best is not None
        _, rank, _, station_id = best
        order = pending.pop(rank)
        return order, next(s for s in open_ if s.id == station_id)


class DueTime:
    """Earliest due time first (orders without one last, by age), least loaded station."""

    name = "due_time"

    def assign(
        self, orders: list[Order], stations: list[StationView], ctx: G2PContext
    ) -> Assignment:
        ranked = sorted(
            orders, key=lambda o: (o.due_s is None, o.due_s or 0.0, -o.priority, o.created_s)
        )
        return FirstCome().assign(ranked, stations, ctx)


class RandomStation:
    """Baseline: random waiting order to a random open station."""

    name = "random"

    def assign(
        self, orders: list[Order], stations: list[StationView], ctx: G2PContext
    ) -> Assignment:
        def pick(pending: list[Order], open_: list[StationView]) -> tuple[Order, StationView]:
            order = pending.pop(int(ctx.rng.integers(len(pending))))  # order first, then station
            return order, open_[int(ctx.rng.integers(len(open_)))]

        return _assign_each(orders, stations, pick)


ORDER_STATION_POLICIES: dict[str, type] = {
    p.name: p for p in (FirstCome, PodOverlap, DueTime, RandomStation)
}
