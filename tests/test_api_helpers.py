"""Shared helpers for the API tests: a real uvicorn server on a free loopback port, clients."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from websockets.sync.client import connect

from fleet_manager.api.app import create_app
from fleet_manager.api.tokens import ROLES, issue_token
from fleet_manager.runtime import Runtime, RuntimeConfig
from fleet_manager.site import default_map_path, load_site
from fleet_manager.store import SqliteStore

_SITE = None


def demo_site() -> Any:
    global _SITE
    if _SITE is None:
        _SITE = load_site(default_map_path())
    return _SITE


def wait_for(check: Callable[[], Any], timeout_s: float = 30.0, what: str = "condition") -> Any:
    """Poll until `check()` is truthy; the timeout only bounds a hang, it asserts nothing."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class LiveServer:
    """Runtime + store + FastAPI app under uvicorn in a thread, on 127.0.0.1:<free port>."""

    def __init__(self, data_dir: Path, *, speed: float = 100.0, seed: int = 0):
        self.store = SqliteStore.in_dir(data_dir)
        self.runtime = Runtime(
            demo_site(), self.store, config=RuntimeConfig(speed=speed, seed=seed)
        )
        self.tokens = {role: issue_token(self.store, role, f"test-{role}").token for role in ROLES}
        self.runtime.start()
        self.app = create_app(self.runtime, monitor=False)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self.thread.start()
        wait_for(lambda: self.server.started, 30, "uvicorn to start")

    def client(self, role: str | None = "wms") -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return httpx.Client(base_url=self.base, headers=headers, timeout=30)

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.runtime.stop()
        self.store.close()


def ws_url(base: str, path: str) -> str:
    return base.replace("http://", "ws://") + path


def read_events(
    base: str, token: str, after: int | None, until: Callable[[list[dict]], bool], timeout_s=30.0
) -> list[dict]:
    """Open /api/v1/events, authenticate, collect events until `until(events)` holds."""
    got: list[dict] = []
    hello: dict[str, Any] = {"token": token}
    if after is not None:
        hello["after"] = after
    deadline = time.monotonic() + timeout_s
    with connect(ws_url(base, "/api/v1/events"), open_timeout=10) as ws:
        ws.send(json.dumps(hello))
        while not until(got):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"event stream: condition not met after {len(got)} events")
            got.extend(json.loads(ws.recv(timeout=left))["events"])
    return got


def serve_subprocess(data_dir: Path, port: int, speed: float) -> subprocess.Popen:
    """`wcs serve` over `data_dir` in its own process, returned once /health answers."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "fleet_manager.cli", "serve", "--data-dir", str(data_dir),
         "--port", str(port), "--speed", str(speed), "--quiet"],
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )

    def up() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"server died: {proc.stderr.read().decode()}")
        try:
            return httpx.get(f"http://127.0.0.1:{port}/api/v1/health").status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(up, 60, "wcs serve to answer")
    return proc
