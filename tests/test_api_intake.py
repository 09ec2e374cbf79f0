"""One validation path: intake.py refuses a request exactly as the HTTP API does."""

from __future__ import annotations

import pytest
from test_api_helpers import LiveServer

from fleet_manager.api.intake import order_request, task_request
from fleet_manager.api.refusal import ApiError

TASKS = [
    '{"kind": "sort", "payload": {}}',
    '{"kind": "sort", "payload": {"sorter_id": "SRT9"}}',
    '{"kind": "sort", "payload": {"sorter_id": "SRT1", "lane_id": "L99"}}',
    '{"kind": "teleport", "payload": {}}',
    '{"payload": {"pod_id": "POD-0001"}}',
    '{"kind": "pod_fetch", "payload": {"pod_id": "POD-0001", "station_id": "ST1", "hold_s": -2}}',
    '{"kind": "pod_fetch", "payload": {"pod_id": "NOPE", "station_id": "ST1"}}',
    '{"kind": "asrs_store", "payload": {"aisle_id": "AS1", "sku": "SKU-0001", "quantity": 0}}',
    '{"kind": "asrs_store", "payload": {"aisle_id": "AS1", "sku": "SKU-9999"}}',
    '{"kind": "asrs_retrieve", "payload": {"aisle_id": "AS1", "sku": "SKU-0001", "x": 1}}',
    ('{"kind": "conveyor_transfer", "payload": {"conveyor_id": "CV1", "from_point": "A",'
     ' "to_point": "B"}}'),
    '{"kind": "sort", "payload": {"sorter_id": "SRT1"}, "order_id": "NO-SUCH-ORDER"}',
    '{"kind": "sort", "payload": {"sorter_id": "SRT1"}, "priority": 1e400}',
    '{"kind": "sort", "payload": {"sorter_id": "SRT1"}, "priority": NaN}',
    '{"kind": "sort", "payload": {"sorter_id": "SRT1"}, "id": "bad id"}',
    '{"kind": "sort", "payload": {"sorter_id": "SRT1"}, "priority": "1"}',
    '{"kind": "sort", "payload": "x"}',
    '[1, 2]',
    '{"kind": ',
]
ORDERS = [
    '{"lines": []}',
    '{"lines": [{"sku": "SKU-9999", "quantity": 1}]}',
    '{"lines": [{"sku": "SKU-0001", "quantity": 99999}]}',
    '{"lines": [{"sku": "SKU-0001", "quantity": 1}], "station_id": "ST99"}',
    '{"lines": [{"sku": "SKU-0001", "quantity": 1}], "priority": -36893488147419103233}',
    '{"lines": [{"sku": "SKU-0001", "quantity": 1}], "due_s": Infinity}',
    '{"lines": [{"sku": "SKU-0001", "quantity": true}]}',
]


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("intake"), speed=20.0)
    yield server
    server.close()


def _http(live: LiveServer, path: str, body: str) -> tuple[int, str, str | None]:
    r = live.client("wms").post(path, content=body, headers={"Content-Type": "application/json"})
    error = r.json()["error"]
    return r.status_code, error["code"], error["field"]


def _refusal(call) -> tuple[int, str, str | None]:
    with pytest.raises(ApiError) as info:
        call()
    return info.value.status, info.value.code, info.value.field


@pytest.mark.parametrize("body", TASKS)
def test_task_refused_alike_over_http_and_intake(live, body):
    rt = live.runtime
    expected = _refusal(lambda: task_request(body, rt.site, rt.store))
    assert _http(live, "/api/v1/tasks", body) == expected


@pytest.mark.parametrize("body", ORDERS)
def test_order_refused_alike_over_http_and_intake(live, body):
    rt = live.runtime
    expected = _refusal(lambda: order_request(body, rt.site, rt.free_units))
    assert _http(live, "/api/v1/orders", body) == expected


def test_valid_requests_pass_intake(live):
    rt = live.runtime
    task = task_request('{"kind": "sort", "payload": {"sorter_id": "SRT1", "lane_id": null}}',
                        rt.site, rt.store)
    assert task.payload_as_sent() == {"sorter_id": "SRT1"} and task.priority == 0
    order = order_request({"lines": [{"sku": "SKU-0001", "quantity": 2.0}]}, rt.site,
                          rt.free_units)
    assert order.lines[0].quantity == 2
