"""Goods-to-person decisions: order-to-station, pod selection, pod return, queues, replenishment.

Every policy family has one interface and is chosen by name in a `G2PConfig`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from fleet_manager.g2p.order_station import ORDER_STATION_POLICIES, OrderStationPolicy
from fleet_manager.g2p.pod_return import POD_RETURN_POLICIES, PodReturnPolicy
from fleet_manager.g2p.pod_select import POD_SELECTION_POLICIES, PodChoice, PodSelectionPolicy
from fleet_manager.g2p.views import G2PContext, PodView, StationView


@dataclass(frozen=True)
class G2PConfig:
    """Policy names and queue limits; defaults are the best set measured on the demo site."""

    order_station: str = "pod_overlap"
    pod_selection: str = "most_lines"
    pod_return: str = "nearest_free"
    max_inbound_per_station: int = 8  # robots with pods heading to or queued at one station
    order_slots_per_station: int = 48  # orders open at once per station (put wall): pile-on
    reorder_point_units: int = 0  # refill a pod SKU once it is down to this (-1: never)

    def __post_init__(self) -> None:
        for name, table in (
            ("order_station", ORDER_STATION_POLICIES),
            ("pod_selection", POD_SELECTION_POLICIES),
            ("pod_return", POD_RETURN_POLICIES),
        ):
            value = getattr(self, name)
            if value not in table:
                raise ValueError(
                    f"{name}: unknown policy {value!r}; choose one of {', '.join(table)}"
                )
        for name in ("max_inbound_per_station", "order_slots_per_station"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be at least 1, got {getattr(self, name)}")

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> G2PConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"{unknown[0]}: unknown g2p setting; known: {', '.join(sorted(known))}"
            )
        return cls(**data)  # type: ignore[arg-type]

    def policies(self) -> tuple[OrderStationPolicy, PodSelectionPolicy, PodReturnPolicy]:
        return (
            ORDER_STATION_POLICIES[self.order_station](),
            POD_SELECTION_POLICIES[self.pod_selection](),
            POD_RETURN_POLICIES[self.pod_return](),
        )


__all__ = [
    "ORDER_STATION_POLICIES",
    "POD_RETURN_POLICIES",
    "POD_SELECTION_POLICIES",
    "G2PConfig",
    "G2PContext",
    "OrderStationPolicy",
    "PodChoice",
    "PodReturnPolicy",
    "PodSelectionPolicy",
    "PodView",
    "StationView",
]
