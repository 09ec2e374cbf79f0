"""Bad plant files and unreachable devices: one clear error or one alarm each, no traceback."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from plant_floor import LOOPBACK, PlantFloor, wait_until

REPO = Path(__file__).resolve().parents[1]
WCS = [sys.executable, "-m", "fleet_manager.cli"]


def _wcs(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*WCS, *args], check=False, cwd=REPO, capture_output=True, text=True, timeout=60,
                          env=env)


def _plant(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plant.yaml"
    path.write_text(text.replace("@REPO@", str(REPO)))
    return path


BAD_PLANTS = {
    "unknown adapter": ("""plant: 1
name: bad
site: {map: @REPO@/maps/tiny.yaml}
fleets: [{name: a, adapter: teleport, count: 2}]
""", "fleets[0].adapter"),
    "missing field": ("""plant: 1
site: {map: @REPO@/maps/tiny.yaml}
""", "name"),
    "bad broker URL": ("""plant: 1
name: bad
site: {map: @REPO@/maps/tiny.yaml}
fleets: [{name: a, adapter: vda5050, broker: "http://x", manufacturer: m, serials: [a1]}]
""", "fleets[0].broker"),
    "missing register map": ("""plant: 1
name: bad
site: {map: @REPO@/maps/demo.yaml}
plcs: [{name: p, role: sorter, transport: modbus-tcp, endpoint: "127.0.0.1:1",
        register_map: nowhere.yaml}]
""", "plcs[0].register_map"),
}


@pytest.mark.parametrize("case", sorted(BAD_PLANTS))
def test_a_bad_plant_file_is_one_clear_error(tmp_path: Path, case: str) -> None:
    text, field = BAD_PLANTS[case]
    run = _wcs("run", "--plant", str(_plant(tmp_path, text)), "--port", "0",
               "--data-dir", str(tmp_path / "data"))
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr and field in run.stderr, run.stderr
    assert not (tmp_path / "data").exists()  # nothing started, nothing written


def test_a_missing_plant_file_is_one_line(tmp_path: Path) -> None:
    run = _wcs("run", "--plant", str(tmp_path / "nope.yaml"), "--port", "0")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "nope.yaml" in run.stderr and len(run.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_devices_that_do_not_answer_are_one_alarm_each(tmp_path: Path) -> None:
    """Nothing listens where the plant points: the WCS starts anyway, raises one alarm per
    device and keeps retrying; `check-plant` says which devices are unreachable."""
    floor = PlantFloor(tmp_path)  # free ports, nothing started on them
    check = _wcs("check-plant", str(LOOPBACK), "--listen-s", "0.5", env=floor.env)
    assert check.returncode == 1 and "Traceback" not in check.stderr
    assert check.stdout.count(" NO ") >= 3, check.stdout
    try:
        floor.start_wcs()

        def alarms() -> dict[str, list[dict]]:
            found: dict[str, list[dict]] = {}
            for a in floor.get("/api/v1/alarms")["items"]:
                found.setdefault(f"{a['code']}@{a['resource_id']}", []).append(a)
            return found

        wanted = ("vda5050_broker_unreachable@fleet:amrs", "crane_link_lost@crane:CR1")
        seen = wait_until(lambda: (a := alarms()) and all(w in a for w in wanted) and a, 30,
                          "broker and crane alarms")
        assert all(len(seen[w]) == 1 for w in wanted), seen
        assert any(k.endswith("@plc:demo-sorter") for k in seen), seen
        # Still one each a few seconds later: retries do not raise again.
        time.sleep(3.0)
        again = alarms()
        assert all(len(again[w]) == 1 for w in wanted)
        robots = floor.get("/api/v1/robots")["items"]
        assert sorted(r["id"] for r in robots) == ["amr-01", "amr-02", "amr-03", "amr-04"]
    finally:
        floor.stop()
