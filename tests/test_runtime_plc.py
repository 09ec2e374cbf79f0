"""`wcs run` with the simulated sorter PLC: PLC-backed lanes in the API, lane commands reaching
the PLC, an alarm when the PLC process dies, a restart that gets the lane flags back, and no
PLC process left behind after SIGINT."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from test_api_helpers import wait_for

from fleet_manager.site import default_map_path, load_site
from plc_bridge import codes

REPO = Path(__file__).resolve().parents[1]
DEMO = load_site(default_map_path())
SORTER_LANES = [lane.id for lane in DEMO.sorters["SRT1"].lanes]
CV1_LENGTH_M = DEMO.conveyors["CV1"].length_m
DISABLED_LANE = "L03"
DISABLED_NUMBER = SORTER_LANES.index(DISABLED_LANE) + 1  # on the wire: 1-based position


def _start_wcs(data_dir: Path, *extra: str) -> tuple[subprocess.Popen, dict[str, str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "fleet_manager.cli", "run", "--data-dir", str(data_dir)]
        + ["--port", "0", "--speed", "20", "--quiet", *extra],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: dict[str, str] = {}
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("plc:"):
            seen["plc"] = line
        if line.startswith("monitor:"):
            seen["base"] = line.split("API: ")[1].split("/api/v1/")[0]
            break
    if "base" not in seen:
        proc.kill()
        raise AssertionError(f"wcs run did not start: {proc.stderr.read() if proc.stderr else ''}")
    return proc, seen


def _tokens(data_dir: Path) -> dict[str, str]:
    rows = (data_dir / "first-run-tokens.txt").read_text().split("\n")
    return {role: token for role, token in (r.split() for r in rows if r.strip())}


def _lane_commands(data_dir: Path) -> list[list[int]]:
    """set_lane_enabled commands the simulated PLC executed (its own command log)."""
    found: list[list[int]] = []
    for path in (data_dir / "sim-plc" / "state").glob("*-commands.jsonl"):
        for line in path.read_text().splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line being written right now
            if entry["block"] == "command" and entry["code"] == codes.CMD_SET_LANE_ENABLED:
                found.append(entry["args"][:2])
    return found


def _plc_pids(data_dir: Path) -> list[int]:
    """Live simulated PLC processes started for this data dir."""
    pids = []
    for proc_dir in Path("/proc").iterdir():
        if not proc_dir.name.isdigit():
            continue
        try:
            cmd = (proc_dir / "cmdline").read_bytes().split(b"\0")
            state = (proc_dir / "stat").read_text().split(") ")[1][0]
        except OSError:
            continue
        if b"sim.plc.cli" in cmd and str(data_dir).encode() in b" ".join(cmd) and state != "Z":
            pids.append(int(proc_dir.name))
    return pids


def _live_conveyor_items(base: str, token: str) -> list[dict]:
    """The conveyor items of one /live snapshot (empty when none is tracked right now)."""
    from websockets.sync.client import connect

    with connect(base.replace("http://", "ws://") + "/api/v1/live", open_timeout=10) as ws:
        ws.send(json.dumps({"token": token}))
        return json.loads(ws.recv(timeout=10)).get("conveyor_items", [])


def _get(client: httpx.Client, path: str) -> list[dict]:
    r = client.get(path)
    assert r.status_code == 200, r.text
    return r.json()["items"]


@pytest.mark.timeout(120)
def test_wcs_run_drives_the_sorter_plc_and_survives_its_death(tmp_path):
    proc, seen = _start_wcs(tmp_path)
    try:
        tokens = _tokens(tmp_path)
        pid = int(seen["plc"].split(" pid ")[1].split()[0])
        assert _plc_pids(tmp_path) == [pid]
        tech = httpx.Client(
            base_url=seen["base"], headers={"Authorization": f"Bearer {tokens['technician']}"}
        )
        # Lanes come from the bridge: the PLC's fill words, in-flight diverts, connection.
        lanes = wait_for(
            lambda: [x for x in _get(tech, "/api/v1/lanes") if x.get("plc_connected")],
            30,
            "PLC-backed lanes",
        )
        assert [x["id"] for x in lanes] == SORTER_LANES
        assert {x["plc"] for x in lanes} == {"demo-sorter"}
        assert all("in_flight_items" in x and x["fill_items"] >= 0 for x in lanes)
        wait_for(
            lambda: sum(
                x["fill_items"] + x["in_flight_items"] for x in _get(tech, "/api/v1/lanes")
            ),
            30,
            "the PLC to sort items into lanes",
        )

        # Items the bridge tracks past the scanner show in the live snapshot, on the belt.
        items = wait_for(lambda: _live_conveyor_items(seen["base"], tokens["viewer"]), 30, "items")
        assert {x["conveyor_id"] for x in items} == {"CV1"}
        assert all(0.0 <= x["position_m"] <= CV1_LENGTH_M for x in items)
        assert all(x["lane"] in SORTER_LANES for x in items)

        r = tech.patch(f"/api/v1/lanes/{DISABLED_LANE}", json={"enabled": False})
        assert r.status_code == 200, r.text
        assert r.json()["items"][0]["enabled"] is False
        assert tech.patch("/api/v1/lanes/NOPE", json={"enabled": False}).status_code == 404
        wait_for(lambda: [DISABLED_NUMBER, 0] in _lane_commands(tmp_path), 15, "the PLC to get it")
        by_id = {x["id"]: x for x in _get(tech, "/api/v1/lanes")}
        assert by_id[DISABLED_LANE]["enabled"] is False and by_id["L04"]["enabled"] is True

        os.kill(pid, signal.SIGKILL)

        def plc_alarms() -> list[dict]:
            found = _get(tech, "/api/v1/alarms")
            return [a for a in found if a["resource_id"] == "plc:demo-sorter"]

        codes_seen = wait_for(
            lambda: (
                {a["code"] for a in plc_alarms()} >= {"plc_process_exited"}
                and {a["code"] for a in plc_alarms()}
            ),
            20,
            "a PLC alarm in /api/v1/alarms",
        )
        assert "plc_connection_lost" in codes_seen or "plc_heartbeat_stale" in codes_seen
        assert tech.get("/api/v1/health").status_code == 200  # the runtime kept running

        # The supervisor restarts the PLC; the bridge reconnects and re-sends the lane flag
        # that the new PLC process does not know.
        wait_for(
            lambda: _lane_commands(tmp_path).count([DISABLED_NUMBER, 0]) >= 2,
            30,
            "the restarted PLC to get the disabled lane again",
        )
        new_pids = wait_for(lambda: _plc_pids(tmp_path), 10, "the restarted PLC")
        assert pid not in new_pids
        wait_for(
            lambda: all(a["state"] == "cleared" for a in plc_alarms() if a["severity"] == "error"),
            20,
            "PLC alarms to clear after the restart",
        )
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "stopped cleanly" in out
    assert _plc_pids(tmp_path) == []


def test_no_plc_keeps_in_memory_lanes(tmp_path):
    proc, seen = _start_wcs(tmp_path, "--no-plc")
    try:
        assert "plc" not in seen and _plc_pids(tmp_path) == []
        viewer = httpx.Client(
            base_url=seen["base"],
            headers={"Authorization": f"Bearer {_tokens(tmp_path)['viewer']}"},
        )
        lanes = _get(viewer, "/api/v1/lanes")
        assert [x["id"] for x in lanes] == SORTER_LANES and all("plc" not in x for x in lanes)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    assert proc.returncode == 0


def test_bad_plc_config_is_refused(tmp_path):
    bad = tmp_path / "plc.yaml"
    bad.write_text("plc: {name: x, unit_id: 999}\nregisters: {}\n")
    r = subprocess.run(
        [sys.executable, "-m", "fleet_manager.cli", "run", "--data-dir", str(tmp_path)]
        + ["--port", "0", "--plc-config", str(bad)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 2
    assert "plc.unit_id" in r.stderr and len(r.stderr.strip().splitlines()) == 1
