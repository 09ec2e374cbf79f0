"""`wcs token create` and `wcs serve` on PostgreSQL (--database / WCS_DATABASE_URL): real
processes, a real throwaway server; orders, the event stream and KPI history survive a restart;
API-only processes beside one control plane take orders, commands and stream events."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from conftest import free_port
from test_api_helpers import read_events, wait_for

REPO = Path(__file__).resolve().parents[1]


def _wcs(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fleet_manager.cli", *args], cwd=REPO, capture_output=True,
        text=True, timeout=120, env={**os.environ, **(env or {})}, check=False,
    )


def _serve(url: str, data_dir: Path, port: int, *extra: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "fleet_manager.cli", "serve", "--database", url, "--data-dir",
         str(data_dir), "--port", str(port), "--speed", "200", "--quiet", *extra],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )

    def up() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"server died: {proc.stderr.read() if proc.stderr else ''}")
        try:
            return httpx.get(f"http://127.0.0.1:{port}/api/v1/health").status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(up, 60, "wcs serve on PostgreSQL to answer")
    return proc


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0


def test_serve_on_postgres_keeps_orders_events_and_history_across_restart(pg_server, tmp_path):
    url = pg_server.create_database()
    made = _wcs("token", "create", "--role", "wms", "--name", "erp", "--data-dir",
                str(tmp_path / "tok"), env={"WCS_DATABASE_URL": url})
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert not (tmp_path / "tok").exists()  # the token went to PostgreSQL, no SQLite file
    port = free_port()
    proc = _serve(url, tmp_path, port)
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as c:
            body = {"lines": [{"sku": "SKU-0001", "quantity": 1}]}
            r = c.post("/api/v1/orders", json=body, headers={"Idempotency-Key": "pg-1"})
            assert r.status_code == 201, r.text
            oid = r.json()["id"]
            again = c.post("/api/v1/orders", json=body, headers={"Idempotency-Key": "pg-1"})
            assert again.status_code == 201 and again.json()["id"] == oid
            wait_for(lambda: len(c.get("/api/v1/kpis/history").json()["items"]) >= 3, 60,
                     "KPI samples")
        events = read_events(base, token, 0, lambda got: any(
            e["topic"] == "order" and e["data"].get("id") == oid for e in got))
        seqs = [e["seq"] for e in events]
        assert seqs == list(range(1, len(seqs) + 1))
    finally:
        _stop(proc)
    proc = _serve(url, tmp_path, port)
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as c:
            assert c.get(f"/api/v1/orders/{oid}").json()["id"] == oid
            assert len(c.get("/api/v1/kpis/history").json()["items"]) >= 3
            last = c.get("/api/v1/health").json()["last_seq"]
        replay = read_events(base, token, 0, lambda got: len(got) >= last)
        assert [e["seq"] for e in replay][:last] == list(range(1, last + 1))
    finally:
        _stop(proc)


def test_bad_database_option_is_one_line_and_exit_2(tmp_path):
    r = _wcs("serve", "--database", "mysql://u:pw@h/db", "--data-dir", str(tmp_path))
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0
    assert "--database" in r.stderr and "pw" not in r.stderr
    r = _wcs("token", "create", "--role", "wms", "--name", "x", "--database",
             f"postgresql://u:secret@/nodb?host={tmp_path}")
    assert r.returncode == 2 and "secret" not in r.stderr and r.stderr.count("\n") == 1
    r = _wcs("serve", "--retention-days", "-1", "--data-dir", str(tmp_path), "--port", "0")
    assert r.returncode == 2 and "--retention-days" in r.stderr


def test_api_only_processes_hand_orders_and_commands_to_the_control_plane(pg_server, tmp_path):
    url = pg_server.create_database()
    made = [_wcs("token", "create", "--role", role, "--name", role, "--database", url)
            for role in ("wms", "technician")]
    assert all(m.returncode == 0 for m in made), [m.stderr for m in made]
    wms, tech = (m.stdout.strip() for m in made)
    ports = [free_port() for _ in range(3)]
    procs = [_serve(url, tmp_path / "control", ports[0])]
    try:
        procs += [_serve(url, tmp_path / f"api{i}", p, "--api-only")
                  for i, p in enumerate(ports[1:])]
        api = [httpx.Client(base_url=f"http://127.0.0.1:{p}", timeout=30,
                            headers={"Authorization": f"Bearer {wms}"}) for p in ports[1:]]
        ids = []
        for n in range(6):  # each order to one API process, its retry to the other
            body = {"lines": [{"sku": f"SKU-000{n % 4 + 1}", "quantity": 1}]}
            key = {"Idempotency-Key": f"multi-{n}"}
            first = api[n % 2].post("/api/v1/orders", json=body, headers=key)
            again = api[(n + 1) % 2].post("/api/v1/orders", json=body, headers=key)
            assert first.status_code == again.status_code == 201, first.text
            assert again.json()["id"] == first.json()["id"]
            ids.append(first.json()["id"])
        assert len(set(ids)) == 6
        # The control plane runs them: both API processes see them done, from the database.
        for c in api:
            wait_for(lambda c=c: all(c.get(f"/api/v1/orders/{i}").json()["state"] == "done"
                                     for i in ids), 120, "orders done on the control plane")
        # The event stream of an API-only process carries the control plane's events.
        base = f"http://127.0.0.1:{ports[2]}"
        events = read_events(base, wms, 0, lambda got: {e["data"].get("order_id")
                             for e in got if e["topic"] == "order" and e["kind"] == "done"}
                             >= set(ids))
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        # Commands and live state go through the inbox to the control plane and back.
        with httpx.Client(base_url=base, timeout=30,
                          headers={"Authorization": f"Bearer {tech}"}) as t:
            robots = wait_for(lambda: t.get("/api/v1/robots").json()["items"], 30, "a snapshot")
            rid = robots[0]["id"]
            r = t.post(f"/api/v1/robots/{rid}/commands", json={"command": "pause"})
            assert r.status_code == 200 and r.json()["accepted"], r.text
            wait_for(lambda: next(x for x in t.get("/api/v1/robots").json()["items"]
                                  if x["id"] == rid).get("paused"), 30, "the robot paused")
            r = t.post("/api/v1/robots/NO-SUCH/commands", json={"command": "pause"})
            assert r.status_code == 404 and r.json()["error"]["field"] == "robot_id"
            assert t.get("/api/v1/health").json()["sim_time_s"] > 0
            r = t.get("/api/v1/asrs")
            assert r.status_code == 503 and r.json()["error"]["code"] == "control_plane_only"
    finally:
        for proc in reversed(procs):
            _stop(proc)


def test_run_on_postgres_writes_first_run_tokens_into_a_new_data_dir(pg_server, tmp_path):
    url, port, data_dir = pg_server.create_database(), free_port(), tmp_path / "new" / "data"
    proc = subprocess.Popen(
        [sys.executable, "-m", "fleet_manager.cli", "run", "--database", url, "--data-dir",
         str(data_dir), "--port", str(port), "--no-plc", "--quiet", "--speed", "50"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        def up() -> bool:
            if proc.poll() is not None:
                raise AssertionError(proc.stderr.read() if proc.stderr else "exited")
            try:
                return httpx.get(f"http://127.0.0.1:{port}/api/v1/health").status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, 60, "wcs run on PostgreSQL")
        lines = (data_dir / "first-run-tokens.txt").read_text().split("\n")
        token = next(line.split()[1] for line in lines if line.startswith("viewer"))
        me = httpx.get(f"http://127.0.0.1:{port}/api/v1/me",
                       headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and me.json()["role"] == "viewer"
        assert not (data_dir / "wcs.sqlite3").exists()
    finally:
        _stop(proc)
