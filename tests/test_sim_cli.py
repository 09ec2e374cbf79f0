"""`wcs simulate`: deterministic JSON per seed, readable table, one-line errors with exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fleet_manager.cli import main

MAPS = Path(__file__).resolve().parents[1] / "maps"


def _run(args: list[str], hash_seed: str = "0") -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}  # set/dict order must not leak into results
    return subprocess.run(
        [sys.executable, "-m", "fleet_manager.cli", "simulate", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_json_is_identical_for_identical_seeds() -> None:
    args = ["--map", str(MAPS / "demo.yaml"), "--hours", "0.1", "--seed", "4", "--json"]
    a, b = _run(args, "1"), _run(args, "2")
    assert a.returncode == 0, a.stderr
    ra, rb = json.loads(a.stdout), json.loads(b.stdout)
    assert set(ra) == {"kpis", "wall_clock"}
    assert ra["kpis"] == rb["kpis"]
    assert ra["kpis"]["conflicts"] == 0 and ra["kpis"]["units_picked"] > 0
    assert ra["kpis"]["seed"] == 4 and ra["kpis"]["map"] == "demo"


def test_table_output_and_policies(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "simulate",
            "--map",
            str(MAPS / "tiny.yaml"),
            "--hours",
            "0.05",
            "--policy",
            "order_station=fcfs",
            "--policy",
            "pod_selection=nearest",
            "--robots",
            "2",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    for label in (
        "orders completed",
        "units picked",
        "robot utilisation",
        "cycle time p50 / p95",
        "collisions",
        "sim s per wall s",
    ):
        assert label in out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--policy", "order_station=bogus"], "order_station: unknown policy 'bogus'"),
        (["--policy", "nonsense"], "expected NAME=VALUE"),
        (["--hours", "0"], "--hours must be > 0"),
    ],
)
def test_bad_options_exit_2_with_one_line(
    extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["simulate", "--map", str(MAPS / "tiny.yaml"), *extra])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_malformed_map_and_unknown_sku_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ncell_size_m: -1\nlayout: |\n  #Z#\n")
    assert main(["simulate", "--map", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.yaml" in err[0]
    orders = tmp_path / "orders.yaml"
    orders.write_text(
        "- {id: O1, at_s: 0, lines: [{sku: SKU-A, quantity: 1}]}\n"
        "- {id: O2, at_s: 5, lines: [{sku: SKU-NOPE, quantity: 1}]}\n"
    )
    assert main(["simulate", "--map", str(MAPS / "tiny.yaml"), "--orders", str(orders)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "orders[1].lines[0].sku: unknown SKU 'SKU-NOPE'" in err[0]


def test_orders_file_is_replayed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    orders = tmp_path / "orders.json"
    orders.write_text(
        json.dumps(
            [
                {"id": "O1", "at_s": 0, "lines": [{"sku": "SKU-A", "quantity": 2}]},
                {"id": "O2", "at_s": 30, "lines": [{"sku": "SKU-B", "quantity": 1}]},
            ]
        )
    )
    code = main(
        [
            "simulate",
            "--map",
            str(MAPS / "tiny.yaml"),
            "--hours",
            "0.1",
            "--json",
            "--orders",
            str(orders),
        ]
    )
    result = json.loads(capsys.readouterr().out)
    assert code == 0
    assert result["kpis"]["orders_completed"] == 2 and result["kpis"]["units_picked"] == 3
