"""Contract: the OpenAPI document validates, and every documented error status is produced."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from openapi_spec_validator import validate
from test_api_helpers import LiveServer

BIG = b'{"x": "' + b"a" * (1024 * 1024) + b'"}'
ORDER = {"lines": [{"sku": "SKU-0001", "quantity": 1}]}
SORT = {"kind": "sort", "payload": {"sorter_id": "SRT1", "lane_id": "L01"}}
Call = Callable[["LiveServer"], httpx.Response]


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("contract"), speed=50.0)
    wms = server.client("wms")
    assert wms.post("/api/v1/orders", json={"id": "C-1", **ORDER}).status_code == 201
    assert wms.post("/api/v1/orders", json={"id": "C-2", **ORDER}).status_code == 201
    assert wms.post("/api/v1/orders/C-2/cancel").status_code == 200
    assert wms.post("/api/v1/tasks", json={"id": "CT-1", **SORT}).status_code == 201
    assert wms.post("/api/v1/tasks", json={"id": "CT-2", **SORT}).status_code == 201
    assert wms.post("/api/v1/tasks/CT-2/cancel").status_code == 200
    tech = server.client("technician")
    command = {"command": "out_of_service"}
    assert tech.post("/api/v1/robots/AMR-30/commands", json=command).status_code == 200
    yield server
    server.close()


def _raw(live: LiveServer, role: str | None, method: str, path: str, **kw) -> httpx.Response:
    return live.client(role).request(method, path, **kw)


def _json(body: bytes) -> dict:
    return {"content": body, "headers": {"Content-Type": "application/json"}}


def anon(method: str, path: str) -> Call:
    return lambda live: _raw(live, None, method, path, json={})


def as_(role: str, method: str, path: str, **kw) -> Call:
    return lambda live: _raw(live, role, method, path, **kw)


def _armed_twice(live: LiveServer) -> httpx.Response:
    """Arm AS1's crane, then again (409); take the plan back so no later move faults."""
    tech = live.client("technician")
    assert tech.post("/api/v1/sim/asrs/AS1/fault", json={}).status_code == 200
    second = tech.post("/api/v1/sim/asrs/AS1/fault", json={"phase": "to_source"})
    live.runtime.call(lambda _sim: live.runtime.asrs.aisles["AS1"].driver.crane.faults.clear()).result()
    return second


