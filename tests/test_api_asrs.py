"""AS/RS over HTTP: aisle/crane status, and a technician resetting a faulted crane (finish or cancel)."""

from __future__ import annotations

import httpx
import pytest
from test_api_helpers import LiveServer, read_events, wait_for

from plc_bridge.crane_telegram import FAULT_TRAVEL_DRIVE
from sim.crane.model import FaultPlan, Phase


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("api-asrs"), speed=200.0, seed=5)
    yield server
    server.close()


def _fault_next_move(live: LiveServer, phase: Phase) -> None:
    """Arm the simulated crane (on the control thread) to fault halfway through `phase` of its
    next move."""

    def arm(_sim) -> None:
        crane = live.runtime.asrs.aisles["AS1"].driver.crane
        crane.faults.append(FaultPlan(crane.moves_accepted + 1, phase, FAULT_TRAVEL_DRIVE))

    live.runtime.call(arm).result()


def _aisle(client: httpx.Client) -> dict:
    r = client.get("/api/v1/asrs")
    assert r.status_code == 200, r.text
    return next(a for a in r.json()["items"] if a["aisle_id"] == "AS1")


def _alarm(client: httpx.Client, alarm_id: str) -> dict:
    return next(a for a in client.get("/api/v1/alarms").json()["items"] if a["id"] == alarm_id)


def _tote(client: httpx.Client, sku: str, tote_id: str) -> dict:
    found = client.get(f"/api/v1/inventory/skus/{sku}").json()["totes"]
    return next(t for t in found if t["tote_id"] == tote_id)


def test_aisles_show_crane_and_slot_counts_to_any_role(live):
    aisle = _aisle(live.client("viewer"))
    assert aisle["crane_id"] == "CR1" and aisle["faulted"] is False and aisle["fault"] is None
    assert set(aisle["crane"]) >= {"x_m", "y_m", "state", "load_on_forks", "fault_code"}
    assert aisle["crane"]["state_name"] in ("idle", "busy")
    slots = aisle["slots"]
    assert slots["occupied"] > 0 and slots["empty"] > 0  # seeded, not full
    inv = live.runtime.asrs.aisles["AS1"].controller.inventory
    assert slots["total"] == len(inv.rack) == sum(v for k, v in slots.items() if k != "total")
    assert live.client(None).get("/api/v1/asrs").status_code == 401


def test_fault_then_reset_finishes_the_move_and_clears_the_alarm(live):
    wms, tech = live.client("wms"), live.client("technician")
    _fault_next_move(live, Phase.TO_TARGET)  # after the pick: the tote is on the forks
    body = {"aisle_id": "AS1", "sku": "SKU-0007", "quantity": 3, "tote_id": "API-FAULTY"}
    r = wms.post("/api/v1/tasks", json={"kind": "asrs_store", "payload": body})
    assert r.status_code == 201, r.text
    task_id = r.json()["id"]
    aisle = wait_for(lambda: (a := _aisle(tech))["faulted"] and a, 30, "the crane fault")
    fault = aisle["fault"]
    assert fault["move"]["ref"] == task_id and fault["move"]["tote_id"] == "API-FAULTY"
    assert fault["tote_location"] == "crane:CR1" and fault["cancellable"] is False
    assert aisle["current_move"]["state"] == "faulted" and aisle["crane"]["state_name"] == "fault"
    assert aisle["crane"]["load_on_forks"] and aisle["crane"]["load_id"] == "API-FAULTY"
    assert wms.get(f"/api/v1/tasks/{task_id}").json()["state"] == "queued"
    alarm_id = fault["alarm_id"]
    assert _alarm(tech, alarm_id)["state"] == "active"

    # Cancel is refused while the tote is on the forks, and nothing changes.
    assert wms.post("/api/v1/asrs/AS1/reset", json={}).status_code == 403
    r = tech.post("/api/v1/asrs/AS1/reset", json={"cancel": True})
    assert r.status_code == 409, r.text
    assert (r.json()["error"]["code"], r.json()["error"]["field"]) == ("tote_on_forks", "cancel")
    assert _aisle(tech)["fault"] == fault
    assert _alarm(tech, alarm_id)["state"] == "active"

    start = live.store.last_seq()
    r = tech.post("/api/v1/asrs/AS1/reset", json={"cancel": False})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["cancelled"] is False and out["fault"]["move"] == fault["move"]
    assert out["aisle"]["faulted"] is False

    def done(evs: list[dict]) -> bool:
        return any(e["topic"] == "task" and e["kind"] == "done"
                   and e["data"].get("task_id") == task_id for e in evs)

    events = read_events(live.base, live.tokens["wms"], start, done)
    kinds = [(e["topic"], e["kind"]) for e in events
             if e["topic"] in ("alarm", "asrs") or e["data"].get("task_id") == task_id]
    assert kinds[:3] == [("alarm", "acknowledged"), ("alarm", "cleared"), ("asrs", "crane_reset")]
    assert ("asrs", "move_done") in kinds and kinds[-1] == ("task", "done")
    alarm = _alarm(tech, alarm_id)
    assert alarm["state"] == "cleared" and alarm["acknowledged_by"] == "test-technician"
    tote = _tote(wms, "SKU-0007", "API-FAULTY")
    assert tote["slot_id"] and tote["location"] == tote["slot_id"] == fault["move"]["target"]

    r = tech.post("/api/v1/asrs/AS1/reset", json={})  # nothing faulted any more
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_faulted"


