"""kill -9 of `wcs serve` and a restart (issue 19): a locked-out robot stays out of service, a
faulted robot stays faulted (and gets no work) until a technician clears the fault, and the
pods hold the stock the last run left (per SKU and pod), not what the map stocks them with."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from test_api_helpers import serve_subprocess, wait_for

from fleet_manager.child_process import free_loopback_port
from fleet_manager.store.sqlite import DB_FILE_NAME

REPO = Path(__file__).resolve().parents[1]


def _token(data_dir: Path, role: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "fleet_manager.cli", "token", "create", "--role", role,
         "--name", f"states-{role}", "--data-dir", str(data_dir)],
        cwd=REPO, check=True, capture_output=True, text=True,
    ).stdout.strip()


def _stored_states(data_dir: Path) -> dict:
    with sqlite3.connect(data_dir / DB_FILE_NAME) as conn:
        row = conn.execute("SELECT value FROM meta WHERE key = 'robot_states'").fetchone()
    return json.loads(row[0]) if row else {}


def _stock(client: httpx.Client, skus: list[str]) -> dict[str, dict[str, int]]:
    """Units per SKU and pod, from the where-is API."""
    out = {}
    for sku in skus:
        found = client.get(f"/api/v1/inventory/skus/{sku}").json()
        out[sku] = {p["pod_id"]: p["quantity"] for p in found["locations"]}
    return out


def _robot(client: httpx.Client, rid: str) -> dict:
    r = client.get(f"/api/v1/robots/{rid}")
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.slow
def test_kill_9_keeps_lock_out_and_fault_until_cleared(tmp_path: Path) -> None:
    tech = {"Authorization": f"Bearer {_token(tmp_path, 'technician')}"}
    wms = {"Authorization": f"Bearer {_token(tmp_path, 'wms')}"}
    port = free_loopback_port()
    base = f"http://127.0.0.1:{port}/api/v1"
    proc = serve_subprocess(tmp_path, port, speed=50)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=tech, timeout=30) as c:
        robots = [r["id"] for r in c.get("/api/v1/robots").json()["items"]]
        locked, faulted = robots[0], robots[1]
        r = c.post(f"/api/v1/robots/{locked}/commands", json={"command": "out_of_service"})
        assert r.status_code == 200, r.text
        r = c.post(f"/api/v1/sim/robots/{faulted}/fault", json={"code": "bumper_hit"})
        assert r.status_code == 200, r.text
        wait_for(
            lambda: (s := _stored_states(tmp_path)).get(locked, {}).get("out_of_service")
            and s.get(faulted, {}).get("fault") == "bumper_hit",
            30, "the states of record to be committed",
        )
        skus = [f"SKU-{n:04d}" for n in (11, 12, 13)]
        with httpx.Client(base_url=base, headers=wms, timeout=30) as w:
            for i, sku in enumerate(skus):
                body = {"id": f"P-{i}", "lines": [{"sku": sku, "quantity": 2}]}
                assert w.post("/orders", json=body).status_code == 201
            wait_for(lambda: all(w.get(f"/orders/P-{i}").json()["state"] == "done"
                                 for i in range(3)), 120, "the picks before the kill")
        stock_before = _stock(c, skus)
        before = {t["id"] for t in c.get("/api/v1/tasks", params={"limit": 500}).json()["items"]}
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)

    proc = serve_subprocess(tmp_path, port, speed=50)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=tech, timeout=30) as c:
            assert _robot(c, locked)["out_of_service"] is True
            assert _stock(c, skus) == stock_before  # picked units stay picked
            bad = _robot(c, faulted)
            assert bad["state"] == "fault" and bad["error"] == "bumper_hit"
            resume = c.post(f"/api/v1/robots/{faulted}/commands", json={"command": "resume"})
            assert resume.status_code == 409 and "clear_fault" in resume.text
            with httpx.Client(base_url=base, headers=wms, timeout=30) as w:
                for i in range(6):
                    body = {"id": f"S-{i}", "lines": [{"sku": f"SKU-{1 + i:04d}", "quantity": 1}]}
                    assert w.post("/orders", json=body).status_code == 201
                wait_for(
                    lambda: all(w.get(f"/orders/S-{i}").json()["state"] == "done"
                                for i in range(6)),
                    120, "the orders to be served by the other robots",
                )
                tasks = [t for t in w.get("/tasks", params={"limit": 500}).json()["items"]
                         if t["id"] not in before]  # this run's tasks only
            assert any(t.get("resource_id") for t in tasks)  # others did the work
            assert not [t for t in tasks if t.get("resource_id") in (locked, faulted)]
            cleared = c.post(f"/api/v1/robots/{faulted}/commands", json={"command": "clear_fault"})
            assert cleared.status_code == 200, cleared.text
            wait_for(lambda: _robot(c, faulted)["state"] != "fault", 30, "the fault to clear")
            assert _robot(c, faulted)["error"] is None
            # The dead run's alarm was cleared at the restart, the new run's by clear_fault.
            def mine() -> list[dict]:
                return [a for a in c.get("/api/v1/alarms").json()["items"]
                        if a["resource_id"] == f"robot:{faulted}"]

            wait_for(lambda: all(a["cleared_at"] for a in mine()), 30, "the alarms cleared")
            assert len(mine()) >= 2  # the dead run's (cleared at restart) and this run's
            assert _robot(c, locked)["out_of_service"] is True  # still locked out
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
