"""HTTP API through a real uvicorn on loopback: orders and tasks to done, events, auth, commands."""

from __future__ import annotations

import json

import pytest
from test_api_helpers import LiveServer, demo_site, read_events, wait_for, ws_url
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("api"), speed=200.0)
    yield server
    server.close()


def _order_done(order_id: str):
    return lambda evs: any(
        e["topic"] == "order" and e["kind"] == "done" and e["data"].get("order_id") == order_id
        for e in evs
    )


def test_order_runs_to_done_with_gapless_events(live):
    wms = live.client("wms")
    r = wms.post(
        "/api/v1/orders",
        json={"id": "ORD-1", "lines": [{"sku": "SKU-0001", "quantity": 1}]},
        headers={"Idempotency-Key": "ord-1"},
    )
    assert r.status_code == 201, r.text
    assert r.headers["location"] == "/api/v1/orders/ORD-1" and r.json()["state"] == "open"
    events = read_events(live.base, live.tokens["viewer"], 0, _order_done("ORD-1"))
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(seqs) + 1))
    mine = [e for e in events if e["data"].get("order_id", e["data"].get("id")) == "ORD-1"]
    kinds = [(e["topic"], e["kind"]) for e in mine]
    assert kinds[0] == ("order", "received") and ("pick", "confirmed") in kinds
    order = wms.get("/api/v1/orders/ORD-1").json()
    assert order["state"] == "done" and order["lines"][0]["picked"] == 1
    # The goods-to-person task the order caused: queued -> assigned -> active -> done.
    fetch = wait_for(
        lambda: [
            t
            for t in wms.get("/api/v1/tasks", params={"order_id": "ORD-1"}).json()["items"]
            if t["state"] == "done"
        ],
        what="the pod fetch to finish",
    )[0]
    assert fetch["kind"] == "pod_fetch"
    assert [h["to"] for h in fetch["history"]] == ["queued", "assigned", "active", "done"]


@pytest.mark.parametrize(
    "kind,payload",
    [
        ("asrs_store", {"aisle_id": "AS1", "sku": "SKU-0002", "quantity": 4}),
        ("asrs_retrieve", {"aisle_id": "AS1", "sku": "SKU-0003", "quantity": 1}),
        ("conveyor_transfer", {"conveyor_id": "CV1", "from_point": "IN1", "to_point": "OUT1"}),
        ("sort", {"sorter_id": "SRT1", "lane_id": "L03"}),
        ("pod_fetch", {"pod_id": "POD-0018", "station_id": "ST1"}),
    ],
)
def test_each_task_kind_runs_to_done(live, kind, payload):
    site = demo_site()
    if kind == "conveyor_transfer":
        points = [p.id for p in site.conveyors["CV1"].points]
        payload = {**payload, "from_point": points[0], "to_point": points[-1]}
    wms = live.client("wms")
    start = live.store.last_seq()
    r = wms.post("/api/v1/tasks", json={"kind": kind, "payload": payload})
    assert r.status_code == 201, r.text
    task_id = r.json()["id"]
    assert r.json()["state"] == "queued"

    def done(evs):
        return any(e["data"].get("task_id") == task_id and e["kind"] == "done" for e in evs)

    events = read_events(live.base, live.tokens["wms"], start, done)
    mine = [e["kind"] for e in events if e["data"].get("task_id") == task_id]
    assert mine[0] == "received" and mine[-1] == "done"
    task = wms.get(f"/api/v1/tasks/{task_id}").json()
    assert task["state"] == "done" and task["source"] == "api" and task["resource_id"]
    assert [h["to"] for h in task["history"]] == ["queued", "assigned", "active", "done"]
    if kind == "pod_fetch":  # nothing of the dispatcher's trip bookkeeping leaks into it
        assert task["payload"] == payload


