"""Inventory: reservations, scan-confirmed picks, mismatches and all-or-nothing order intake."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleet_manager.domain import Order, OrderLine
from fleet_manager.inventory import IntakeError, Inventory, InventoryError, ScanEvent


def _inv() -> Inventory:
    return Inventory({"P1": {"A": 5, "B": 2}, "P2": {"A": 3}}, known_skus=["A", "B", "C"])


def test_reserve_release_and_available() -> None:
    inv = _inv()
    inv.reserve("P1", "A", 4)
    assert inv.available("P1", "A") == 1 and inv.qty("P1", "A") == 5
    with pytest.raises(InventoryError, match="cannot reserve 2 of A"):
        inv.reserve("P1", "A", 2)
    inv.release("P1", "A", 4)
    assert inv.available("P1", "A") == 5
    with pytest.raises(InventoryError):
        inv.release("P1", "A", 1)


def test_good_pick_takes_units_and_releases_demand() -> None:
    inv = _inv()
    order = Order("O1", [OrderLine("A", 2)], 0.0)
    inv.check_order(order)
    inv.commit_demand(order)
    inv.reserve("P1", "A", 2)
    result = inv.confirm_pick("P1", "A", 2, ScanEvent("A", 2, "P1", "ST1"))
    assert result.picked == 2 and result.mismatch is None
    assert inv.qty("P1", "A") == 3 and inv.total_on_hand("A") == 6 and inv.demand["A"] == 0


def test_wrong_sku_takes_nothing() -> None:
    inv = _inv()
    inv.reserve("P1", "A", 2)
    result = inv.confirm_pick("P1", "A", 2, ScanEvent("B", 2, "P1", "ST1"))
    assert result == result.__class__(0, "wrong_sku")
    assert inv.qty("P1", "A") == 5 and inv.qty("P1", "B") == 2 and inv.available("P1", "A") == 5


def test_short_pick_takes_what_was_there_and_marks_the_rest_missing() -> None:
    inv = _inv()
    inv.reserve("P1", "A", 3)
    result = inv.confirm_pick("P1", "A", 3, ScanEvent("A", 1, "P1", "ST1"))
    assert result.picked == 1 and result.mismatch == "short_pick"
    assert inv.qty("P1", "A") == 0 and "P1" not in inv.pods_with("A")


def test_intake_rejects_unknown_sku_and_too_many_units_and_changes_nothing() -> None:
    inv = _inv()
    with pytest.raises(IntakeError) as err:
        inv.check_order(Order("O", [OrderLine("A", 1), OrderLine("ZZZ", 1)], 0.0))
    assert err.value.field == "lines[1].sku" and "unknown SKU 'ZZZ'" in err.value.reason
    with pytest.raises(IntakeError) as err:
        inv.check_order(Order("O", [OrderLine("A", 5), OrderLine("A", 4)], 0.0))  # 9 > 8 held
    assert err.value.field == "lines[1].quantity" and "site holds 8" in err.value.reason
    with pytest.raises(IntakeError, match=r"lines\[0\].quantity: must be a positive integer"):
        inv.check_order(Order("O", [OrderLine("B", 0)], 0.0))
    with pytest.raises(IntakeError, match="at least one line"):
        inv.check_order(Order("O", [], 0.0))
    assert dict(inv.demand) == {} and inv.total_on_hand("A") == 8
    ok = Order("O2", [OrderLine("A", 8)], 0.0)
    inv.check_order(ok)
    inv.commit_demand(ok)
    with pytest.raises(IntakeError, match="site holds 0 not yet promised"):
        inv.check_order(Order("O3", [OrderLine("A", 1)], 0.0))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["P1", "P2"]),
            st.sampled_from(["A", "B"]),
            st.integers(1, 4),
            st.integers(0, 5),
            st.booleans(),
        ),
        max_size=30,
    )
)
def test_quantities_never_go_negative(ops: list[tuple[str, str, int, int, bool]]) -> None:
    inv = _inv()
    for pod, sku, qty, scanned, wrong in ops:
        try:
            inv.reserve(pod, sku, qty)
        except InventoryError:
            continue
        scan = ScanEvent("C" if wrong else sku, scanned, pod, "ST1")
        inv.confirm_pick(pod, sku, qty, scan)
        for p in inv.on_hand:
            for s, q in inv.on_hand[p].items():
                assert 0 <= inv.reserved[p].get(s, 0) <= q
        assert all(v >= 0 for v in inv.demand.values())
        assert inv.total_on_hand("A") == sum(inv.qty(p, "A") for p in inv.on_hand)


def test_changed_pods_are_reported_once_and_stored_stock_restores() -> None:
    inv = Inventory({"P1": {"A": 5, "B": 1}, "P2": {"A": 2}})
    assert inv.take_changed() == {}
    inv.add_stock("P2", "C", 3)
    assert inv.take_changed() == {"P2": {"A": 2, "C": 3}}
    assert inv.take_changed() == {}
    inv.restore_pod("P1", {"A": 1, "D": 4})
    assert inv.total_on_hand("A") == 3 and inv.total_on_hand("B") == 0
    assert inv.pods_with("B") == set() and inv.pods_with("D") == {"P1"}
    inv.reserve("P2", "A", 1)
    with pytest.raises(InventoryError):
        inv.restore_pod("P2", {"A": 9})  # never under a reservation
