"""WMS pod_fetch through the live API: refused with 409 while the pod is held; clean payload."""

from __future__ import annotations

import pytest
from test_api_helpers import LiveServer, wait_for


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    # Slow clock: the first fetch still holds its pod when the second one arrives.
    server = LiveServer(tmp_path_factory.mktemp("api_pod_fetch"), speed=1.0)
    yield server
    server.close()


def _count_tasks(wms) -> int:
    return len(wms.get("/api/v1/tasks", params={"limit": 500}).json()["items"])


def test_second_fetch_of_a_held_pod_is_refused_and_nothing_stored(live):
    wms = live.client("wms")
    sent = {"pod_id": "POD-0007", "station_id": "ST1", "hold_s": 5.0}
    r = wms.post(
        "/api/v1/tasks",
        json={"kind": "pod_fetch", "payload": sent},
        headers={"Idempotency-Key": "fetch-7"},
    )
    assert r.status_code == 201, r.text
    first = r.json()["id"]
    # Wait until the dispatcher has accepted it (it claims the pod), then ask again.
    wait_for(
        lambda: live.runtime.sim.dispatcher.pods["POD-0007"].task_id == first,
        what="the first fetch to claim its pod",
    )
    tasks_before, seq_before = _count_tasks(wms), live.store.last_seq()
    again = {"pod_id": "POD-0007", "station_id": "ST1"}
    r2 = wms.post("/api/v1/tasks", json={"kind": "pod_fetch", "payload": again})
    assert r2.status_code == 409, r2.text
    err = r2.json()["error"]
    assert err["code"] == "pod_unavailable" and err["field"] == "payload.pod_id"
    assert "POD-0007" in err["reason"] and first in err["reason"]
    assert _count_tasks(wms) == tasks_before
    known = {t["id"] for t in wms.get("/api/v1/tasks", params={"limit": 500}).json()["items"]}
    later = live.store.events_after(seq_before, 10_000)
    strangers = [e for e in later if e.topic == "task" and e.data.get("task_id") not in known]
    assert strangers == [], strangers
    # A replay of the first create still answers its original 201 (idempotency first).
    r3 = wms.post(
        "/api/v1/tasks",
        json={"kind": "pod_fetch", "payload": sent},
        headers={"Idempotency-Key": "fetch-7"},
    )
    assert r3.status_code == 201 and r3.json()["id"] == first
    assert r3.headers.get("idempotent-replayed") == "true"
    # The stored payload is exactly what the WMS sent, nothing of the dispatcher's.
    assert wms.get(f"/api/v1/tasks/{first}").json()["payload"] == sent
    assert r.json()["payload"] == sent