def test_reset_with_cancel_cancels_the_task_and_releases_the_tote(live):
    wms, tech = live.client("wms"), live.client("technician")
    _fault_next_move(live, Phase.TO_SOURCE)  # before the pick: the tote is still in its slot
    body = {"aisle_id": "AS1", "sku": "SKU-0003", "station_id": "ST2"}
    r = wms.post("/api/v1/tasks", json={"kind": "asrs_retrieve", "payload": body})
    assert r.status_code == 201, r.text
    task_id = r.json()["id"]
    fault = wait_for(lambda: _aisle(tech)["fault"], 30, "the crane fault")
    move = fault["move"]
    assert move["ref"] == task_id and fault["cancellable"] is True
    assert fault["tote_location"] == move["source"]
    assert _tote(wms, "SKU-0003", move["tote_id"])["available"] == 0  # reserved by the move
    r = tech.post("/api/v1/asrs/AS1/reset", json={"cancel": True})
    assert r.status_code == 200, r.text
    assert r.json()["cancelled"] is True
    task = wait_for(lambda: (t := wms.get(f"/api/v1/tasks/{task_id}").json())["state"]
                    == "cancelled" and t, 30, "the task to be cancelled")
    assert "cancelled by operator" in task["history"][-1]["reason"]
    tote = _tote(wms, "SKU-0003", move["tote_id"])
    assert tote["location"] == tote["slot_id"] == move["source"]
    assert tote["available"] == tote["quantity"]  # reservation released
    aisle = _aisle(tech)
    assert aisle["faulted"] is False and aisle["current_move"] is None
    assert _alarm(tech, fault["alarm_id"])["state"] == "cleared"
    transfers = wms.get("/api/v1/tasks", params={"kind": "conveyor_transfer"}).json()["items"]
    assert not [t for t in transfers if t["payload"].get("after_task") == task_id]


def test_reset_names_an_unknown_aisle_and_needs_the_technician_role(live):
    tech = live.client("technician")
    r = tech.post("/api/v1/asrs/AS9/reset", json={})
    assert r.status_code == 404
    assert r.json()["error"]["field"] == "aisle_id" and "AS9" in r.json()["error"]["reason"]
    assert live.client("viewer").post("/api/v1/asrs/AS1/reset", json={}).status_code == 403
    assert live.client(None).post("/api/v1/asrs/AS1/reset", json={}).status_code == 401
    r = tech.post("/api/v1/asrs/AS1/reset", json={"cancel": "yes"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "cancel"
