"""Acceptance on loopback (issue 15): `wcs sim-equipment` + `wcs run --plant`, every device its
own process over its real protocol, the control plane on the wall clock; then faults."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator

import pytest
from plant_floor import LOOPBACK, PlantFloor, wait_until

from fleet_manager.plant import load_plant
from fleet_manager.runtime.order_totes import item_barcodes

pytestmark = pytest.mark.slow
SITE = load_plant(LOOPBACK, env={}).site
# SKUs with the most units on pods (so orders never run short), and one the AS/RS holds.
POD_SKUS = sorted(
    {sku for p in SITE.pods.values() for sku in p.inventory},
    key=lambda s: (-sum(p.inventory.get(s, 0) for p in SITE.pods.values()), s),
)[:6]
ASRS_SKU = min(SITE.skus)  # the AS/RS seeds totes of the first SKUs


@pytest.fixture(scope="module")
def floor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlantFloor]:
    f = PlantFloor(tmp_path_factory.mktemp("plant"))
    try:
        f.start_equipment()
        f.start_wcs()
        wait_until(lambda: all(r["connection"] == "ONLINE" and r["x_m"] is not None
                               for r in f.get("/api/v1/robots")["items"]),
                   30, "every vehicle online and localised")
        yield f
    finally:
        f.stop()


def _order(floor: PlantFloor, sku: str, key: str) -> str:
    with floor.client("wms") as c:
        r = c.post("/api/v1/orders", headers={"Idempotency-Key": key},
                   json={"lines": [{"sku": sku, "quantity": 1}], "priority": 1})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _confirmed(floor: PlantFloor) -> dict[str, int]:
    """Barcode -> lane number each item physically went to (the sim PLC's own log)."""
    path = floor.tmp / "equipment" / "plc-demo-sorter" / "events.jsonl"
    found: dict[str, int] = {}
    for line in path.read_text().splitlines() if path.exists() else []:
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line being written
        if entry.get("event") == "item_confirmed" and entry.get("lane"):
            found[entry["barcode"]] = entry["lane"]
    return found


def _state(floor: PlantFloor, kind: str, ident: str) -> dict:
    return floor.get(f"/api/v1/{kind}/{ident}", "wms")


def test_orders_and_asrs_moves_complete_on_the_wall_clock(floor: PlantFloor) -> None:
    started = time.monotonic()
    orders = [_order(floor, sku, f"accept-{i}") for i, sku in enumerate(POD_SKUS[:3])]
    with floor.client("wms") as c:
        store = c.post("/api/v1/tasks", json={"kind": "asrs_store", "payload": {
            "aisle_id": "AS1", "sku": ASRS_SKU, "quantity": 2, "tote_id": "LOOP-IN-1"}})
        retrieve = c.post("/api/v1/tasks", json={"kind": "asrs_retrieve", "payload": {
            "aisle_id": "AS1", "sku": ASRS_SKU, "quantity": 1}})
    assert store.status_code == 201 and retrieve.status_code == 201, (store.text, retrieve.text)
    tasks = [store.json()["id"], retrieve.json()["id"]]
    done = wait_until(
        lambda: all(_state(floor, "orders", o)["state"] == "done" for o in orders), 240,
        "three orders done")
    assert done
    wait_until(lambda: all(_state(floor, "tasks", t)["state"] == "done" for t in tasks), 120,
               "both AS/RS moves done")
    latency = [(_state(floor, "orders", o)["done_s"] - _state(floor, "orders", o)["created_s"])
               for o in orders]
    print(f"order latency on the wall clock: {[round(x, 1) for x in latency]} s, "
          f"all within {time.monotonic() - started:.0f} s")
    # Every order's items reached that order's lane on the sorter, as the PLC itself records.
    lanes = SITE.sorters["SRT1"].lanes
    for o in orders:
        units = sum(ln["picked"] for ln in _state(floor, "orders", o)["lines"])
        wanted = item_barcodes(o, units)
        landed = wait_until(lambda w=wanted: (got := _confirmed(floor)) and
                            all(b in got for b in w) and got, 120, f"the items of {o} sorted")
        where = {lanes[landed[b] - 1].id for b in wanted}
        assert len(where) == 1 and lanes[landed[wanted[0]] - 1].role == "order", (o, where)
    # The crane really moved: its PLC counts the telegrams it executed.
    aisle = floor.get("/api/v1/asrs")["items"][0]
    assert aisle["crane"]["link"] == "up" and aisle["cycles_run"] >= 2
    # The robots are the plant's vehicles, over VDA 5050, none simulated in-process.
    robots = floor.get("/api/v1/robots")["items"]
    assert sorted(r["id"] for r in robots) == ["amr-01", "amr-02", "amr-03", "amr-04"]
    assert "/api/v1/sim/robots/{robot_id}/fault" not in floor.get("/openapi.json")["paths"]


def test_a_sort_task_with_a_barcode_runs_on_the_sorter_plc(floor: PlantFloor) -> None:
    lanes = SITE.sorters["SRT1"].lanes
    lane = next(ln for ln in lanes if ln.role == "order" and ln.id != lanes[0].id)
    with floor.client("wms") as c:
        r = c.post("/api/v1/tasks", json={"kind": "sort", "payload": {
            "sorter_id": "SRT1", "lane_id": lane.id, "barcode": "WMSITEM0001"}})
    assert r.status_code == 201, r.text
    task = wait_until(lambda: (t := _state(floor, "tasks", r.json()["id"]))["state"]
                      in ("done", "failed") and t, 120, "the sort task to end")
    assert task["state"] == "done", task["history"]
    landed = wait_until(lambda: _confirmed(floor).get("WMSITEM0001"), 30, "the PLC's record")
    assert lanes[landed - 1].id == lane.id  # where the PLC itself put it


def test_a_killed_vehicle_hands_its_task_to_another(floor: PlantFloor) -> None:
    order = _order(floor, POD_SKUS[3], "kill-vehicle")

    def carrier() -> dict | None:
        for r in floor.get("/api/v1/robots")["items"]:
            if r["state"] == "to_pod" and r["task_id"]:
                return r
        return None

    victim = wait_until(carrier, 60, "a vehicle driving to its pod")
    task_id, dead = victim["task_id"], victim["id"]
    os.kill(floor.pids[f"vehicle-{dead}"], signal.SIGKILL)
    killed_at = time.monotonic()
    task = wait_until(
        lambda: (t := _state(floor, "tasks", task_id))["resource_id"] not in (None, dead)
        and t["state"] in ("assigned", "active", "done") and t, 60, "the task on another vehicle")
    reassigned_s = time.monotonic() - killed_at
    print(f"vehicle death to re-assignment: {reassigned_s:.2f} s")
    reasons = [h["reason"] for h in task["history"] if h["to"] == "queued"]
    assert any(dead in r for r in reasons), task["history"]
    alarms = floor.get("/api/v1/alarms")["items"]
    assert [a for a in alarms if a["resource_id"] == f"robot:{dead}"]
    wait_until(lambda: _state(floor, "orders", order)["state"] == "done", 240, "the order done")


def test_a_silent_vehicle_stalls_nobody_and_comes_back(floor: PlantFloor) -> None:
    """SIGSTOP of one vehicle (a hang, not a death): the others finish an order meanwhile, the
    silent one is taken out after its state timeout, and after SIGCONT it reconnects."""
    robots = floor.get("/api/v1/robots")["items"]
    idle = next(r for r in robots if r["connection"] == "ONLINE" and not r["task_id"])
    pid = floor.pids[f"vehicle-{idle['id']}"]
    os.kill(pid, signal.SIGSTOP)
    try:
        order = _order(floor, POD_SKUS[3], "while-one-is-silent")
        wait_until(lambda: _state(floor, "orders", order)["state"] == "done", 180,
                   "the order done by the other vehicles")
        silent = wait_until(
            lambda: (r := {x["id"]: x for x in floor.get("/api/v1/robots")["items"]}[idle["id"]])
            ["connection"] != "ONLINE" and r, 40, "the silent vehicle taken out")
        assert silent["task_id"] is None
    finally:
        os.kill(pid, signal.SIGCONT)
    wait_until(lambda: {x["id"]: x for x in floor.get("/api/v1/robots")["items"]}[idle["id"]]
               ["connection"] == "ONLINE", 60, "the vehicle back online")


def test_a_killed_plc_is_one_alarm_and_the_bridge_recovers(floor: PlantFloor) -> None:
    def plc_alarms() -> list[dict]:
        return [a for a in floor.get("/api/v1/alarms")["items"]
                if a["resource_id"] == "plc:demo-sorter" and a["code"] == "plc_connection_lost"]

    before = {a["id"] for a in plc_alarms()}
    old_pid = floor.pids["plc-demo-sorter"]
    os.kill(old_pid, signal.SIGKILL)
    new = wait_until(lambda: [a for a in plc_alarms() if a["id"] not in before], 30,
                     "the connection alarm")
    wait_until(lambda: floor.pids["plc-demo-sorter"] != old_pid, 30, "the PLC restarted")
    wait_until(lambda: all(a["state"] == "cleared" for a in plc_alarms()
                           if a["id"] not in before), 60, "the alarm cleared")
    assert len([a for a in plc_alarms() if a["id"] not in before]) == len(new) == 1
    lanes = floor.get("/api/v1/lanes")["items"]
    assert lanes and all("enabled" in lane for lane in lanes)


def test_a_killed_wcs_run_loses_and_doubles_no_order(floor: PlantFloor) -> None:
    orders = [_order(floor, POD_SKUS[4 + i % 2], f"restart-{i}") for i in range(4)]
    last_created_s = max(_state(floor, "orders", o)["created_s"] for o in orders)
    floor.kill_wcs()
    floor.start_wcs()
    # Wall-clock time continues across the restart (it does not start at 0 again).
    later = _order(floor, POD_SKUS[4], "after-restart")
    assert _state(floor, "orders", later)["created_s"] > last_created_s
    orders.append(later)
    listed = [o["id"] for o in floor.get("/api/v1/orders?limit=200", "wms")["items"]]
    assert all(listed.count(o) == 1 for o in orders)
    seen_double: list[dict] = []

    def all_done() -> bool:
        robots = floor.get("/api/v1/robots")["items"]
        tasks = [r["task_id"] for r in robots if r["task_id"]]
        if len(tasks) != len(set(tasks)):
            seen_double.append({r["id"]: r["task_id"] for r in robots})
        return all(_state(floor, "orders", o)["state"] == "done" for o in orders)

    wait_until(all_done, 300, "the orders done after the restart")
    assert not seen_double
    # Again exactly once each, with every unit picked once.
    for o in orders:
        body = _state(floor, "orders", o)
        assert [(ln["quantity"], ln["picked"]) for ln in body["lines"]] == [(1, 1)]
