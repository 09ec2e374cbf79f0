"""Orders (issue 19, item 3): the station an order names is honoured; duplicate SKU lines are
refused, never merged."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleet_manager.domain import Order, OrderLine, OrderState
from fleet_manager.events import EventBus
from fleet_manager.inventory import IntakeError
from fleet_manager.site.loader import load_site
from fleet_manager.site.model import Site
from sim.world import Simulation

MAPS = Path(__file__).resolve().parents[1] / "maps"


@pytest.fixture(scope="module")
def demo() -> Site:
    return load_site(MAPS / "demo.yaml")


def _sim(site: Site) -> Simulation:
    return Simulation(site, seed=1, bus=EventBus(), config={"orders_per_h": 0})


def _sku(sim: Simulation, n: int) -> list[str]:
    inv = sim.inventory
    return sorted(s for s in inv.known_skus if inv.total_on_hand(s) >= 5)[:n]


def test_the_named_station_is_honoured(demo: Site) -> None:
    sim = _sim(demo)
    skus = _sku(sim, 8)
    # Eight orders all naming the last station: the planner would spread them otherwise.
    for i, sku in enumerate(skus):
        order = Order(f"O{i}", [OrderLine(sku, 1)], 0.0)
        order.station_id = "ST4"
        sim.submit_order(order)
    free = Order("FREE", [OrderLine(skus[0], 1)], 0.0)
    sim.submit_order(free)
    while any(sim.orders[f"O{i}"].state != OrderState.DONE for i in range(8)):
        sim.step()
        assert sim.now_s < 3600, "the pinned orders did not finish"
    assert {sim.orders[f"O{i}"].station_id for i in range(8)} == {"ST4"}
    assert sim.orders["FREE"].station_id is not None


def test_duplicate_lines_and_unknown_stations_are_refused(demo: Site) -> None:
    sim = _sim(demo)
    a, b = _sku(sim, 2)
    with pytest.raises(IntakeError, match="already on line 0") as err:
        sim.submit_order(Order("D", [OrderLine(a, 1), OrderLine(b, 1), OrderLine(a, 2)], 0.0))
    assert err.value.field == "lines[2].sku"
    bad = Order("S", [OrderLine(a, 1)], 0.0)
    bad.station_id = "ST9"
    with pytest.raises(IntakeError, match="unknown pick station"):
        sim.submit_order(bad)
    assert "D" not in sim.orders and "S" not in sim.orders  # nothing half-applied
    assert sim.inventory.demand.get(a, 0) == 0
