"""Simulation settings: policy names, order and return rates, pick errors, warm-up."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from fleet_manager.allocation import POLICIES
from fleet_manager.dispatch import DispatchConfig
from fleet_manager.g2p import G2PConfig


@dataclass(frozen=True)
class SimConfig:
    """Everything a simulation run may vary besides the map, the seed and the robot count.

    `orders_per_h=None` picks 1.3 x the stations' capacity (in orders), so stations never starve
    for lack of orders. `warmup_s` starts the KPI window late so ramp-up is not measured.
    """

    g2p: G2PConfig = field(default_factory=G2PConfig)
    assignment: str = "batch"
    orders_per_h: float | None = None
    mean_lines: float = 1.6
    max_qty: int = 2
    due_after_s: float = 3600.0
    returns_per_h: float = 0.0
    short_pick_rate: float = 0.0
    wrong_sku_rate: float = 0.0
    initial_soc: tuple[float, float] = (0.5, 1.0)
    warmup_s: float = 0.0
    restock_s_per_unit: float = 2.0

    def __post_init__(self) -> None:
        if self.assignment not in POLICIES:
            raise ValueError(
                f"assignment: unknown policy {self.assignment!r}; choose one of {', '.join(POLICIES)}"
            )
        for name in ("short_pick_rate", "wrong_sku_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name}: must be within 0..1, got {value}")
        if self.orders_per_h is not None and self.orders_per_h < 0:
            raise ValueError(f"orders_per_h: must be >= 0, got {self.orders_per_h}")
        lo, hi = self.initial_soc
        if not 0.0 < lo <= hi <= 1.0:
            raise ValueError(f"initial_soc: expected 0 < low <= high <= 1, got {self.initial_soc}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SimConfig:
        known = {f.name for f in fields(cls)}
        policy_names = {
            "order_station",
            "pod_selection",
            "pod_return",
            "max_inbound_per_station",
            "order_slots_per_station",
            "reorder_point_units",
        }
        g2p = dict(data.get("g2p", {}))
        rest: dict[str, Any] = {}
        for key, value in data.items():
            if key == "g2p":
                continue
            if key in policy_names:  # flat policy names are accepted too
                g2p[key] = value
            elif key in known:
                rest[key] = tuple(value) if key == "initial_soc" else value
            else:
                raise ValueError(
                    f"{key}: unknown simulation setting; known: {', '.join(sorted(known | policy_names))}"
                )
        return cls(g2p=G2PConfig.from_dict(g2p), **rest)

    def dispatch(self) -> DispatchConfig:
        return DispatchConfig(self.g2p, self.assignment, self.restock_s_per_unit)
