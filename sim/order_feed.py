"""Order feed for the demo floor: a steady stream of generated orders, entered like a WMS's.

Generated orders go through the same path as API orders (committed to the store first, then
queued for the simulation), so they survive a restart and show in the API and event stream.
"""

from __future__ import annotations

import time
from typing import Any

from fleet_manager.store import OrderLineRecord, OrderRecord
from sim.orders import OrderStream


class OrderFeed:
    """Poisson arrivals at `orders_per_h` (simulated time) from sim.orders.OrderStream (seeded,
    skewed SKU popularity). The stream's own ids restart with every run, so the store assigns
    ids instead and the orders are marked source="generator"."""

    def __init__(self, orders_per_h: float, seed: int = 0):
        self.orders_per_h = orders_per_h
        self.seed = seed
        self.generated = 0
        self._runtime: Any = None
        self._stream: Any = None

    def start(self, runtime: Any) -> None:
        self._runtime = runtime
        self._stream = OrderStream(runtime.site, self.seed, self.orders_per_h)
        # Arrivals are counted from now, not from sim time 0 of a previous run.
        self._stream.next_s += runtime.now_s
        runtime.add_tick_hook(self.tick)

    def stop(self) -> None:
        self._runtime = None  # Runtime.stop() then waits until every queued order is committed

    def tick(self, now_s: float) -> None:
        """Called on the control thread after each tick; enters every order due by `now_s`."""
        runtime = self._runtime  # stop() may clear it from another thread meanwhile
        if runtime is None or self._stream is None:
            return
        for order in self._stream.due(now_s):
            record = OrderRecord(
                id="",
                state="open",
                priority=order.priority,
                lines=tuple(OrderLineRecord(x.sku, x.quantity) for x in order.lines),
                created_s=order.created_s,
                created_at=time.time(),
                due_s=order.due_s,
                source="generator",
            )
            self.generated += 1
            runtime.submit_order(record, None)  # durable first; Runtime.stop() awaits it
