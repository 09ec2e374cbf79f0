"""The monitor's HTTP side on a real `wcs run`: page and assets served offline, sim fault routes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from browser import WcsServer
from fastapi.testclient import TestClient

from fleet_manager.api.app import create_app
from fleet_manager.api.tokens import issue_token
from fleet_manager.monitor import STATIC_DIR
from fleet_manager.runtime import Runtime, RuntimeConfig
from fleet_manager.site import default_map_path, load_site
from fleet_manager.store import SqliteStore


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WcsServer]:
    srv = WcsServer(tmp_path_factory.mktemp("monitor-http"), extra=("--speed", "2"))
    srv.start()
    srv.tech = srv.token("technician", "tia")  # type: ignore[attr-defined]
    srv.viewer = srv.token("viewer", "val")  # type: ignore[attr-defined]
    yield srv
    srv.stop()


def test_root_redirects_to_the_monitor_and_assets_are_served(server: WcsServer) -> None:
    page = httpx.get(f"{server.base}/", follow_redirects=True, timeout=10)
    assert page.status_code == 200 and str(page.url).endswith("/monitor/")
    assert "WCS fleet monitor" in page.text
    for asset in re.findall(r'(?:src|href)="([^"]+)"', page.text):
        url = f"{server.base}/monitor/{asset}" if not asset.startswith("/") else server.base + asset
        assert httpx.get(url, timeout=10).status_code == 200, asset


def test_no_asset_loads_anything_from_another_host() -> None:
    for path in Path(STATIC_DIR).iterdir():
        text = path.read_text()
        assert not re.search(r"""(src|href|import|from|url)\s*[=(]?\s*["']?(https?:)?//""", text), path.name


def test_fault_route_raises_an_alarm_for_a_technician(server: WcsServer) -> None:
    res = server.post("/api/v1/sim/robots/AMR-07/fault", server.tech, {"code": "lidar_blind"})  # type: ignore[attr-defined]
    assert res.status_code == 200, res.text
    alarm = res.json()
    assert alarm["code"] == "lidar_blind" and alarm["resource_id"] == "robot:AMR-07"
    listed = {a["id"]: a for a in server.get("/api/v1/alarms", server.tech)["items"]}  # type: ignore[attr-defined]
    assert listed[alarm["id"]]["state"] == "active"
    # The robot list comes from the next fleet snapshot (5 Hz): read snapshots until one shows it.
    for snap in server.live_snapshots(server.tech, 20):  # type: ignore[attr-defined]
        robot = next(r for r in snap["robots"] if r["id"] == "AMR-07")
        if robot["error"] is not None:
            break
    assert robot["error"] == "lidar_blind" and robot["state"] == "fault"


def test_fault_route_names_an_unknown_robot(server: WcsServer) -> None:
    res = server.post("/api/v1/sim/robots/AMR-999/fault", server.tech)  # type: ignore[attr-defined]
    assert res.status_code == 404
    assert "AMR-999" in res.json()["error"]["reason"]


def test_fault_route_refuses_viewers_and_strangers(server: WcsServer) -> None:
    assert server.post("/api/v1/sim/robots/AMR-01/fault", server.viewer).status_code == 403  # type: ignore[attr-defined]
    assert server.post("/api/v1/sim/robots/AMR-01/fault", "nope").status_code == 401
    bad = server.post("/api/v1/sim/robots/AMR-01/fault", server.tech, {"code": ""})  # type: ignore[attr-defined]
    assert bad.status_code == 422


class _HardwareFleet:
    """A runtime backend without a simulator (as with real robots): no faults to inject."""

    now_s = 0.0

    def __init__(self, *_args: object, **_kwargs: object) -> None:
        pass


def test_fault_routes_do_not_exist_without_a_simulation(tmp_path: Path) -> None:
    store = SqliteStore.in_dir(tmp_path)
    try:
        runtime = Runtime(load_site(default_map_path()), store, sim_factory=_HardwareFleet)
        token = issue_token(store, "technician", "tom").token
        client = TestClient(create_app(runtime, monitor=False))
        res = client.post(
            "/api/v1/sim/robots/AMR-01/fault", headers={"Authorization": f"Bearer {token}"}
        )
        assert res.status_code == 404
        paths = client.get("/openapi.json").json()["paths"]
        assert not [p for p in paths if p.startswith("/api/v1/sim/")]
        assert "/api/v1/orders" in paths  # the rest of the API is there
    finally:
        store.close()


def test_crane_fault_route_arms_the_next_move_once(server: WcsServer) -> None:
    before = server.get("/api/v1/asrs", server.tech)["items"]  # type: ignore[attr-defined]
    res = server.post("/api/v1/sim/asrs/AS1/fault", server.tech, {"phase": "to_source"})  # type: ignore[attr-defined]
    assert res.status_code == 200, res.text
    armed = res.json()
    assert armed["aisle_id"] == "AS1" and armed["phase"] == "to_source" and armed["move"] >= 1
    again = server.post("/api/v1/sim/asrs/AS1/fault", server.tech)  # type: ignore[attr-defined]
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_armed"
    assert str(armed["move"]) in again.json()["error"]["reason"]
    # Arming changes nothing until the crane moves.
    after = server.get("/api/v1/asrs", server.tech)["items"]  # type: ignore[attr-defined]
    assert [a["faulted"] for a in after] == [a["faulted"] for a in before] == [False] * len(before)


def test_crane_fault_route_names_an_unknown_aisle_and_refuses_others(server: WcsServer) -> None:
    res = server.post("/api/v1/sim/asrs/AS9/fault", server.tech)  # type: ignore[attr-defined]
    assert res.status_code == 404
    assert res.json()["error"]["field"] == "aisle_id" and "AS9" in res.json()["error"]["reason"]
    assert server.post("/api/v1/sim/asrs/AS1/fault", server.viewer).status_code == 403  # type: ignore[attr-defined]
    assert server.post("/api/v1/sim/asrs/AS1/fault", "nope").status_code == 401
    bad = server.post("/api/v1/sim/asrs/AS1/fault", server.tech, {"phase": "place"})  # type: ignore[attr-defined]
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "phase"


class _PlcCraneDriver:
    """Stands in for a crane behind a real PLC: every driver call but no simulated crane."""

    def __init__(self, real: object) -> None:
        self._real = real

    def __getattr__(self, name: str) -> object:
        if name in ("crane", "arm_fault"):  # what only a simulated crane has
            raise AttributeError(name)
        return getattr(self._real, name)


def test_crane_fault_route_answers_409_without_a_simulated_crane(tmp_path: Path) -> None:
    store = SqliteStore.in_dir(tmp_path)
    runtime = Runtime(load_site(default_map_path()), store, config=RuntimeConfig(speed=1.0))
    runtime.start()
    try:
        assert runtime.asrs is not None
        aisle = runtime.asrs.aisles["AS1"]
        runtime.call(lambda _sim: setattr(aisle, "driver", _PlcCraneDriver(aisle.driver))).result()
        token = issue_token(store, "technician", "tom").token
        client = TestClient(create_app(runtime, monitor=False))
        res = client.post(
            "/api/v1/sim/asrs/AS1/fault", headers={"Authorization": f"Bearer {token}"}
        )
        assert res.status_code == 409
        assert res.json()["error"]["code"] == "not_simulated" and "AS1" in res.json()["error"]["reason"]
    finally:
        runtime.stop()
        store.close()