def test_roles_and_tokens(live):
    body = {"lines": [{"sku": "SKU-0001", "quantity": 1}]}
    assert live.client(None).get("/api/v1/orders").status_code == 401
    bad = live.client(None).get("/api/v1/orders", headers={"Authorization": "Bearer wcs_x_y"})
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "unauthorized"
    assert live.client("viewer").post("/api/v1/orders", json=body).status_code == 403
    assert live.client("technician").post("/api/v1/orders", json=body).status_code == 403
    assert live.client("viewer").get("/api/v1/orders").status_code == 200
    command = {"command": "pause"}
    assert (
        live.client("wms").post("/api/v1/robots/AMR-01/commands", json=command).status_code == 403
    )
    for role in ("wms", "technician", "viewer"):
        assert live.client(role).get("/api/v1/me").json()["role"] == role
    stored = live.store.find_token(live.tokens["wms"].split("_")[1])
    assert stored is not None and live.tokens["wms"] not in stored[1]  # only the hash is kept


def test_idempotent_create_and_replay_with_other_body(live):
    wms = live.client("wms")
    body = {"lines": [{"sku": "SKU-0004", "quantity": 1}], "priority": 3}
    first = wms.post("/api/v1/orders", json=body, headers={"Idempotency-Key": "idem-A"})
    again = wms.post("/api/v1/orders", json=body, headers={"Idempotency-Key": "idem-A"})
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"] and again.headers["idempotent-replayed"]
    before = live.store.last_seq()
    other = wms.post(
        "/api/v1/orders",
        json={**body, "priority": 4},
        headers={"Idempotency-Key": "idem-A"},
    )
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert other.json()["error"]["field"] == "Idempotency-Key"
    matching = wms.get("/api/v1/orders", params={"sku": "SKU-0004", "limit": 500}).json()["items"]
    assert [o["id"] for o in matching] == [first.json()["id"]]
    assert not [e for e in live.store.events_after(before, 10_000) if e.kind == "received"]


BAD_ORDERS = [
    (b'{"lines": [', 400, "malformed_json", None),
    ({"lines": [{"sku": "SKU-0001", "quantity": "two"}]}, 422, "wrong_type", "lines[0].quantity"),
    ({"lines": [{"sku": "SKU-0001", "quantity": -1}]}, 422, "invalid_value", "lines[0].quantity"),
    ({"lines": [{"sku": "NOPE-1", "quantity": 1}]}, 422, "unknown_sku", "lines[0].sku"),
    (
        {"lines": [{"sku": "SKU-0001", "quantity": 1}, {"sku": "SKU-0001", "quantity": 2}]},
        422,
        "duplicate_sku",
        "lines[1].sku",
    ),
    (
        {"lines": [{"sku": "SKU-0001", "quantity": 1}], "station_id": "X9"},
        422,
        "unknown_location",
        "station_id",
    ),
    (
        {"lines": [{"sku": "SKU-0001", "quantity": 99_999}]},
        422,
        "insufficient_stock",
        "lines[0].quantity",
    ),
    ({"lines": []}, 422, "invalid_value", "lines"),
    ({"items": []}, 422, "missing_field", "lines"),
    (
        {"lines": [{"sku": "SKU-0001", "quantity": 1}], "colour": "red"},
        422,
        "unknown_field",
        "colour",
    ),
    (b"x" * (1024 * 1024 + 1), 413, "body_too_large", None),
]


@pytest.mark.parametrize("body,status,code,field", BAD_ORDERS)
def test_bad_orders_are_refused_and_leave_nothing(live, body, status, code, field):
    wms = live.client("wms")
    before = sum(live.store.count_orders().values())
    if isinstance(body, bytes):
        r = wms.post("/api/v1/orders", content=body, headers={"Content-Type": "application/json"})
    else:
        r = wms.post("/api/v1/orders", json=body)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code and r.json()["error"]["field"] == field
    assert r.json()["error"]["reason"]
    assert sum(live.store.count_orders().values()) == before


