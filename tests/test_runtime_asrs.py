"""AS/RS through the real runtime: controller + simulated crane, API tasks, restart, crane faults."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import httpx
import pytest
from test_api_helpers import LiveServer, demo_site, read_events, serve_subprocess, wait_for

from fleet_manager.api.tokens import issue_token
from fleet_manager.runtime import Runtime, RuntimeConfig
from fleet_manager.runtime.asrs_component import INVENTORY_FILE
from fleet_manager.store import SqliteStore, TaskRecord
from plc_bridge.crane_telegram import FAULT_TRAVEL_DRIVE
from sim.crane.model import FaultPlan, Phase

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("asrs"), speed=200.0, seed=5)
    yield server
    server.close()


def _task_done(task_id: str):
    return lambda evs: any(
        e["topic"] == "task" and e["kind"] == "done" and e["data"].get("task_id") == task_id
        for e in evs
    )


def _transfer_done(after_task: str):
    return lambda evs: any(
        e["topic"] == "task"
        and e["kind"] == "done"
        and (e["data"].get("payload") or {}).get("after_task") == after_task
        for e in evs
    )


def _tote(client: httpx.Client, sku: str, tote_id: str) -> dict:
    found = client.get(f"/api/v1/inventory/skus/{sku}").json()
    return next(t for t in found["totes"] if t["tote_id"] == tote_id)


def test_store_then_retrieve_runs_crane_then_conveyor_to_the_station(live):
    wms = live.client("wms")
    start = live.store.last_seq()
    body = {"aisle_id": "AS1", "sku": "SKU-0002", "quantity": 6, "tote_id": "TOTE-NEW-1"}
    r = wms.post("/api/v1/tasks", json={"kind": "asrs_store", "payload": body})
    assert r.status_code == 201, r.text
    store_id = r.json()["id"]
    events = read_events(live.base, live.tokens["wms"], start, _task_done(store_id))
    mine = [e for e in events if e["data"].get("task_id") == store_id]
    assert [e["kind"] for e in mine] == ["received", "created", "assigned", "active", "done"]
    moves = [e for e in events if e["topic"] == "asrs" and e["data"].get("ref") == store_id]
    assert [e["kind"] for e in moves] == ["move_started", "move_done"]
    slot = moves[-1]["data"]["target"]
    tote = _tote(wms, "SKU-0002", "TOTE-NEW-1")
    assert tote["location"] == slot == tote["slot_id"] and tote["quantity"] == 6
    stored = wms.get(f"/api/v1/tasks/{store_id}").json()
    assert stored["resource_id"] == "CR1" and stored["state"] == "done"

    start = live.store.last_seq()
    body = {"aisle_id": "AS1", "sku": "SKU-0002", "tote_id": "TOTE-NEW-1", "station_id": "ST2"}
    r = wms.post("/api/v1/tasks", json={"kind": "asrs_retrieve", "payload": body})
    assert r.status_code == 201, r.text
    retrieve_id = r.json()["id"]
    events = read_events(live.base, live.tokens["wms"], start, _transfer_done(retrieve_id))
    order = [
        (e["topic"], e["kind"], e["data"].get("task_kind"))
        for e in events
        if e["data"].get("task_id") == retrieve_id
        or e["data"].get("ref") == retrieve_id
        or (e["data"].get("payload") or {}).get("after_task") == retrieve_id
    ]
    transfer = ("task", "queued", "conveyor_transfer")  # crane done, then the conveyor
    assert order == [
        ("task", "received", "asrs_retrieve"),
        ("task", "created", "asrs_retrieve"),
        ("task", "assigned", "asrs_retrieve"),
        ("task", "active", "asrs_retrieve"),
        ("asrs", "move_started", None),
        ("asrs", "move_done", None),
        ("task", "done", "asrs_retrieve"),
        transfer,
        ("task", "assigned", "conveyor_transfer"),
        ("task", "active", "conveyor_transfer"),
        ("task", "done", "conveyor_transfer"),
    ]
    moved = next(e for e in events if e["topic"] == "asrs" and e["kind"] == "move_done")
    assert moved["data"]["source"] == slot and moved["data"]["target"] == "io:AS1"
    transfers = wms.get("/api/v1/tasks", params={"kind": "conveyor_transfer"}).json()["items"]
    hop = next(t for t in transfers if t["payload"].get("after_task") == retrieve_id)
    assert hop["payload"]["to"] == "ST2" and hop["resource_id"] == "CV1"
    assert hop["state"] == "done"
    done_at = {h["to"]: h["at_s"] for h in wms.get(f"/api/v1/tasks/{retrieve_id}").json()["history"]}
    assert done_at["done"] > done_at["active"]
    assert _tote(wms, "SKU-0002", "TOTE-NEW-1")["location"] == "station:ST2"


R, S = "asrs_retrieve", "asrs_store"


@pytest.mark.parametrize(
    "kind,payload,status,code,field",
    [
        (R, {"sku": "SKU-0002", "tote_id": "NO-SUCH-TOTE"}, 422, "unknown_tote", "payload.tote_id"),
        (R, {"sku": "SKU-0590"}, 409, "no_stock", "payload.sku"),  # never stocked in the aisle
        (R, {"sku": "SKU-0003", "station_id": "ST99"}, 422, "unknown_location", "payload.station_id"),
        (R, {"sku": "SKU-0002", "tote_id": "SEEDED_1"}, 409, "wrong_sku", "payload.tote_id"),
        (S, {"sku": "SKU-0003", "slot_id": "AS1-L999-01-1"}, 422, "unknown_location",
         "payload.slot_id"),
        (S, {"sku": "SKU-0003", "slot_id": "OCCUPIED"}, 409, "slot_occupied", "payload.slot_id"),
        (S, {"sku": "SKU-0004", "tote_id": "SEEDED"}, 409, "tote_busy", "payload.tote_id"),
        (S, {"sku": "SKU-0004", "tote_id": "SEEDED_1"}, 409, "wrong_sku", "payload.tote_id"),
        (S, {"sku": "SKU-9999"}, 422, "unknown_sku", "payload.sku"),
    ],
)
def test_bad_asrs_requests_name_the_field_and_apply_nothing(
    live, kind, payload, status, code, field
):
    wms = live.client("wms")
    seeded = wms.get("/api/v1/inventory/skus/SKU-0001").json()["totes"]
    in_rack = next(t for t in seeded if t["slot_id"])
    if payload.get("slot_id") == "OCCUPIED":
        payload = {**payload, "slot_id": in_rack["slot_id"]}
    if payload.get("tote_id") == "SEEDED":  # a tote standing in the rack cannot be stored again
        payload = {**payload, "sku": "SKU-0001", "tote_id": in_rack["tote_id"]}
    if payload.get("tote_id") == "SEEDED_1":  # a SKU-0001 tote asked for as another SKU
        payload = {**payload, "tote_id": in_rack["tote_id"]}
    before_seq = live.store.last_seq()
    before_tasks = len(wms.get("/api/v1/tasks", params={"limit": 500}).json()["items"])
    r = wms.post("/api/v1/tasks", json={"kind": kind, "payload": {"aisle_id": "AS1", **payload}})
    assert r.status_code == status, r.text
    assert (r.json()["error"]["code"], r.json()["error"]["field"]) == (code, field)
    assert len(wms.get("/api/v1/tasks", params={"limit": 500}).json()["items"]) == before_tasks
    assert not [
        e for e in live.store.events_after(before_seq, 10_000) if e.topic in ("task", "asrs")
    ]
    assert wms.get("/api/v1/inventory/skus/SKU-0001").json()["totes"] == seeded


def test_store_into_a_full_aisle_is_refused(tmp_path):
    server = LiveServer(tmp_path, speed=200.0, seed=5)
    try:
        rt = server.runtime
        assert rt.asrs is not None
        inv = rt.asrs.aisles["AS1"].controller.inventory

        def block_free(_sim) -> list[str]:  # on the control thread: no move can interleave
            free = [s.slot_id for s in inv.store.slots("AS1")
                    if s.tote_id is None and s.reserved_by is None and not s.blocked_reason]
            for slot_id in free:
                inv.store.block_slot(slot_id, "test: aisle full")
            return free

        blocked = rt.call(block_free).result()
        assert blocked
        wms = server.client("wms")
        payload = {"aisle_id": "AS1", "sku": "SKU-0002", "quantity": 1}
        r = wms.post("/api/v1/tasks", json={"kind": "asrs_store", "payload": payload})
        assert r.status_code == 409, r.text
        assert r.json()["error"]["code"] == "no_free_slot"
        assert r.json()["error"]["field"] == "payload.aisle_id"
        at = {**payload, "slot_id": blocked[0]}  # a blocked slot is not free either
        r = wms.post("/api/v1/tasks", json={"kind": "asrs_store", "payload": at})
        assert r.status_code == 409 and r.json()["error"]["code"] == "slot_occupied"
        assert not server.store.list_tasks(kind="asrs_store", limit=10)[0]
    finally:
        server.close()


def _runtime(data_dir: Path, speed: float = 0.0) -> tuple[Runtime, SqliteStore]:
    store = SqliteStore.in_dir(data_dir)
    return Runtime(demo_site(), store, config=RuntimeConfig(speed=speed, seed=2)), store


def _api_task(kind: str, payload: dict) -> TaskRecord:
    return TaskRecord(id="", kind=kind, state="queued", priority=0, created_s=0.0,
                      payload={"aisle_id": "AS1", **payload}, source="api")


def test_inventory_survives_a_restart_and_is_seeded_once(tmp_path):
    rt, store = _runtime(tmp_path)
    assert (tmp_path / INVENTORY_FILE).exists()
    rt.start()
    first = rt.where_is("SKU-0005").result()["totes"]
    body = rt.submit_task(_api_task("asrs_store", {"sku": "SKU-0005", "tote_id": "KEEP"}), None)
    task_id = body.result().body["id"]
    wait_for(lambda: store.get_task(task_id).state == "done", 30, "the store to finish")
    before = {t["tote_id"]: t["location"] for t in rt.where_is("SKU-0005").result()["totes"]}
    rt.stop()
    store.close()
    assert before["KEEP"].startswith("AS1-") and len(before) == len(first) + 1

    again, store = _runtime(tmp_path)
    again.start()
    after = {t["tote_id"]: t["location"] for t in again.where_is("SKU-0005").result()["totes"]}
    assert after == before  # same totes, same slots, no second seeding
    # A new task id never repeats one of the first run.
    body = again.submit_task(_api_task("asrs_retrieve", {"sku": "SKU-0005", "tote_id": "KEEP",
                                                         "station_id": "ST3"}), None)
    retrieve_id = body.result().body["id"]
    assert retrieve_id != task_id
    wait_for(lambda: store.get_task(retrieve_id).state == "done", 30, "the retrieve to finish")
    again.stop()
    store.close()


def test_open_retrieve_keeps_its_station_across_a_restart(tmp_path):
    rt, store = _runtime(tmp_path, speed=0.01)  # the crane cannot finish before the stop
    rt.start()
    body = rt.submit_task(_api_task("asrs_retrieve", {"sku": "SKU-0006", "station_id": "ST4"}),
                          None)
    task_id = body.result().body["id"]
    wait_for(lambda: store.get_task(task_id).state == "active", 30, "the crane to start")
    rt.stop()
    store.close()

    again, store = _runtime(tmp_path)
    assert again.asrs is not None
    ctl = again.asrs.aisles["AS1"].controller
    # Active when the WCS stopped: the same task id, held as a fault for an operator to check.
    assert ctl.fault is not None and ctl.fault.move.ref == task_id
    assert ctl.pending_jobs == 1
    again.start()
    alarm = wait_for(lambda: store.list_alarms("active"), 30, "the restart alarm")[0]
    assert "WCS restarted" in alarm.message and alarm.code == "crane_fault"
    again.call(lambda _sim: again.asrs.reset_crane("AS1")).result()
    wait_for(lambda: store.get_task(task_id).state == "done", 30, "the retrieve to finish")
    hop = wait_for(
        lambda: [t for t in store.list_tasks(kind="conveyor_transfer", limit=50)[0]
                 if t.payload.get("after_task") == task_id and t.state == "done"],
        30,
        "the transfer",
    )[0]
    assert hop.payload["to"] == "ST4"
    assert len(store.list_tasks(kind="asrs_retrieve", limit=50)[0]) == 1  # not run twice
    again.stop()
    store.close()


def test_crane_fault_raises_an_alarm_and_keeps_the_tote_location(tmp_path):
    rt, store = _runtime(tmp_path)
    assert rt.asrs is not None
    crane = rt.asrs.aisles["AS1"].driver.crane
    crane.faults.append(FaultPlan(crane.moves_accepted + 1, Phase.TO_TARGET, FAULT_TRAVEL_DRIVE))
    rt.start()
    body = rt.submit_task(_api_task("asrs_store", {"sku": "SKU-0007", "tote_id": "FAULTY"}), None)
    task_id = body.result().body["id"]
    alarm = wait_for(
        lambda: [a for a in store.list_alarms("active") if a.code == "crane_fault"], 30, "alarm"
    )[0]
    assert "FAULTY" in alarm.message and alarm.resource_id == "crane:CR1"
    tote = next(t for t in rt.where_is("SKU-0007").result()["totes"] if t["tote_id"] == "FAULTY")
    assert tote["location"] == "crane:CR1"  # picked up, not yet put down: known, not guessed
    assert store.get_task(task_id).state == "queued"  # waits for the operator
    # Meanwhile a second request queues behind the fault; it can be cancelled, the faulted one not.
    body = rt.submit_task(_api_task("asrs_store", {"sku": "SKU-0007", "tote_id": "LATER"}), None)
    later_id = body.result().body["id"]
    wait_for(lambda: rt.asrs.task(later_id) is not None, 30, "the second request")
    rt.cancel_task(later_id).result()
    with pytest.raises(ValueError, match="crane already works on it"):
        rt.cancel_task(task_id).result()
    assert store.get_task(later_id).state == "cancelled"
    later = next(t for t in rt.where_is("SKU-0007").result()["totes"] if t["tote_id"] == "LATER")
    assert later["location"] == "io:AS1" and later["available"] == later["quantity"]
    rt.call(lambda _sim: rt.asrs.reset_crane("AS1")).result()
    wait_for(lambda: store.get_task(task_id).state == "done", 30, "the store to finish")
    tote = next(t for t in rt.where_is("SKU-0007").result()["totes"] if t["tote_id"] == "FAULTY")
    assert tote["slot_id"] and tote["location"] == tote["slot_id"]
    assert store.list_alarms("cleared") and not store.list_alarms("active")
    rt.stop()
    store.close()


def _serve(data_dir: Path, port: int) -> subprocess.Popen:
    return serve_subprocess(data_dir, port, speed=200)


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def test_wcs_serve_retrieves_to_a_station_and_keeps_the_inventory(tmp_path):
    from conftest import free_port

    store = SqliteStore.in_dir(tmp_path)
    token = issue_token(store, "wms", "asrs-test").token
    store.close()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"}
    proc = _serve(tmp_path, port)
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as c:
            body = {"aisle_id": "AS1", "sku": "SKU-0008", "station_id": "ST1"}
            r = c.post("/api/v1/tasks", json={"kind": "asrs_retrieve", "payload": body})
            assert r.status_code == 201, r.text
            task_id = r.json()["id"]

            def arrived() -> list[dict]:
                items = c.get("/api/v1/tasks", params={"kind": "conveyor_transfer"}).json()
                return [t for t in items["items"]
                        if t["payload"].get("after_task") == task_id and t["state"] == "done"]

            hop = wait_for(arrived, 60, "the conveyor transfer")[0]
            tote_id = hop["payload"]["tote_id"]
            assert c.get(f"/api/v1/tasks/{task_id}").json()["state"] == "done"
            totes = {t["tote_id"]: t for t in c.get("/api/v1/inventory/skus/SKU-0008").json()["totes"]}
            assert totes[tote_id]["location"] == "station:ST1"
    finally:
        _stop(proc)
    proc = _serve(tmp_path, port)
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as c:
            again = {t["tote_id"]: t for t in c.get("/api/v1/inventory/skus/SKU-0008").json()["totes"]}
            assert again == totes
    finally:
        _stop(proc)
