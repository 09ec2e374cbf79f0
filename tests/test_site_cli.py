"""`wcs validate-map` as a real subprocess: exit 0 with a summary, exit 2 with faults."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fleet_manager.cli", "validate-map", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_default_demo_map_validates() -> None:
    res = _run()
    assert res.returncode == 0, res.stderr
    line = res.stdout.strip()
    assert len(line.splitlines()) == 1
    assert "demo.yaml: ok:" in line and "32 robots" in line and "4 stations" in line
    assert "10 sorter lanes" in line and "800 AS/RS slots" in line


def test_bad_map_exits_2_with_one_fault_per_line() -> None:
    res = _run("tests/data/maps/queue_wall.yaml")
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert lines[0] == (
        "tests/data/maps/queue_wall.yaml: stations[ST1].queue[0] at (2, 7): "
        "queue cell is a wall, expected 'q'"
    )
    assert res.stdout == ""


def test_missing_file_exits_2() -> None:
    res = _run("maps/no-such-map.yaml")
    assert res.returncode == 2 and "cannot read" in res.stderr
