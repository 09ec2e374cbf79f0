"""kill -9 of `wcs serve` during a burst of order intake: nothing acknowledged is lost, nothing
runs twice, and the event stream resumes from the client's last sequence number without a gap."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from test_api_helpers import serve_subprocess, wait_for, ws_url
from websockets.sync.client import connect

from fleet_manager.child_process import free_loopback_port

REPO = Path(__file__).resolve().parents[1]
N_ORDERS = 80
KILL_AFTER = 30


def _serve(data_dir: Path, port: int) -> subprocess.Popen:
    return serve_subprocess(data_dir, port, speed=100)


class EventTap:
    """A WebSocket client that keeps every event it receives, and remembers the last seq."""

    def __init__(self, base: str, token: str, after: int):
        self.events: list[dict] = []
        self._ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(base, token, after), daemon=True)
        self.thread.start()
        assert self._ready.wait(30), "event stream did not open"

    def _run(self, base: str, token: str, after: int) -> None:
        try:
            with connect(ws_url(base, "/api/v1/events"), open_timeout=10) as ws:
                ws.send(json.dumps({"token": token, "after": after}))
                self._ready.set()
                while True:
                    self.events.extend(json.loads(ws.recv())["events"])
        except Exception:  # noqa: BLE001 - the server was killed or the test ended
            return

    @property
    def last_seq(self) -> int:
        return self.events[-1]["seq"] if self.events else 0


def _post(client: httpx.Client, i: int) -> tuple[int, int | None]:
    body = {"id": f"K-{i:04d}", "lines": [{"sku": f"SKU-{1 + i % 40:04d}", "quantity": 1 + i % 2}]}
    try:
        r = client.post("/api/v1/orders", json=body, headers={"Idempotency-Key": f"key-{i}"})
        return i, r.status_code
    except httpx.HTTPError:
        return i, None  # outcome unknown: the server died mid-request


@pytest.mark.slow
def test_kill_9_during_burst_loses_nothing_and_runs_nothing_twice(tmp_path):
    token = subprocess.run(
        [
            sys.executable,
            "-m",
            "fleet_manager.cli",
            "token",
            "create",
            "--role",
            "wms",
            "--name",
            "kill-test",
            "--data-dir",
            str(tmp_path),
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    headers = {"Authorization": f"Bearer {token}"}
    port = free_loopback_port()
    base = f"http://127.0.0.1:{port}"
    proc = _serve(tmp_path, port)
    tap = EventTap(base, token, 0)
    acked: set[int] = set()
    unknown: set[int] = set()
    killed = threading.Event()

    def record(result: tuple[int, int | None]) -> None:
        i, status = result
        if status == 201:
            acked.add(i)
            if len(acked) >= KILL_AFTER and not killed.is_set():
                killed.set()
                os.kill(proc.pid, signal.SIGKILL)  # mid-burst: other requests are in flight
        else:
            unknown.add(i)

    with (
        httpx.Client(base_url=base, headers=headers, timeout=10) as client,
        ThreadPoolExecutor(8) as pool,
    ):
        for result in pool.map(lambda i: _post(client, i), range(N_ORDERS)):
            record(result)
    proc.wait(timeout=30)
    assert killed.is_set() and unknown, "the kill should have cut the burst short"
    seen_before = list(tap.events)

    proc = _serve(tmp_path, port)
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            stored = {o["id"] for o in _all_orders(client)}
            assert {f"K-{i:04d}" for i in acked} <= stored  # every 201 survived the kill
            # Retrying the unknown outcomes with their keys is safe: same order, never a second.
            for i in sorted(unknown):
                i, status = _post(client, i)
                assert status == 201
            tap2 = EventTap(base, token, tap.last_seq)
            orders = wait_for(
                lambda: _finished(client), 90, "every order to finish after the restart"
            )
        assert sorted(o["id"] for o in orders) == [f"K-{i:04d}" for i in range(N_ORDERS)]
        log = tap.events[: len(seen_before)] + wait_for(
            lambda: tap2.events if tap2.events and _has_all_done(tap2.events, orders) else None,
            30,
            "the resumed stream to deliver the completions",
        )
        seqs = [e["seq"] for e in log]
        assert seqs == list(range(1, len(seqs) + 1))  # resumed exactly after the last seen seq
        picked: Counter[str] = Counter()
        done: Counter[str] = Counter()
        for e in log:
            if e["topic"] == "pick" and e["kind"] == "confirmed":
                picked[e["data"]["order_id"]] += e["data"]["picked"]
            if e["topic"] == "order" and e["kind"] == "done":
                done[e["data"]["order_id"]] += 1
        for order in orders:
            units = sum(line["quantity"] for line in order["lines"])
            assert done[order["id"]] == 1, order["id"]
            assert picked[order["id"]] == units, order["id"]  # picked once, never twice
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0


def _all_orders(client: httpx.Client) -> list[dict]:
    out, cursor = [], 0
    while cursor is not None:
        page = client.get("/api/v1/orders", params={"limit": 500, "after": cursor}).json()
        out += page["items"]
        cursor = page["next_cursor"]
    return out


def _finished(client: httpx.Client) -> list[dict] | None:
    orders = _all_orders(client)
    return orders if orders and all(o["state"] == "done" for o in orders) else None


def _has_all_done(events: list[dict], orders: list[dict]) -> bool:
    last = max(o["done_s"] for o in orders)
    return any(e["topic"] == "order" and e["kind"] == "done" and e["at_s"] >= last for e in events)
