"""Schemathesis against a live `wcs serve`: every check on, seeded, about a minute of requests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_api_helpers import serve_subprocess

from fleet_manager.api.tokens import issue_token
from fleet_manager.child_process import free_loopback_port
from fleet_manager.store import SqliteStore

pytestmark = pytest.mark.timeout(400)

TESTS = Path(__file__).resolve().parent
SEED = 20240522
MAX_EXAMPLES = 50  # per operation and phase: about a minute on a loaded 2-core box


def test_api_survives_schemathesis(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    store = SqliteStore.in_dir(data_dir)
    wms = issue_token(store, "wms", "fuzz-wms").token
    tech = issue_token(store, "technician", "fuzz-tech").token
    store.close()
    port = free_loopback_port()
    server = serve_subprocess(data_dir, port, speed=10.0)
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "fuzz_hooks",
        "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
        "WCS_FUZZ_WMS_TOKEN": wms,
        "WCS_FUZZ_TECH_TOKEN": tech,
    }
    cmd = [
        sys.executable, "-m", "schemathesis.cli",
        "--config-file", str(TESTS / "data" / "schemathesis.toml"),
        "run", f"http://127.0.0.1:{port}/openapi.json",
        "--checks", "all",
        "--seed", str(SEED),
        "--max-examples", str(MAX_EXAMPLES),
        "--workers", "1",
        "--request-timeout", "30",
        "--no-color",
    ]
    try:
        run = subprocess.run(
            cmd, check=False, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=360
        )
    finally:
        server.terminate()
        server.wait(30)
    report = run.stdout[-20000:] + run.stderr[-3000:]
    assert run.returncode == 0, report
    generated = re.search(r"(\d+) generated", report)
    assert generated is not None and int(generated.group(1)) > 0, report  # it really fuzzed
    assert " passed" in report, report
    assert server.returncode == 0, server.stderr.read().decode() if server.stderr else ""
