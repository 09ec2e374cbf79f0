"""KPI history: the runtime's bounded ring of samples, durable through the store, and
GET /api/v1/kpis/history across a restart."""

from __future__ import annotations

import itertools

import pytest
from test_api_helpers import LiveServer, wait_for

from fleet_manager.runtime.kpi_history import KpiHistory, sample_of
from fleet_manager.store import SqliteStore, StateBatch

FIELDS = {"time_s", "units_picked", "units_per_h", "orders_completed", "orders_open",
          "robot_states", "station_utilisation"}


def _snap(t_s: float, units: int = 0) -> dict:
    robots = [{"id": "A", "state": "idle"}, {"id": "B", "state": "to_pod", "paused": True},
              {"id": "C", "state": "to_pod", "error": "E1"}, {"id": "D", "state": "to_pod"},
              {"id": "E", "state": "idle", "out_of_service": True, "error": "E2"}]
    kpis = {"units_picked": units, "units_per_h": 12.5, "orders_completed": 2, "orders_open": 1,
            "station_idle_share": {"ST1": 0.25, "ST2": 1.0}}
    return {"time_s": t_s, "robots": robots, "kpis": kpis}


def test_sample_counts_robot_states_like_the_monitor():
    s = sample_of(_snap(5.0, units=7))
    assert set(s) == FIELDS
    assert s["robot_states"] == {"fault": 1, "idle": 1, "out_of_service": 1, "paused": 1,
                                 "to_pod": 1}
    assert s["station_utilisation"] == {"ST1": 0.75, "ST2": 0.0}
    assert s["units_picked"] == 7 and s["orders_open"] == 1
    assert sample_of({})["robot_states"] == {}  # a sim without KPIs still samples


def test_ring_keeps_one_sample_per_step_for_the_horizon_only():
    h = KpiHistory(step_s=10.0, horizon_s=100.0)
    kept = [t for t in range(301) if h.record(_snap(float(t), units=t))]
    assert kept == list(range(0, 301, 10))
    times = [s["time_s"] for s in h.window(1e9)]
    assert times == [float(t) for t in range(200, 301, 10)]  # 100 s back from the newest
    assert [s["time_s"] for s in h.window(25.0)] == [280.0, 290.0, 300.0]
    assert h.record(_snap(3.0))  # the clock went back: the past moves to end a step before 3
    times = [s["time_s"] for s in h.window(1e9)]
    assert times == [float(t) for t in range(-97, -6, 10)] + [3.0]
    assert [s["units_picked"] for s in h.window(1e9)][-2:] == [300, 0]
    with pytest.raises(ValueError, match="step_s"):
        KpiHistory(step_s=0.0)


def test_samples_are_stored_and_a_new_history_starts_from_them(tmp_path):
    store = SqliteStore.in_dir(tmp_path)
    h = KpiHistory(step_s=10.0, horizon_s=100.0, store=store)
    for t in range(51):
        h.record(_snap(float(t), units=t))
    store.apply_batch(StateBatch()).result()  # the writer is FIFO: the samples are in
    store.close()
    store = SqliteStore.in_dir(tmp_path)
    again = KpiHistory(step_s=10.0, horizon_s=100.0, store=store)
    assert again.window(1e9) == h.window(1e9)
    assert [s["units_picked"] for s in again.window(1e9)] == [0, 10, 20, 30, 40, 50]
    again.record(_snap(0.0, units=1))  # the restarted run's clock begins at 0
    times = [s["time_s"] for s in again.window(1e9)]
    assert times == [-60.0, -50.0, -40.0, -30.0, -20.0, -10.0, 0.0]
    store.close()


def test_history_survives_a_server_restart(tmp_path):
    first = LiveServer(tmp_path, speed=200.0, seed=3)
    viewer = first.client("viewer")

    def some() -> list[dict] | None:
        items = viewer.get("/api/v1/kpis/history").json()["items"]
        return items if len(items) >= 4 else None

    before = wait_for(some, 60, "a few samples")
    first.close()
    second = LiveServer(tmp_path, speed=200.0, seed=3)
    try:
        items = second.client("viewer").get("/api/v1/kpis/history").json()["items"]
        units = [s["units_picked"] for s in items]
        assert len(items) >= len(before)  # the last run's samples are back, moved before 0
        assert units[: len(before)] == [s["units_picked"] for s in before]
        times = [s["time_s"] for s in items]
        assert all(b - a >= 10.0 for a, b in itertools.pairwise(times))
    finally:
        second.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("kpi-history"), speed=200.0, seed=3)
    wms = server.client("wms")
    for n in range(3):
        order = {"id": f"KH-{n}", "lines": [{"sku": f"SKU-000{n + 1}", "quantity": 1}]}
        assert wms.post("/api/v1/orders", json=order).status_code == 201
    yield server
    server.close()


def test_history_endpoint_returns_samples_in_time_order(live):
    viewer = live.client("viewer")

    def enough() -> dict | None:
        body = viewer.get("/api/v1/kpis/history").json()
        items = body["items"]
        return body if len(items) >= 6 and items[-1]["time_s"] - items[0]["time_s"] > 200 else None

    body = wait_for(enough, 60, "a few hundred simulated seconds of samples")
    assert body["step_s"] == 10.0 and body["horizon_s"] == 3600.0 and body["window_s"] == 3600.0
    items = body["items"]
    times = [s["time_s"] for s in items]
    assert all(b - a >= body["step_s"] for a, b in itertools.pairwise(times))
    assert all(set(s) == FIELDS for s in items)
    robots = len(viewer.get("/api/v1/robots").json()["items"])
    assert all(sum(s["robot_states"].values()) == robots for s in items)
    done = [s["orders_completed"] for s in items]
    assert done == sorted(done)  # counters never go back within a run
    stations = {s["id"] for s in viewer.get("/api/v1/stations").json()["items"]}
    assert set(items[-1]["station_utilisation"]) == stations

    r = viewer.get("/api/v1/kpis/history", params={"window_s": 60})
    assert r.status_code == 200 and r.json()["window_s"] == 60
    recent = r.json()["items"]
    assert recent and recent[-1]["time_s"] - recent[0]["time_s"] <= 60
    assert recent[-1]["time_s"] >= times[-1] and len(recent) < len(items)
    for bad in (0, -5, "soon", 10**6):
        r = viewer.get("/api/v1/kpis/history", params={"window_s": bad})
        assert r.status_code == 422 and r.json()["error"]["field"] == "window_s"
