"""Seeded order stream: Poisson arrivals, skewed SKU popularity, small multi-line orders."""

from __future__ import annotations

import numpy as np

from fleet_manager.domain import Order, OrderLine
from fleet_manager.site.model import Site

CLASS_WEIGHT = {"A": 8.0, "B": 3.0, "C": 1.0}
DUE_FACTORS = (0.5, 1.0, 2.0)  # express, standard, deferred
DUE_SHARES = (0.25, 0.5, 0.25)


class OrderStream:
    """Orders at `orders_per_h` on average; SKUs drawn by Zipf-like popularity (class-weighted).

    Due times: a quarter of the orders are express (due `due_after_s` / 2 after arrival), half
    standard (`due_after_s`), a quarter deferred (2 x); `express_priority` goes to express
    orders. Deterministic per seed.
    """

    def __init__(
        self,
        site: Site,
        seed: int,
        orders_per_h: float,
        *,
        mean_lines: float = 1.6,
        max_qty: int = 2,
        due_after_s: float = 3600.0,
        prefix: str = "O",
        express_priority: int = 0,
    ) -> None:
        if orders_per_h < 0:
            raise ValueError(f"orders_per_h must be >= 0, got {orders_per_h}")
        self.rng = np.random.default_rng(seed)
        self.rate_per_s = orders_per_h / 3600.0
        self.mean_lines = mean_lines
        self.max_qty = max_qty
        self.due_after_s = due_after_s
        self.prefix = prefix
        self.express_priority = express_priority
        stocked = {s for p in site.pods.values() for s, q in p.inventory.items() if q > 0}
        self.skus = sorted(stocked)
        rank = np.arange(1, len(self.skus) + 1, dtype=np.float64)
        w = 1.0 / rank**0.8
        w *= np.array(
            [
                CLASS_WEIGHT.get(site.skus[s].turnover_class if s in site.skus else "", 1.0)
                for s in self.skus
            ]
        )
        self.p = w / w.sum() if len(self.skus) else w
        self.count = 0
        self.next_s = self._gap()

    def _gap(self) -> float:
        return (
            float(self.rng.exponential(1.0 / self.rate_per_s))
            if self.rate_per_s > 0
            else float("inf")
        )

    def make_order(self, now_s: float) -> Order:
        self.count += 1
        n = min(len(self.skus), int(self.rng.geometric(1.0 / self.mean_lines)))
        picks = self.rng.choice(len(self.skus), size=max(1, n), replace=False, p=self.p)
        lines = [
            OrderLine(self.skus[int(i)], int(self.rng.integers(1, self.max_qty + 1)))
            for i in sorted(picks)
        ]
        factor = float(self.rng.choice(DUE_FACTORS, p=DUE_SHARES))
        priority = self.express_priority if factor < 1.0 else 0
        return Order(
            f"{self.prefix}-{self.count:07d}",
            lines,
            now_s,
            priority=priority,
            due_s=now_s + factor * self.due_after_s,
        )

    def due(self, now_s: float) -> list[Order]:
        """Orders that arrived up to `now_s` (in arrival order)."""
        out = []
        while self.next_s <= now_s and self.skus:
            out.append(self.make_order(self.next_s))
            self.next_s += self._gap()
        return out
