"""`wcs run`, `wcs serve` and `wcs token create` as a user runs them (real subprocesses)."""

from __future__ import annotations

import signal
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from test_api_helpers import wait_for

from fleet_manager.cli import main

REPO = Path(__file__).resolve().parents[1]
WCS = [sys.executable, "-m", "fleet_manager.cli"]


def _start_run(data_dir: Path) -> tuple[subprocess.Popen, list[str]]:
    proc = subprocess.Popen(
        [
            *WCS,
            "run",
            "--data-dir",
            str(data_dir),
            "--port",
            "0",
            "--speed",
            "50",
            "--orders-per-h",
            "3600",
            "--quiet",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = []
    while True:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"wcs run ended early: {proc.stderr.read()}")
        lines.append(line.rstrip("\n"))
        if line.startswith("monitor: "):
            return proc, lines


def _stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    out, _err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    return out


@pytest.mark.slow
def test_run_creates_first_tokens_once_serves_and_stops_cleanly(tmp_path):
    proc, lines = _start_run(tmp_path)
    try:
        tokens = dict(line.split() for line in lines if line.startswith("  "))
        assert set(tokens) == {"wms", "technician", "viewer"}
        saved = tmp_path / "first-run-tokens.txt"
        assert stat.S_IMODE(saved.stat().st_mode) == 0o600
        assert all(token in saved.read_text() for token in tokens.values())
        url = lines[-1].split()[1]
        assert url.startswith("http://127.0.0.1:")
        me = httpx.get(
            f"{url}api/v1/me", headers={"Authorization": f"Bearer {tokens['technician']}"}
        )
        assert me.json()["role"] == "technician"
        page = httpx.get(url, follow_redirects=True)  # the monitor is served at /
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        viewer = {"Authorization": f"Bearer {tokens['viewer']}"}

        def generated() -> list:
            page = httpx.get(f"{url}api/v1/orders", params={"source": "generator"}, headers=viewer)
            return page.json()["items"]

        wait_for(generated, 60, "generated orders")
    finally:
        out = _stop(proc)
    assert "stopped cleanly" in out
    proc, lines = _start_run(tmp_path)  # second start: tokens exist, none printed
    _stop(proc)
    assert not [line for line in lines if "first start" in line]


def test_cli_refuses_bad_input_with_one_line(tmp_path, capsys):
    assert main(["serve", "--data-dir", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert "no database" in err and len(err.strip().splitlines()) == 1
    assert main(["run", "--map", str(tmp_path / "x.yaml"), "--data-dir", str(tmp_path)]) == 2
    assert "x.yaml" in capsys.readouterr().err
    assert (
        main(["token", "create", "--role", "wms", "--name", " ", "--data-dir", str(tmp_path)]) == 2
    )
    assert "name" in capsys.readouterr().err
    assert (
        main(
            [
                "token",
                "create",
                "--role",
                "viewer",
                "--name",
                "wall screen",
                "--data-dir",
                str(tmp_path),
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    assert captured.out.startswith("wcs_") and "wall screen" in captured.err
