"""One validation path: a task request naming something the site does not have is refused
with the same (status, code, field) by the HTTP API's intake and by the ROS services' check."""

from __future__ import annotations

import pytest

from fleet_manager.api.intake import parse_task
from fleet_manager.api.refusal import ApiError
from fleet_manager.api.validation import check_task
from fleet_manager.requests import RequestError, check_asrs_task, check_fleet_task
from fleet_manager.site import default_map_path, load_site

SITE = load_site(default_map_path())
SKU = min(SITE.skus)


class _NoOrders:
    def get_order(self, _order_id: str) -> None:
        return None


CASES = [
    ("pod_fetch", {"pod_id": "POD-NOPE", "station_id": "ST1"}),
    ("pod_fetch", {"pod_id": "POD-0001", "station_id": "ST9"}),
    ("asrs_store", {"aisle_id": "AS9", "sku": SKU}),
    ("asrs_store", {"aisle_id": "AS1", "sku": "NO-SUCH-SKU"}),
    ("asrs_retrieve", {"aisle_id": "AS1", "sku": SKU, "station_id": "ST9"}),
]


@pytest.mark.parametrize(("kind", "payload"), CASES)
def test_the_same_request_is_refused_the_same_way(kind: str, payload: dict) -> None:
    with pytest.raises(ApiError) as http:
        check_task(SITE, parse_task({"kind": kind, "payload": payload}), _NoOrders())  # type: ignore[arg-type]
    with pytest.raises(RequestError) as ros:
        if kind == "pod_fetch":
            check_fleet_task(SITE, (), kind, payload)
        else:
            check_asrs_task(SITE, kind, payload)
    assert (http.value.status, http.value.code, http.value.field) == (
        ros.value.status, ros.value.code, ros.value.field)
