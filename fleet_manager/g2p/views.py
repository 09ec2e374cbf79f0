"""Read-only views the goods-to-person policies decide on (built by the dispatcher each tick)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from fleet_manager.domain import NodeId, PodId, Sku, StationId


@dataclass
class StationView:
    """A pick station's load: orders it holds, SKUs already coming, robots queued or inbound."""

    id: StationId
    node: NodeId
    order_slots: int  # how many orders it may hold at once
    open_orders: int = 0
    skus: set[Sku] = field(default_factory=set)  # SKUs of its open orders and inbound pods
    inbound: int = 0  # robots with pods heading to or waiting at the station
    max_inbound: int = 8

    @property
    def free_slots(self) -> int:
        return max(0, self.order_slots - self.open_orders)


@dataclass
class PodView:
    """A pod free to be fetched: where it stands and what it can give (available units)."""

    id: PodId
    node: NodeId
    available: dict[Sku, int]


@dataclass
class G2PContext:
    """Shared helpers: distances on the floor graph and the seeded random generator."""

    dist_to: Callable[[NodeId], np.ndarray]  # hop count from every node to the given node
    rng: np.random.Generator
    now_s: float = 0.0
