"""Idempotent retries win over pre-checks: a retried create whose original succeeded replays its
201 even when the stock check or the AS/RS check would now refuse a fresh identical request."""

from __future__ import annotations

import pytest
from test_api_helpers import LiveServer, wait_for


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("idem"), speed=200.0, seed=3)
    yield server
    server.close()


def _small_stock_sku(live: LiveServer) -> tuple[str, int]:
    """A SKU with a few free units that no other test here orders (first by name)."""
    skus = sorted(live.runtime.site.skus)
    for sku in skus:
        free = live.runtime.free_units(sku)
        if free is not None and 2 <= free <= 20:
            return sku, free
    raise AssertionError("the demo site has no SKU with 2..20 free units")


def _free(live: LiveServer, sku: str) -> int:
    free = live.runtime.free_units(sku)
    assert free is not None
    return free


def test_retried_order_replays_although_its_stock_is_now_promised(live):
    wms = live.client("wms")
    sku, free0 = _small_stock_sku(live)
    body = {"lines": [{"sku": sku, "quantity": 1}], "priority": 2}
    key = {"Idempotency-Key": "order-retry-1"}
    first = wms.post("/api/v1/orders", json=body, headers=key)
    assert first.status_code == 201, first.text
    wait_for(lambda: _free(live, sku) <= free0 - 1, what="the first order's demand")
    # Promise the rest of the stock to another order, so the same body is now refused.
    rest = _free(live, sku)
    drain = wms.post("/api/v1/orders", json={"lines": [{"sku": sku, "quantity": rest}]})
    assert drain.status_code == 201, drain.text
    wait_for(lambda: _free(live, sku) <= 0, what="the stock to be fully promised")
    fresh = wms.post("/api/v1/orders", json=body)
    assert fresh.status_code == 422 and fresh.json()["error"]["code"] == "insufficient_stock"
    before = live.store.last_seq()
    again = wms.post("/api/v1/orders", json=body, headers=key)
    assert again.status_code == 201, again.text
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == f"/api/v1/orders/{first.json()['id']}"
    listed = wms.get("/api/v1/orders", params={"sku": sku, "limit": 500}).json()["items"]
    assert [o["id"] for o in listed] == [first.json()["id"], drain.json()["id"]]
    assert not [e for e in live.store.events_after(before, 10_000) if e.kind == "received"]
    # Another body under the same key is still refused, before any stock check.
    other = wms.post("/api/v1/orders", json={**body, "priority": 3}, headers=key)
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"


def test_retried_asrs_store_replays_after_the_tote_was_stored(live):
    wms = live.client("wms")
    payload = {"aisle_id": "AS1", "sku": "SKU-0002", "quantity": 3, "tote_id": "IDEM-TOTE-1"}
    body = {"kind": "asrs_store", "payload": payload}
    key = {"Idempotency-Key": "store-retry-1"}
    first = wms.post("/api/v1/tasks", json=body, headers=key)
    assert first.status_code == 201, first.text
    task_id = first.json()["id"]
    wait_for(
        lambda: wms.get(f"/api/v1/tasks/{task_id}").json()["state"] == "done",
        what="the store task to finish",
    )
    fresh = wms.post("/api/v1/tasks", json=body)  # the tote now stands in the rack
    assert fresh.status_code == 409 and fresh.json()["error"]["code"] == "tote_busy"
    before = live.store.last_seq()
    again = wms.post("/api/v1/tasks", json=body, headers=key)
    assert again.status_code == 201, again.text
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    stores = wms.get("/api/v1/tasks", params={"kind": "asrs_store", "limit": 500}).json()
    mine = [t["id"] for t in stores["items"] if t["payload"].get("tote_id") == "IDEM-TOTE-1"]
    assert mine == [task_id]
    assert not [e for e in live.store.events_after(before, 10_000) if e.kind == "received"]
    other = wms.post(
        "/api/v1/tasks", json={**body, "payload": {**payload, "quantity": 4}}, headers=key
    )
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
