"""benchmarks/mapf_throughput.py end to end on a tiny map: figures, paths file, re-validation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "mapf_throughput.py"

TINY = """type octile
height 6
width 10
map
..........
.@@.@@.@@.
..........
.@@.@@.@@.
..........
..........
"""


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def tiny_map(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.map"
    path.write_text(TINY)
    return path


def test_run_reports_figures_and_writes_a_valid_paths_file(tiny_map: Path, tmp_path: Path) -> None:
    out = tmp_path / "paths.jsonl"
    res = run(
        "--map",
        str(tiny_map),
        "--agents",
        "8",
        "--steps",
        "60",
        "--variants",
        "guided",
        "--json",
        "--paths-out",
        str(out),
    )
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    (fig,) = summary["variants"]
    assert summary["ratio_to_bound"] == fig["ratio"] and summary["conflicts"] == 0
    assert fig["conflicts"] == 0 and fig["tasks_completed"] > 0
    assert 0 < fig["ratio"] <= 1.2
    lines = out.read_text().splitlines()
    assert len(lines) == 1 + 61 and len(json.loads(lines[1])) == 8
    check = run("--validate", str(out), "--json")
    assert check.returncode == 0 and json.loads(check.stdout)["conflicts"] == 0
    # Tamper: put agent 1 onto agent 0's cell at step 30 -> the validator must object.
    row = json.loads(lines[31])
    row[1] = row[0]
    lines[31] = json.dumps(row)
    out.write_text("\n".join(lines) + "\n")
    check = run("--validate", str(out), "--json")
    assert check.returncode == 1 and json.loads(check.stdout)["conflicts"] >= 1


def test_bad_input_exits_2_with_one_line(tiny_map: Path, tmp_path: Path) -> None:
    res = run("--map", str(tmp_path / "missing.map"))
    assert res.returncode == 2 and "missing.map" in res.stderr
    res = run("--map", str(tiny_map), "--variants", "warp")
    assert res.returncode == 2 and "warp" in res.stderr
    res = run("--map", str(tiny_map), "--agents", "500", "--steps", "2")
    assert res.returncode == 2 and "500 agents" in res.stderr


def test_variant_overrides_run_side_by_side(tiny_map: Path) -> None:
    res = run(
        "--map", str(tiny_map), "--agents", "6", "--steps", "30",
        "--variants", "guided,aisles/against_cost=2", "--json",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert [v["variant"] for v in summary["variants"]] == ["guided", "aisles/against_cost=2"]
    assert summary["variant"] == "aisles/against_cost=2" and summary["conflicts"] == 0
    bad = run("--map", str(tiny_map), "--variants", "aisles/against_cost")
    assert bad.returncode == 2 and "against_cost" in bad.stderr


def test_chunked_validation_counts_each_conflict_once() -> None:
    import importlib.util

    import numpy as np

    from fleet_manager.traffic.graph import MotionGraph
    from fleet_manager.traffic.validate import validate_paths

    spec = importlib.util.spec_from_file_location("mapf_throughput", SCRIPT)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    g = MotionGraph.from_grid(np.ones((1, 6), dtype=bool))  # a corridor 0..5
    paths = np.tile(np.array([0, 3]), (13, 1))
    paths[4] = [1, 1]  # vertex conflict on row 4 = a shared boundary row for rows=4
    paths[9] = [1, 2]
    paths[10] = [2, 1]  # swap between rows 9 and 10
    paths[12] = [5, 3]  # jump 0 -> 5: illegal move
    want = sorted((c.kind, tuple(c.nodes)) for c in validate_paths(g, paths))
    assert {"vertex", "swap", "edge"} <= {k for k, _ in want}
    for rows in (1, 2, 4, 5, 100):
        got = sorted((c.kind, tuple(c.nodes)) for c in bench.validate_in_chunks(g, paths, rows))
        assert got == want, rows