def test_robot_commands_alarms_and_lanes(live):
    tech = live.client("technician")
    r = tech.post("/api/v1/robots/AMR-03/commands", json={"command": "pause"})
    assert r.status_code == 200 and r.json()["accepted"]
    wait_for(lambda: tech.get("/api/v1/robots/AMR-03").json()["paused"], what="the robot to pause")
    assert tech.post("/api/v1/robots/AMR-03/commands", json={"command": "resume"}).is_success
    missing = tech.post("/api/v1/robots/NOPE/commands", json={"command": "pause"})
    assert missing.status_code == 404 and "NOPE" in missing.json()["error"]["reason"]
    wrong = tech.post("/api/v1/robots/AMR-03/commands", json={"command": "dance"})
    assert wrong.status_code == 422 and wrong.json()["error"]["field"] == "command"

    alarm = live.runtime.call(lambda sim: sim.inject_fault("AMR-05", "E42", "bumper hit")).result()
    listed = tech.get("/api/v1/alarms", params={"state": "active"}).json()["items"]
    assert alarm.id in [a["id"] for a in listed]
    acked = tech.post(f"/api/v1/alarms/{alarm.id}/ack", json={})
    assert acked.status_code == 200, acked.text
    assert acked.json()["state"] == "acknowledged" and acked.json()["acknowledged_by"] == "test-technician"
    # One alarm shape (issue 19): the answer, the list and the stored event say the same.
    shape = {"id", "code", "severity", "resource_id", "raised_at", "acknowledged_by",
             "acknowledged_at", "cleared_at", "message"}
    answer = acked.json()
    assert shape <= answer.keys() and answer["resource_id"] == "robot:AMR-05"
    assert answer["raised_at"].endswith("Z") and answer["acknowledged_at"] >= answer["raised_at"]
    assert answer["cleared_at"] is None
    wait_for(lambda: next(a for a in tech.get("/api/v1/alarms").json()["items"]
                          if a["id"] == alarm.id)["acknowledged_by"], 10, "ack stored")
    entry = next(a for a in tech.get("/api/v1/alarms").json()["items"] if a["id"] == alarm.id)
    assert {k: entry[k] for k in shape} == {k: answer[k] for k in shape}
    live.runtime.call(lambda sim: sim.command_robot("AMR-05", "clear_fault")).result()
    cleared = wait_for(
        lambda: next((a for a in tech.get("/api/v1/alarms").json()["items"]
                      if a["id"] == alarm.id and a["cleared_at"]), None), 10, "the clear stored")
    assert cleared["state"] == "cleared" and cleared["cleared_at"] >= answer["acknowledged_at"]
    assert cleared["acknowledged_by"] == "test-technician"  # a later write keeps the ack
    assert live.client("viewer").post(f"/api/v1/alarms/{alarm.id}/ack", json={}).status_code == 403
    assert tech.post("/api/v1/alarms/A-999999/ack", json={}).status_code == 404

    off = tech.patch("/api/v1/lanes/L02", json={"enabled": False})
    assert off.status_code == 200 and off.json()["items"][0]["enabled"] is False
    lanes = {x["id"]: x for x in tech.get("/api/v1/lanes").json()["items"]}
    assert lanes["L02"]["enabled"] is False and lanes["L01"]["enabled"] is True
    assert tech.patch("/api/v1/lanes/L99", json={"enabled": False}).status_code == 404
    kinds = {(e.topic, e.kind) for e in live.store.events_after(0, 100_000)}
    assert {("lane", "disabled"), ("alarm", "acknowledged"), ("robot", "pause")} <= kinds


def test_inventory_and_map(live):
    viewer = live.client("viewer")
    found = viewer.get("/api/v1/inventory/skus/SKU-0007").json()
    site = demo_site()
    holders = {p.id for p in site.pods.values() if p.inventory.get("SKU-0007", 0) > 0}
    assert {x["pod_id"] for x in found["locations"]} <= holders and found["locations"]
    assert found["total_units"] == sum(x["quantity"] for x in found["locations"])
    assert viewer.get("/api/v1/inventory/skus/NOPE").status_code == 404
    m = viewer.get("/api/v1/map").json()
    assert (m["width"], m["height"], m["cell_size_m"]) == (
        site.width,
        site.height,
        site.cell_size_m,
    )
    assert len(m["nodes"]) == site.num_nodes
    assert {s["id"] for s in m["stations"]} == set(site.stations)
    assert m["asrs"][0]["footprint"] and m["sorters"][0]["lanes"] and m["forbidden"]


