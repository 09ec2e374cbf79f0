"""fleet_manager.requests: one read-only validator of task requests for every entry point."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fleet_manager.asrs.inventory import AsrsInventory
from fleet_manager.asrs.inventory_store import InventoryStore
from fleet_manager.asrs.policies import ClosestOpenSlot
from fleet_manager.asrs.rack import Rack
from fleet_manager.domain import TaskKind
from fleet_manager.requests import RequestError, check_asrs_task, check_fleet_task
from fleet_manager.site import load_site

REPO = Path(__file__).resolve().parents[1]
TINY = load_site(REPO / "maps" / "tiny.yaml")
DEMO = load_site(REPO / "maps" / "demo.yaml")
ROBOTS = ("R01", "R02", "R03")


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        ("park", {}),
        ("park", {"robot": "R01", "spot": "PK1"}),
        ("charge", {"robot": "R02"}),
        ("pod_fetch", {"pod_id": "POD1", "station_id": "ST1", "hold_s": 5}),
        ("exception", {}),
    ],
)
def test_valid_fleet_tasks_pass(kind: str, payload: dict[str, Any]) -> None:
    assert check_fleet_task(TINY, ROBOTS, kind, payload) == TaskKind(kind)


@pytest.mark.parametrize(
    ("kind", "payload", "field", "code"),
    [
        ("teleport", {}, "kind", "unknown_kind"),
        ("asrs_store", {}, "kind", "wrong_kind"),
        ("park", {"robot": "R9"}, "payload.robot", "unknown_location"),
        ("park", {"robot": ""}, "payload.robot", "invalid_value"),
        ("park", {"robot": 1}, "payload.robot", "wrong_type"),
        ("park", {"spot": "PK9"}, "payload.spot", "unknown_location"),
        ("pod_fetch", {"station_id": "ST1"}, "payload.pod_id", "missing_field"),
        (
            "pod_fetch",
            {"pod_id": "POD1", "station_id": "ST9"},
            "payload.station_id",
            "unknown_location",
        ),
        (
            "pod_fetch",
            {"pod_id": "POD1", "station_id": "ST1", "hold_s": -1},
            "payload.hold_s",
            "invalid_value",
        ),
        (
            "pod_fetch",
            {"pod_id": "POD1", "station_id": "ST1", "hold_s": float("nan")},
            "payload.hold_s",
            "invalid_value",
        ),
    ],
)
def test_bad_fleet_tasks_name_field_and_code(
    kind: str, payload: dict[str, Any], field: str, code: str
) -> None:
    with pytest.raises(RequestError) as err:
        check_fleet_task(TINY, ROBOTS, kind, payload)
    assert (err.value.field, err.value.code, err.value.status) == (field, code, 422)
    assert str(err.value).startswith(f"{field}: ")


@pytest.fixture
def inventory(tmp_path: Path) -> AsrsInventory:
    rack = Rack(DEMO.asrs["AS1"])
    return AsrsInventory(rack, InventoryStore(tmp_path / "inv.db"), ClosestOpenSlot())


@pytest.mark.parametrize(
    ("kind", "payload", "field"),
    [
        ("asrs_store", {"aisle_id": "AS1", "sku": "SKU-NOPE"}, "payload.sku"),
        ("asrs_store", {"aisle_id": "AS1", "sku": "SKU-0001", "tote_id": ""}, "payload.tote_id"),
        ("asrs_store", {"aisle_id": "AS1", "sku": "SKU-0001", "tote_id": " T"}, "payload.tote_id"),
        ("asrs_store", {"aisle_id": "AS1", "sku": "SKU-0001", "quantity": 0}, "payload.quantity"),
        (
            "asrs_store",
            {"aisle_id": "AS1", "sku": "SKU-0001", "quantity": True},
            "payload.quantity",
        ),
        ("asrs_store", {"aisle_id": "AS1", "sku": "SKU-0001", "lot": 3}, "payload.lot"),
        (
            "asrs_store",
            {"aisle_id": "AS1", "sku": "SKU-0001", "station_id": "ST1"},
            "payload.station_id",
        ),
        ("asrs_store", {"sku": "SKU-0001"}, "payload.aisle_id"),
        ("asrs_store", {"aisle_id": "AS9", "sku": "SKU-0001"}, "payload.aisle_id"),
        (
            "asrs_retrieve",
            {"aisle_id": "AS1", "sku": "SKU-0001", "station_id": "ST99"},
            "payload.station_id",
        ),
        (
            "asrs_retrieve",
            {"aisle_id": "AS1", "sku": "SKU-0001", "slot_id": "x"},
            "payload.slot_id",
        ),
        ("asrs_retrieve", {"aisle_id": "AS1"}, "payload.sku"),
        ("park", {"aisle_id": "AS1", "sku": "SKU-0001"}, "kind"),
    ],
)
def test_bad_asrs_requests_are_refused_by_the_site(
    kind: str, payload: dict[str, Any], field: str
) -> None:
    with pytest.raises(RequestError) as err:
        check_asrs_task(DEMO, kind, payload)
    assert err.value.field == field, err.value


def test_asrs_inventory_checks_join_in_and_change_nothing(inventory: AsrsInventory) -> None:
    store = {"aisle_id": "AS1", "sku": "SKU-0001", "tote_id": "T-1", "quantity": 2}
    assert check_asrs_task(DEMO, "asrs_store", store, {"AS1": inventory}) == TaskKind.ASRS_STORE
    retrieve = {"aisle_id": "AS1", "sku": "SKU-0001", "station_id": "ST1"}
    with pytest.raises(RequestError) as err:
        check_asrs_task(DEMO, "asrs_retrieve", retrieve, {"AS1": inventory})
    assert (err.value.field, err.value.code, err.value.status) == ("payload.sku", "no_stock", 409)
    assert inventory.store.totes_of("SKU-0001") == []  # read-only: nothing received
    # Without the inventory only the site is asked: the same retrieve passes.
    assert check_asrs_task(DEMO, "asrs_retrieve", retrieve) == TaskKind.ASRS_RETRIEVE
