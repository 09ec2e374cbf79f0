"""Malformed requests are 422s naming the field; valid ones are taken; the schema says which."""

from __future__ import annotations

from typing import Any

import pytest
from test_api_helpers import LiveServer

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("bounds"), speed=20.0)
    yield server
    server.close()


def _integers(node: Any, where: str = "") -> list[tuple[str, dict]]:
    """Every integer schema in the document, with where it is."""
    found: list[tuple[str, dict]] = []
    if isinstance(node, dict):
        if node.get("type") == "integer":
            found.append((where, node))
        for key, value in node.items():
            found += _integers(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _integers(value, f"{where}/{i}")
    return found


def test_every_request_integer_is_bounded_in_the_document(live):
    doc = live.client("wms").get("/openapi.json").json()
    requests = {"paths": doc["paths"], "schemas": {
        k: v for k, v in doc["components"]["schemas"].items() if k.endswith(("In", "Payload", "Task"))
    }}
    found = [(w, s) for w, s in _integers(requests) if "/responses/" not in w]
    assert len(found) >= 8
    for where, schema in found:
        assert INT64_MIN <= schema.get("minimum", INT64_MIN - 1) <= INT64_MAX, where
        assert INT64_MIN <= schema.get("maximum", INT64_MAX + 1) <= INT64_MAX, where


@pytest.mark.parametrize(
    "path,params,field",
    [
        ("/api/v1/orders", {"min_priority": "-36893488147419103233"}, "min_priority"),
        ("/api/v1/orders", {"after": str(2**63)}, "after"),
        ("/api/v1/tasks", {"after": "1372237283105966171833237504", "kind": "ÄÖ€"}, "after"),
        ("/api/v1/tasks", {"kind": "x" * 65}, "kind"),
    ],
)
def test_huge_query_integers_are_422_naming_the_field(live, path, params, field):
    r = live.client("viewer").get(path, params=params)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field


def test_integral_numbers_are_integers(live):
    wms = live.client("wms")
    order = {"id": "B-1", "lines": [{"sku": "SKU-0001", "quantity": 1.0}], "priority": 3.0}
    assert wms.post("/api/v1/orders", json=order).status_code == 201
    r = wms.put("/api/v1/orders/B-1/priority", json={"priority": -444.0})
    assert r.status_code == 200, r.text
    assert r.json()["priority"] == -444
    for bad, code in ((-444.5, "wrong_type"), (True, "wrong_type"), ("7", "wrong_type"),
                      (1001, "invalid_value"), (2**70, "invalid_value")):
        r = wms.put("/api/v1/orders/B-1/priority", json={"priority": bad})
        assert r.status_code == 422, r.text
        assert (r.json()["error"]["code"], r.json()["error"]["field"]) == (code, "priority")


@pytest.mark.parametrize(
    "body,code,field",
    [
        ('{"lines": [{"sku": "SKU-0001", "quantity": 1}], "due_s": NaN}', "invalid_value", "due_s"),
        ('{"lines": [{"sku": "SKU-0001", "quantity": 1}], "due_s": 1e400}', "invalid_value",
         "due_s"),
        ('{"lines": [{"sku": "SKU-\\ud800", "quantity": 1}]}', "invalid_value", "lines[0].sku"),
    ],
)
def test_non_numbers_and_broken_text_are_422(live, body, code, field):
    r = live.client("wms").post(
        "/api/v1/orders", content=body, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 422, r.text
    assert (r.json()["error"]["code"], r.json()["error"]["field"]) == (code, field)


@pytest.mark.parametrize(
    "body,code,field",
    [
        ({"kind": "sort", "payload": {}}, "missing_field", "payload.sorter_id"),
        ({"kind": "sort", "payload": {"sorter_id": "SRT1", "belt": 1}}, "unknown_field",
         "payload.belt"),
        ({"kind": "pod_fetch", "payload": {"pod_id": "POD-0001", "station_id": "ST1",
                                           "hold_s": -1}}, "invalid_value", "payload.hold_s"),
        ({"kind": "asrs_store", "payload": {"aisle_id": "AS1", "sku": "SKU-0001",
                                            "quantity": 2**64}}, "invalid_value",
         "payload.quantity"),
        ({"kind": "teleport", "payload": {}}, "invalid_value", "kind"),
        ({"payload": {}}, "missing_field", "kind"),
        ('{"kind": "sort", "payload": {"sorter_id": "SRT1"}, "order_id": "\\ud800"}',
         "invalid_value", "order_id"),
        ('{"kind": "sort", "payload": {"sorter_id": "\\udfff"}}', "invalid_value",
         "payload.sorter_id"),
    ],
)
def test_task_payloads_are_checked_per_kind(live, body, code, field):
    if isinstance(body, str):  # JSON text a client library would not produce
        r = live.client("wms").post(
            "/api/v1/tasks", content=body, headers={"Content-Type": "application/json"}
        )
    else:
        r = live.client("wms").post("/api/v1/tasks", json=body)
    assert r.status_code == 422, r.text
    assert (r.json()["error"]["code"], r.json()["error"]["field"]) == (code, field)


def test_task_schema_is_a_union_discriminated_by_kind(live):
    doc = live.client("wms").get("/openapi.json").json()
    body = doc["paths"]["/api/v1/tasks"]["post"]["requestBody"]["content"]["application/json"]
    schema = body["schema"]
    assert schema["discriminator"]["propertyName"] == "kind"
    assert set(schema["discriminator"]["mapping"]) == {
        "pod_fetch", "asrs_store", "asrs_retrieve", "conveyor_transfer", "sort"
    }
    sort = doc["components"]["schemas"]["SortPayload"]
    assert sort["required"] == ["sorter_id"] and sort["additionalProperties"] is False


def test_idempotency_key_rule_is_in_the_schema_and_kept(live):
    doc = live.client("wms").get("/openapi.json").json()
    params = doc["paths"]["/api/v1/orders"]["post"]["parameters"]
    key = next(p for p in params if p["name"] == "Idempotency-Key")
    schema = next(s for s in key["schema"]["anyOf"] if s.get("type") == "string")
    assert schema["maxLength"] == 255 and schema["pattern"]
    wms = live.client("wms")
    order = {"lines": [{"sku": "SKU-0001", "quantity": 1}]}
    ok = wms.post("/api/v1/orders", json=order, headers={"Idempotency-Key": "erp order 7"})
    assert ok.status_code == 201, ok.text
    for bad in ("k" * 256, b"tab\there", "caf\xe9".encode("latin-1")):
        r = wms.post("/api/v1/orders", json=order, headers={"Idempotency-Key": bad})
        assert r.status_code == 400, (bad, r.text)
        assert r.json()["error"] == {
            "code": "invalid_idempotency_key", "field": "Idempotency-Key",
            "reason": r.json()["error"]["reason"],
        }


@pytest.mark.parametrize(
    "method,path,allow",
    [
        ("OPTIONS", "/api/v1/orders", "GET, POST"),
        ("DELETE", "/api/v1/tasks", "GET, POST"),
        ("OPTIONS", "/api/v1/orders/X/priority", "PUT"),
        ("HEAD", "/api/v1/lanes/L01", "PATCH"),
    ],
)
def test_405_allow_names_every_documented_method(live, method, path, allow):
    doc = live.client("wms").get("/openapi.json").json()
    r = live.client("wms").request(method, path)
    assert r.status_code == 405
    assert r.headers["allow"] == allow
    template = path.replace("/X/", "/{order_id}/").replace("/L01", "/{lane_id}")
    assert sorted(m.upper() for m in doc["paths"][template]) == allow.split(", ")


@pytest.mark.parametrize("after", [2**63, -1, 1.5, True, "7"])
def test_event_stream_refuses_an_after_that_is_no_64_bit_sequence_number(live, after):
    import json

    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    url = live.base.replace("http://", "ws://") + "/api/v1/events"
    with connect(url, open_timeout=10) as ws:
        ws.send(json.dumps({"token": live.tokens["viewer"], "after": after}))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400
