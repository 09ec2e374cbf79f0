"""Picks complete when confirmed: a station confirmed by the API holds the pod until then."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_api_helpers import LiveServer, wait_for

from fleet_manager.dispatch import CommandRejected, Phase, UnknownResource
from fleet_manager.domain import Order, OrderLine, OrderState
from fleet_manager.site.loader import load_site
from sim.world import Simulation

MAPS = Path(__file__).resolve().parents[1] / "maps"


def _until(sim: Simulation, check, limit_s: float) -> None:  # type: ignore[no-untyped-def]
    deadline = sim.now_s + limit_s
    while not check() and sim.now_s < deadline:
        sim.step()
    assert check(), f"not reached within {limit_s} s of simulated time"


def test_a_station_confirmed_by_api_waits_for_the_confirmation() -> None:
    sim = Simulation(load_site(MAPS / "tiny.yaml"), seed=0, config={"orders_per_h": 0})
    sim.set_station_confirm({"ST1": "api"})
    sim.submit_order(Order("O1", [OrderLine("SKU-B", 1)], 0.0))
    d = sim.dispatcher
    _until(sim, lambda: d.stations["ST1"].serving_robot is not None, 900.0)
    rec = d.robots[d.stations["ST1"].serving_robot]
    pod = rec.pod_id
    sim.run_until(sim.now_s + 600.0)  # far past the modelled pick time: nobody confirmed
    assert rec.phase == Phase.SERVICE and sim.orders["O1"].state != OrderState.DONE
    with pytest.raises(CommandRejected, match="not presented"):
        sim.confirm_station("ST1", "POD4")
    with pytest.raises(UnknownResource):
        sim.confirm_station("NOPE", pod)
    booked = sim.confirm_station("ST1", pod)
    assert booked["pod_id"] == pod and [p["sku"] for p in booked["picks"]] == ["SKU-B"]
    assert sim.orders["O1"].state == OrderState.DONE and rec.phase == Phase.TO_SLOT
    with pytest.raises(CommandRejected, match="presented now: none"):
        sim.confirm_station("ST1", pod)


def test_confirm_modes_are_checked_all_or_nothing() -> None:
    sim = Simulation(load_site(MAPS / "tiny.yaml"), seed=0, config={"orders_per_h": 0})
    with pytest.raises(CommandRejected, match="confirm mode"):
        sim.set_station_confirm({"ST1": "telepathy"})
    with pytest.raises(UnknownResource):
        sim.set_station_confirm({"ST1": "api", "ST9": "api"})
    assert sim.dispatcher.stations["ST1"].confirm == "simulated_operator"


def test_the_wms_confirms_a_pick_over_the_api(tmp_path: Path) -> None:
    live = LiveServer(tmp_path, speed=50.0)
    try:
        live.runtime.call(lambda plane: plane.set_station_confirm(
            {sid: "api" for sid in plane.dispatcher.stations})).result(10)
        wms = live.client("wms")
        r = wms.post("/api/v1/orders", json={"lines": [{"sku": "SKU-0001", "quantity": 1}]})
        assert r.status_code == 201, r.text
        order_id = r.json()["id"]

        def presented() -> tuple[str, str] | None:
            for st in wms.get("/api/v1/stations").json()["items"]:
                if st["presented_pod_id"] and order_id in st["open_order_ids"]:
                    return st["id"], st["presented_pod_id"]
            return None

        station, pod = wait_for(presented, 120, "a pod presented for the order")
        assert wms.get(f"/api/v1/orders/{order_id}").json()["state"] != "done"
        wrong = wms.post(f"/api/v1/stations/{station}/confirm", json={"pod_id": "POD-NONE"})
        assert wrong.status_code == 409 and "not presented" in wrong.json()["error"]["reason"]
        viewer = live.client("viewer").post(f"/api/v1/stations/{station}/confirm",
                                            json={"pod_id": pod})
        assert viewer.status_code == 403
        ok = wms.post(f"/api/v1/stations/{station}/confirm", json={"pod_id": pod})
        assert ok.status_code == 200, ok.text
        assert ok.json()["pod_id"] == pod and ok.json()["picks"]
        wait_for(lambda: wms.get(f"/api/v1/orders/{order_id}").json()["state"] == "done", 60,
                 "the order done after the confirmation")
    finally:
        live.close()
