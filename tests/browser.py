"""Browser-test helpers: headless Debian Chromium through Selenium, and a real `wcs run` process."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from fleet_manager.child_process import free_loopback_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
REPO = Path(__file__).resolve().parents[1]
WCS = REPO / ".venv" / "bin" / "wcs"

# The machine has no route outside loopback: these flags keep Chromium from trying.
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,900",
)


def browser_missing() -> str | None:
    """Why browser tests cannot run here, or None when Chromium and chromedriver are present."""
    if not os.path.exists(CHROMIUM):
        return f"chromium not installed ({CHROMIUM}); `make setup` installs it"
    if not os.path.exists(CHROMEDRIVER):
        return f"chromedriver not installed ({CHROMEDRIVER}); `make setup` installs chromium-driver"
    return None


def chromium_driver(profile_prefix: str):
    """A headless Chromium session (loopback-only flags) with its own empty profile; also used
    by benchmarks/monitor_load.py."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix=profile_prefix)}")
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def make_driver():
    """A fresh headless Chromium session with its own empty profile."""
    missing = browser_missing()
    if missing:
        pytest.skip(missing)
    return chromium_driver("wcs-chromium-")


free_port = free_loopback_port  # the monitor benchmark imports it from here


class WcsServer:
    """`wcs run` as a child process on a fixed port and data dir, so it can be killed and
    restarted exactly where it was."""

    def __init__(self, data_dir: Path, *, port: int | None = None, extra: tuple[str, ...] = ()):
        self.data_dir = data_dir
        self.port = port or free_port()
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir / "server.log"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 30.0) -> None:
        args = [str(WCS), "run", "--port", str(self.port), "--data-dir", str(self.data_dir)]
        args += ["--quiet", *self.extra]
        out = open(self.log, "ab")  # noqa: SIM115 - owned by the child process
        self.proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"wcs run exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                if httpx.get(f"{self.base}/api/v1/health", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"wcs run did not answer within {timeout_s} s: {self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, as in a crash."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""

    def token(self, role: str, name: str) -> str:
        done = subprocess.run(
            [str(WCS), "token", "create", "--role", role, "--name", name, "--data-dir", str(self.data_dir)],
            capture_output=True, text=True, check=True, cwd=REPO,
        )
        return done.stdout.strip().splitlines()[-1]

    def get(self, path: str, token: str) -> Any:
        res = httpx.get(f"{self.base}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        res.raise_for_status()
        return res.json()

    def post(self, path: str, token: str, body: dict[str, Any] | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.post(f"{self.base}{path}", headers=headers, json=body or {}, timeout=10)

    def live_snapshots(
        self, token: str, count: int, *, distinct_times: bool = False, limit: int = 200
    ) -> list[dict[str, Any]]:
        """`count` consecutive fleet snapshots from the /live WebSocket; with `distinct_times`,
        only the first of several sent at the same simulated time."""
        from websockets.sync.client import connect

        url = f"ws://127.0.0.1:{self.port}/api/v1/live"
        found: list[dict[str, Any]] = []
        with connect(url, open_timeout=10, max_size=None) as ws:
            ws.send(json.dumps({"token": token}))
            for _ in range(limit):
                snap = json.loads(ws.recv(timeout=10))
                if not (distinct_times and found and snap["time_s"] == found[-1]["time_s"]):
                    found.append(snap)
                if len(found) == count:
                    return found
        raise AssertionError(f"only {len(found)} of {count} snapshots in {limit} messages")

