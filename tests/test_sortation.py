"""Lane decisions: order lanes, overflow on full/disabled, reject on NOREAD/unknown, lane errors."""

from __future__ import annotations

import pytest

from fleet_manager.site.model import SorterLane
from fleet_manager.sortation import NOREAD, LaneAssigner, LaneError, SortPlan, demo_orders

LANES = (
    SorterLane("A", 5.0, 2, "order"),
    SorterLane("B", 6.0, 2, "order"),
    SorterLane("OVF", 7.0, 10, "overflow"),
    SorterLane("REJ", 8.0, 10, "reject"),
)


def make() -> LaneAssigner:
    plan = SortPlan.from_orders({"o1": ["a1", "a2", "a3"], "o2": ["b1"], "o3": ["c1"]})
    return LaneAssigner(LANES, plan)


def test_orders_get_sticky_lanes_and_spread() -> None:
    a = make()
    first = a.decide("a1")
    assert (first.lane, first.reason, first.order_id) == ("A", "order", "o1")
    assert a.decide("b1").lane == "B"  # fewest open orders
    assert a.decide("a2").lane == "A"  # sticky


def test_full_lane_goes_to_overflow_counting_items_in_flight() -> None:
    a = make()
    assert [a.decide(b).lane for b in ("a1", "a2")] == ["A", "A"]
    third = a.decide("a3")  # two in flight fill capacity 2
    assert (third.lane, third.reason) == ("OVF", "overflow_full")
    a.confirmed("A", None, "o1")  # one of them recirculated: room again
    assert a.decide("a3").lane == "A"


def test_fill_from_plc_and_emptying() -> None:
    a = make()
    a.decide("a1")
    a.set_fill("A", 2)
    assert a.is_full("A") and a.decide("a2").reason == "overflow_full"
    a.lane_emptied("A")
    a.confirmed("A", "A", "o1")
    assert a.decide("a3").lane == "A"


def test_disabled_lane_goes_to_overflow_and_disabled_overflow_to_reject() -> None:
    a = make()
    a.decide("a1")
    a.set_enabled("A", False)
    assert a.decide("a2").reason == "overflow_disabled"
    a.set_enabled("OVF", False)
    assert a.decide("a3").lane == "REJ"
    a.set_enabled("A", True)
    assert a.decide("a3").lane == "A"


def test_noread_and_unknown_barcode_go_to_reject() -> None:
    a = make()
    assert (a.decide(NOREAD).lane, a.decide(NOREAD).reason) == ("REJ", "reject_noread")
    assert a.decide("").reason == "reject_noread"
    unknown = a.decide("zz9")
    assert (unknown.lane, unknown.reason, unknown.order_id) == ("REJ", "reject_unknown", None)


def test_no_free_order_lane_goes_to_overflow() -> None:
    a = make()
    a.set_enabled("A", False)
    a.set_enabled("B", False)
    assert a.decide("c1").reason == "overflow_no_lane"


def test_unknown_lane_is_named() -> None:
    a = make()
    with pytest.raises(LaneError, match="unknown lane 'L99'"):
        a.set_enabled("L99", False)
    with pytest.raises(LaneError, match="unknown lane 'Q'"):
        a.set_fill("Q", 1)
    with pytest.raises(LaneError, match="no lane with role 'reject'"):
        LaneAssigner(LANES[:3])


def test_plan_refuses_bad_barcodes() -> None:
    plan = SortPlan()
    plan.add("x1", "o1")
    with pytest.raises(ValueError, match="already belongs to order 'o1'"):
        plan.add("x1", "o2")
    with pytest.raises(ValueError, match="cannot be planned"):
        plan.add(NOREAD, "o1")


def test_demo_orders_are_seeded_and_fit_the_scanner_words() -> None:
    assert demo_orders(20, 3) == demo_orders(20, 3)
    assert demo_orders(20, 3) != demo_orders(20, 4)
    assert all(len(b) <= 12 for codes in demo_orders(50, 1).values() for b in codes)