def test_cancel_priority_and_pages(live):
    wms = live.client("wms")
    ids = []
    for i in range(3):
        body = {"id": f"PG-{i}", "lines": [{"sku": "SKU-0010", "quantity": 1}], "priority": -5}
        assert wms.post("/api/v1/orders", json=body).status_code == 201
        ids.append(f"PG-{i}")
    r = wms.put("/api/v1/orders/PG-0/priority", json={"priority": 9})
    assert r.status_code == 200 and r.json()["priority"] == 9
    r = wms.post("/api/v1/orders/PG-1/cancel")
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    again = wms.post("/api/v1/orders/PG-1/cancel")
    assert again.status_code == 409 and again.json()["error"]["code"] == "order_closed"
    assert wms.post("/api/v1/orders/NOPE/cancel").status_code == 404
    page = wms.get("/api/v1/orders", params={"sku": "SKU-0010", "limit": 2}).json()
    rest = wms.get(
        "/api/v1/orders", params={"sku": "SKU-0010", "limit": 2, "after": page["next_cursor"]}
    ).json()
    assert [o["id"] for o in page["items"] + rest["items"]] == ids and rest["next_cursor"] is None
    dup = wms.post(
        "/api/v1/orders", json={"id": "PG-0", "lines": [{"sku": "SKU-0010", "quantity": 1}]}
    )
    assert dup.status_code == 409 and dup.json()["error"]["field"] == "id"


def test_event_stream_resumes_after_a_sequence_number(live):
    everything = read_events(live.base, live.tokens["viewer"], 0, lambda evs: len(evs) >= 30)
    k = everything[9]["seq"]
    resumed = read_events(live.base, live.tokens["viewer"], k, lambda evs: len(evs) >= 20)
    assert resumed[0]["seq"] == k + 1
    assert resumed[:20] == everything[10:30]


def test_live_snapshots_and_websocket_auth(live):
    with connect(ws_url(live.base, "/api/v1/live")) as ws:
        ws.send(json.dumps({"token": live.tokens["viewer"]}))
        snaps = [json.loads(ws.recv(timeout=10)) for _ in range(3)]
    assert all(len(s["robots"]) == len(demo_site().robots) for s in snaps)
    assert snaps[0]["time_s"] < snaps[2]["time_s"]
    for path in ("/api/v1/live", "/api/v1/events"):
        with connect(ws_url(live.base, path)) as ws:
            ws.send(json.dumps({"token": "wcs_bad_token"}))
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=10)
        assert closed.value.rcvd.code == 4401


def test_due_at_is_kept_as_wall_time_beside_the_simulated_due_s(live):
    wms = live.client("wms")
    r = wms.post("/api/v1/orders", json={
        "id": "DUE-1", "lines": [{"sku": "SKU-0003", "quantity": 1}],
        "due_at": "2030-01-02T03:04:05+01:00",
    })
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["due_at"] == "2030-01-02T02:04:05.000Z"  # normalised to UTC
    assert body["due_s"] > body["created_s"]  # derived: in the future on the simulated line
    assert wms.get("/api/v1/orders/DUE-1").json()["due_at"] == body["due_at"]
    both = wms.post("/api/v1/orders", json={
        "id": "DUE-2", "lines": [{"sku": "SKU-0003", "quantity": 1}],
        "due_at": "2030-01-02T02:04:05Z", "due_s": 7.0,
    })
    assert both.status_code == 201 and both.json()["due_s"] == 7.0  # legacy value as given
    naive = wms.post("/api/v1/orders", json={
        "lines": [{"sku": "SKU-0003", "quantity": 1}], "due_at": "2030-01-02T02:04:05",
    })
    assert naive.status_code == 422 and naive.json()["error"]["field"] == "due_at"