# (method, path template) -> {status: request that must produce it}
CASES: dict[tuple[str, str], dict[int, Call]] = {
    ("post", "/api/v1/orders"): {
        400: as_("wms", "POST", "/api/v1/orders", **_json(b"{")),
        401: anon("POST", "/api/v1/orders"),
        403: as_("viewer", "POST", "/api/v1/orders", json=ORDER),
        409: as_("wms", "POST", "/api/v1/orders", json={"id": "C-1", **ORDER}),
        413: as_("wms", "POST", "/api/v1/orders", **_json(BIG)),
        422: as_("wms", "POST", "/api/v1/orders", json={"lines": [{"sku": "?", "quantity": 1}]}),
    },
    ("get", "/api/v1/orders"): {
        401: anon("GET", "/api/v1/orders"),
        422: as_("viewer", "GET", "/api/v1/orders", params={"limit": 0}),
    },
    ("get", "/api/v1/orders/{order_id}"): {
        401: anon("GET", "/api/v1/orders/C-1"),
        404: as_("viewer", "GET", "/api/v1/orders/NOPE"),
    },
    ("post", "/api/v1/orders/{order_id}/cancel"): {
        401: anon("POST", "/api/v1/orders/C-1/cancel"),
        403: as_("technician", "POST", "/api/v1/orders/C-1/cancel"),
        404: as_("wms", "POST", "/api/v1/orders/NOPE/cancel"),
        409: as_("wms", "POST", "/api/v1/orders/C-2/cancel"),
    },
    ("put", "/api/v1/orders/{order_id}/priority"): {
        400: as_("wms", "PUT", "/api/v1/orders/C-1/priority", **_json(b"[")),
        401: anon("PUT", "/api/v1/orders/C-1/priority"),
        403: as_("viewer", "PUT", "/api/v1/orders/C-1/priority", json={"priority": 1}),
        404: as_("wms", "PUT", "/api/v1/orders/NOPE/priority", json={"priority": 1}),
        409: as_("wms", "PUT", "/api/v1/orders/C-2/priority", json={"priority": 1}),
        413: as_("wms", "PUT", "/api/v1/orders/C-1/priority", **_json(BIG)),
        422: as_("wms", "PUT", "/api/v1/orders/C-1/priority", json={"priority": "high"}),
    },
    ("post", "/api/v1/tasks"): {
        400: as_("wms", "POST", "/api/v1/tasks", **_json(b"{,}")),
        401: anon("POST", "/api/v1/tasks"),
        403: as_("technician", "POST", "/api/v1/tasks", json=SORT),
        409: as_("wms", "POST", "/api/v1/tasks", json={"id": "CT-1", **SORT}),
        413: as_("wms", "POST", "/api/v1/tasks", **_json(BIG)),
        422: as_("wms", "POST", "/api/v1/tasks", json={"kind": "teleport", "payload": {}}),
    },
    ("get", "/api/v1/tasks"): {
        401: anon("GET", "/api/v1/tasks"),
        422: as_("viewer", "GET", "/api/v1/tasks", params={"state": "sleeping"}),
    },
    ("get", "/api/v1/tasks/{task_id}"): {
        401: anon("GET", "/api/v1/tasks/CT-1"),
        404: as_("viewer", "GET", "/api/v1/tasks/NOPE"),
    },
    ("post", "/api/v1/tasks/{task_id}/cancel"): {
        401: anon("POST", "/api/v1/tasks/CT-1/cancel"),
        403: as_("viewer", "POST", "/api/v1/tasks/CT-1/cancel"),
        404: as_("wms", "POST", "/api/v1/tasks/NOPE/cancel"),
        409: as_("wms", "POST", "/api/v1/tasks/CT-2/cancel"),
    },
    ("get", "/api/v1/me"): {401: anon("GET", "/api/v1/me")},
    ("get", "/api/v1/map"): {401: anon("GET", "/api/v1/map")},
    ("get", "/api/v1/robots"): {401: anon("GET", "/api/v1/robots")},
    ("get", "/api/v1/robots/{robot_id}"): {
        401: anon("GET", "/api/v1/robots/AMR-01"),
        404: as_("viewer", "GET", "/api/v1/robots/NOPE"),
    },
    ("post", "/api/v1/robots/{robot_id}/commands"): {
        400: as_("technician", "POST", "/api/v1/robots/AMR-01/commands", **_json(b"nope")),
        401: anon("POST", "/api/v1/robots/AMR-01/commands"),
        403: as_("wms", "POST", "/api/v1/robots/AMR-01/commands", json={"command": "pause"}),
        404: as_("technician", "POST", "/api/v1/robots/NOPE/commands", json={"command": "pause"}),
        409: as_("technician", "POST", "/api/v1/robots/AMR-30/commands", json={"command": "park"}),
        413: as_("technician", "POST", "/api/v1/robots/AMR-01/commands", **_json(BIG)),
        422: as_("technician", "POST", "/api/v1/robots/AMR-01/commands", json={"command": 7}),
    },
    ("get", "/api/v1/robots/{robot_id}/instant-actions"): {
        401: anon("GET", "/api/v1/robots/AMR-01/instant-actions"),
        404: as_("viewer", "GET", "/api/v1/robots/NOPE/instant-actions"),
    },
    ("post", "/api/v1/robots/{robot_id}/instant-actions"): {
        400: as_("technician", "POST", "/api/v1/robots/AMR-01/instant-actions", **_json(b"{")),
        401: anon("POST", "/api/v1/robots/AMR-01/instant-actions"),
        403: as_("wms", "POST", "/api/v1/robots/AMR-01/instant-actions",
                 json={"action_type": "stateRequest"}),
        404: as_("technician", "POST", "/api/v1/robots/NOPE/instant-actions",
                 json={"action_type": "stateRequest"}),
        409: as_("technician", "POST", "/api/v1/robots/AMR-01/instant-actions",
                 json={"action_type": "stateRequest"}),
        413: as_("technician", "POST", "/api/v1/robots/AMR-01/instant-actions", **_json(BIG)),
        422: as_("technician", "POST", "/api/v1/robots/AMR-01/instant-actions",
                 json={"action_type": "no spaces"}),
    },
    ("get", "/api/v1/stations"): {401: anon("GET", "/api/v1/stations")},
    ("post", "/api/v1/stations/{station_id}/confirm"): {
        400: as_("wms", "POST", "/api/v1/stations/ST1/confirm", **_json(b"{")),
        401: anon("POST", "/api/v1/stations/ST1/confirm"),
        403: as_("viewer", "POST", "/api/v1/stations/ST1/confirm", json={"pod_id": "P1"}),
        404: as_("wms", "POST", "/api/v1/stations/NOPE/confirm", json={"pod_id": "P1"}),
        409: as_("wms", "POST", "/api/v1/stations/ST1/confirm", json={"pod_id": "NOT-HERE"}),
        413: as_("wms", "POST", "/api/v1/stations/ST1/confirm", **_json(BIG)),
        422: as_("wms", "POST", "/api/v1/stations/ST1/confirm", json={"pod_id": 7}),
    },
    ("get", "/api/v1/lanes"): {401: anon("GET", "/api/v1/lanes")},
    ("patch", "/api/v1/lanes/{lane_id}"): {
        400: as_("technician", "PATCH", "/api/v1/lanes/L01", **_json(b"{")),
        401: anon("PATCH", "/api/v1/lanes/L01"),
        403: as_("viewer", "PATCH", "/api/v1/lanes/L01", json={"enabled": False}),
        404: as_("technician", "PATCH", "/api/v1/lanes/NOPE", json={"enabled": False}),
        413: as_("technician", "PATCH", "/api/v1/lanes/L01", **_json(BIG)),
        422: as_("technician", "PATCH", "/api/v1/lanes/L01", json={"enabled": "no"}),
    },
    ("get", "/api/v1/alarms"): {
        401: anon("GET", "/api/v1/alarms"),
        422: as_("viewer", "GET", "/api/v1/alarms", params={"state": "loud"}),
    },
    ("post", "/api/v1/alarms/{alarm_id}/ack"): {
        400: as_("technician", "POST", "/api/v1/alarms/A-000001/ack", **_json(b"{")),
        401: anon("POST", "/api/v1/alarms/A-000001/ack"),
        403: as_("wms", "POST", "/api/v1/alarms/A-000001/ack", json={}),
        404: as_("technician", "POST", "/api/v1/alarms/NOPE/ack", json={}),
        413: as_("technician", "POST", "/api/v1/alarms/A-000001/ack", **_json(BIG)),
        422: as_("technician", "POST", "/api/v1/alarms/A-000001/ack", json={"note": 5}),
    },
    ("post", "/api/v1/sim/robots/{robot_id}/fault"): {
        400: as_("technician", "POST", "/api/v1/sim/robots/AMR-02/fault", **_json(b"{")),
        401: anon("POST", "/api/v1/sim/robots/AMR-02/fault"),
        403: as_("wms", "POST", "/api/v1/sim/robots/AMR-02/fault", json={}),
        404: as_("technician", "POST", "/api/v1/sim/robots/NOPE/fault", json={}),
        413: as_("technician", "POST", "/api/v1/sim/robots/AMR-02/fault", **_json(BIG)),
        422: as_("technician", "POST", "/api/v1/sim/robots/AMR-02/fault", json={"code": ""}),
    },
    ("post", "/api/v1/sim/asrs/{aisle_id}/fault"): {
        400: as_("technician", "POST", "/api/v1/sim/asrs/AS1/fault", **_json(b"{")),
        401: anon("POST", "/api/v1/sim/asrs/AS1/fault"),
        403: as_("wms", "POST", "/api/v1/sim/asrs/AS1/fault", json={}),
        404: as_("technician", "POST", "/api/v1/sim/asrs/NOPE/fault", json={}),
        409: lambda live: _armed_twice(live),  # already armed; the plan is taken back after
        413: as_("technician", "POST", "/api/v1/sim/asrs/AS1/fault", **_json(BIG)),
        422: as_("technician", "POST", "/api/v1/sim/asrs/AS1/fault", json={"phase": "pick"}),
    },
    ("get", "/api/v1/asrs"): {401: anon("GET", "/api/v1/asrs")},
    ("post", "/api/v1/asrs/{aisle_id}/reset"): {
        400: as_("technician", "POST", "/api/v1/asrs/AS1/reset", **_json(b"{")),
        401: anon("POST", "/api/v1/asrs/AS1/reset"),
        403: as_("wms", "POST", "/api/v1/asrs/AS1/reset", json={}),
        404: as_("technician", "POST", "/api/v1/asrs/NOPE/reset", json={}),
        409: as_("technician", "POST", "/api/v1/asrs/AS1/reset", json={}),  # not faulted
        413: as_("technician", "POST", "/api/v1/asrs/AS1/reset", **_json(BIG)),
        422: as_("technician", "POST", "/api/v1/asrs/AS1/reset", json={"cancel": 1}),
    },
    ("get", "/api/v1/kpis/history"): {
        401: anon("GET", "/api/v1/kpis/history"),
        422: as_("viewer", "GET", "/api/v1/kpis/history", params={"window_s": 0}),
    },
    ("get", "/api/v1/inventory/skus/{sku}"): {
        401: anon("GET", "/api/v1/inventory/skus/SKU-0001"),
        404: as_("viewer", "GET", "/api/v1/inventory/skus/NOPE"),
    },
}


def _documented(doc: dict) -> set[tuple[str, str, int]]:
    out = set()
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            for status in operation["responses"]:
                if status.startswith("4"):
                    out.add((method, path, int(status)))
    return out


def test_openapi_document_is_valid_and_every_error_is_covered(live):
    doc = live.client(None).get("/openapi.json").json()
    validate(doc)  # raises on an invalid OpenAPI 3.1 document
    assert doc["openapi"].startswith("3.1")
    covered = {(m, p, s) for (m, p), cases in CASES.items() for s in cases}
    assert _documented(doc) == covered
    for path, operations in doc["paths"].items():
        for operation in operations.values():
            for status, response in operation["responses"].items():
                if status.startswith("4"):
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref.endswith("/ErrorBody"), (path, status)


@pytest.mark.parametrize(
    "method,path,status",
    sorted((m, p, s) for (m, p), cases in CASES.items() for s in cases),
)
def test_documented_error_is_produced(live, method, path, status):
    response = CASES[(method, path)][status](live)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"code", "field", "reason"} and error["code"] and error["reason"]
