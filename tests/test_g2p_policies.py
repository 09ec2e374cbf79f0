"""G2P policies on small hand-made cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from fleet_manager.domain import Order, OrderLine
from fleet_manager.g2p import (
    ORDER_STATION_POLICIES,
    POD_RETURN_POLICIES,
    POD_SELECTION_POLICIES,
    G2PConfig,
    G2PContext,
    PodView,
    StationView,
)
from fleet_manager.g2p.pod_return import SlotTable, derive_zones
from fleet_manager.g2p.replenish import ReorderPoint, putaway_pod
from fleet_manager.inventory import Inventory

# A line of 20 nodes: the distance between nodes is |a - b|.
DIST = {g: np.abs(np.arange(20) - g) for g in range(20)}


def ctx(seed: int = 0) -> G2PContext:
    return G2PContext(lambda node: DIST[node], np.random.default_rng(seed))


def order(oid: str, *skus: str, created: float = 0.0, due: float | None = None) -> Order:
    return Order(oid, [OrderLine(s, 1) for s in skus], created, due_s=due)


def stations() -> list[StationView]:
    return [StationView("S1", 0, 2, skus={"A", "B"}), StationView("S2", 19, 2, skus={"C"})]


def test_fcfs_oldest_first_to_least_loaded() -> None:
    out = ORDER_STATION_POLICIES["fcfs"]().assign(
        [order("o1", "C"), order("o2", "A")], stations(), ctx()
    )
    assert out == [("o1", "S1"), ("o2", "S2")]


def test_pod_overlap_prefers_stations_wanting_the_same_skus() -> None:
    out = ORDER_STATION_POLICIES["pod_overlap"]().assign(
        [order("o1", "C"), order("o2", "A", "B")], stations(), ctx()
    )
    assert sorted(out) == [("o1", "S2"), ("o2", "S1")]


def test_due_time_serves_the_earliest_due_first_and_queue_control_reroutes() -> None:
    sts = [StationView("S1", 0, 1), StationView("S2", 19, 5, inbound=8, max_inbound=8)]
    out = ORDER_STATION_POLICIES["due_time"]().assign(
        [order("late", "A", due=500.0), order("soon", "A", due=100.0)], sts, ctx()
    )
    assert out == [("soon", "S1")]  # S1 has one slot; S2 is full of inbound robots


def test_random_station_is_seeded_and_respects_slots() -> None:
    orders = [order(f"o{i}", "A") for i in range(6)]
    a = ORDER_STATION_POLICIES["random"]().assign(orders, stations(), ctx(5))
    b = ORDER_STATION_POLICIES["random"]().assign(orders, stations(), ctx(5))
    assert a == b and len(a) == 4
    assert sum(1 for _, s in a if s == "S1") == 2


PODS = [
    PodView("near_a", 2, {"A": 5}),
    PodView("near_b", 3, {"B": 5}),
    PodView("far_ab", 15, {"A": 5, "B": 5}),
]


def test_nearest_pod_per_sku() -> None:
    st = StationView("S1", 0, 2)
    out = POD_SELECTION_POLICIES["nearest"]().select(st, {"A": 1, "B": 1}, PODS, 5, ctx())
    assert [(c.pod_id, c.take) for c in out] == [("near_a", {"A": 1}), ("near_b", {"B": 1})]


def test_most_lines_served_takes_the_pod_covering_both() -> None:
    st = StationView("S1", 0, 2)
    out = POD_SELECTION_POLICIES["most_lines"]().select(st, {"A": 1, "B": 1}, PODS, 5, ctx())
    assert [(c.pod_id, c.take) for c in out] == [("far_ab", {"A": 1, "B": 1})]


def test_pod_selection_respects_max_pods_and_stock() -> None:
    st = StationView("S1", 0, 2)
    for name, cls in POD_SELECTION_POLICIES.items():
        out = cls().select(st, {"A": 20, "B": 1}, PODS, 1, ctx())
        assert len(out) == 1, name
        pod = next(p for p in PODS if p.id == out[0].pod_id)
        assert all(q <= pod.available[s] for s, q in out[0].take.items()), name


def _slots() -> SlotTable:
    nodes = {"L1": 1, "L2": 5, "L3": 10, "L4": 18}
    to_station = {s: float(n) for s, n in nodes.items()}
    return SlotTable(nodes, derive_zones(to_station, {}), to_station)


def test_pod_return_policies() -> None:
    slots = _slots()
    assert slots.zones == {"L1": "A", "L2": "B", "L3": "C", "L4": "C"}
    free = ["L2", "L3", "L4"]
    visits = {"hot": 9, "cold": 0, "x": 3, "y": 2}
    orig = POD_RETURN_POLICIES["original"]()
    assert orig.choose("cold", "L4", 0, free, slots, visits, ctx()) == "L4"
    assert orig.choose("cold", "L1", 0, free, slots, visits, ctx()) == "L2"  # home taken: nearest
    assert (
        POD_RETURN_POLICIES["nearest_free"]().choose("cold", "L4", 0, free, slots, visits, ctx())
        == "L2"
    )
    zone = POD_RETURN_POLICIES["turnover_zone"]()
    assert zone.choose("cold", "L1", 0, free, slots, visits, ctx()) == "L3"  # C zone, nearest there
    assert zone.choose("hot", "L4", 0, ["L1", "L3"], slots, visits, ctx()) == "L1"


def test_map_zone_labels_win_when_complete() -> None:
    assert derive_zones({"a": 1.0, "b": 2.0}, {"a": "C", "b": "A"}) == {"a": "C", "b": "A"}


def test_reorder_point_and_putaway() -> None:
    inv = Inventory({"P1": {"A": 10, "B": 4}, "P2": {"A": 1}})
    rp = ReorderPoint(2, {"P1": {"A": 10, "B": 4}, "P2": {"A": 6}})
    assert rp.check(inv, "P1") is None
    restock = rp.check(inv, "P2")
    assert restock is not None and restock.add == {"A": 5}
    cap = {"P1": 20, "P2": 3}
    assert putaway_pod(inv, "A", 2, cap, busy=set()) == "P1"  # P2 has room 2 < P1's 6
    assert putaway_pod(inv, "B", 2, cap, busy={"P1"}) == "P2"  # no holder free: any pod with room
    assert putaway_pod(inv, "B", 5, cap, busy={"P1"}) is None


def test_config_names_policies_and_rejects_unknown() -> None:
    cfg = G2PConfig.from_dict({"order_station": "fcfs", "pod_selection": "random"})
    o, p, r = cfg.policies()
    assert (o.name, p.name, r.name) == ("fcfs", "random", cfg.pod_return)
    with pytest.raises(ValueError, match="pod_return: unknown policy 'nope'"):
        G2PConfig(pod_return="nope")
    with pytest.raises(ValueError, match="colour: unknown g2p setting"):
        G2PConfig.from_dict({"colour": "red"})
