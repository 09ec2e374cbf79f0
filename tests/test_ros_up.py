"""`wcs ros-up`: real node processes from the bringup params, driven by a ROS client process."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from sim.ros_up_cli import PROCESSES, RosPaths, ros_environment

REPO_ROOT = Path(__file__).resolve().parents[1]
WCS = [sys.executable, "-m", "fleet_manager.cli"]

CLIENT = textwrap.dedent("""
    import json, sys
    import rclpy
    from rclpy.node import Node
    from wcs_interfaces.msg import FleetState
    from wcs_interfaces.srv import SubmitTask
    from wcs_ros.qos import FLEET_STATE_QOS

    rclpy.init()
    node = Node('ros_up_client')
    fleet = []
    node.create_subscription(FleetState, 'fleet_state', fleet.append, FLEET_STATE_QOS)
    client = node.create_client(SubmitTask, 'submit_task')
    assert client.wait_for_service(timeout_sec=60), 'submit_task never appeared'
    future = client.call_async(SubmitTask.Request(kind='park', payload_json='{"robot": "R01"}'))
    rclpy.spin_until_future_complete(node, future, timeout_sec=60)
    bad = client.call_async(SubmitTask.Request(kind='nope'))
    rclpy.spin_until_future_complete(node, bad, timeout_sec=60)
    while not fleet:
        rclpy.spin_once(node, timeout_sec=1.0)
    print(json.dumps({'accepted': future.result().accepted, 'task_id': future.result().task_id,
                      'bad_error': bad.result().error,
                      'robots': sorted(r.id for r in fleet[-1].robots)}))
    node.destroy_node()
    rclpy.try_shutdown()
""")


def test_bad_input_names_the_fault() -> None:
    for args, needle in ((["--only", "fleet,warp"], "warp"), (["--domain-id", "999"], "999"),
                         (["--params", "/nonexistent/params.yaml"], "params file")):
        result = subprocess.run([*WCS, "ros-up", *args], capture_output=True, text=True, check=False,
                                timeout=60)
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and needle in lines[0], result.stderr


def test_launch_files_and_ros_up_start_the_same_executables() -> None:
    launch_dir = REPO_ROOT / "ros_ws" / "src" / "wcs_bringup" / "launch"
    launched = set()
    for path in launch_dir.glob("*.launch.py"):
        text = path.read_text()
        launched |= {p.executable for p in PROCESSES if f"executable='{p.executable}'" in text}
    assert launched == {p.executable for p in PROCESSES}
    setup_py = (REPO_ROOT / "ros_ws" / "src" / "wcs_ros" / "setup.py").read_text()
    for proc in PROCESSES:
        assert f"'{proc.executable} = {proc.module}:main'" in setup_py


@pytest.mark.ros
def test_ros_up_serves_tasks_and_stops_cleanly_on_sigint(tmp_path: Path) -> None:
    paths = RosPaths.default()
    if problem := paths.missing():
        pytest.skip(f"{problem}; make test builds it")
    domain = 1 + (os.getpid() + 50) % 100
    params = tmp_path / "params.yaml"
    doc = yaml.safe_load(paths.params_file.read_text())
    doc["wcs_simulator"]["ros__parameters"]["map_path"] = str(REPO_ROOT / "maps" / "tiny.yaml")
    params.write_text(yaml.safe_dump(doc))
    up = subprocess.Popen([*WCS, "ros-up", "--only", "fleet", "--domain-id", str(domain),
                           "--params", str(params)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    try:
        client = subprocess.run([str(paths.python), "-c", CLIENT], capture_output=True, check=False,
                                text=True, timeout=180, env=ros_environment(paths, domain))
        assert client.returncode == 0, client.stderr[-3000:]
        reply = json.loads(client.stdout.strip().splitlines()[-1])
        assert reply["accepted"] and reply["task_id"].startswith("RT-")
        assert "nope" in reply["bad_error"]
        assert reply["robots"] == ["R01", "R02", "R03"]
    finally:
        up.send_signal(signal.SIGINT)
        out, err = up.communicate(timeout=60)
    assert up.returncode == 0, err
    assert "started fleet" in out and "stopped" in out and "did not stop" not in err


def _lines(stream: Any, out: queue.Queue[str]) -> None:
    for line in iter(stream.readline, ""):
        out.put(line)


def _wait_for(lines: queue.Queue[str], seen: list[str], pattern: str, timeout_s: float) -> str:
    """The first line matching `pattern` (seen lines kept in `seen`); fails after timeout_s."""
    deadline = time.monotonic() + timeout_s
    for line in seen:
        if re.search(pattern, line):
            return line
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        seen.append(line)
        if re.search(pattern, line):
            return line
    raise AssertionError(f"no line matching {pattern!r} in:\n{''.join(seen)[-3000:]}")


@pytest.mark.ros
def test_ros_up_restarts_a_crashed_node_and_keeps_the_others(tmp_path: Path) -> None:
    paths = RosPaths.default()
    if problem := paths.missing():
        pytest.skip(f"{problem}; make test builds it")
    domain = 1 + (os.getpid() + 25) % 100
    params = tmp_path / "params.yaml"
    doc = yaml.safe_load(paths.params_file.read_text())
    doc["wcs_simulator"]["ros__parameters"]["map_path"] = str(REPO_ROOT / "maps" / "tiny.yaml")
    doc["wcs_asrs"]["ros__parameters"]["inventory_db"] = str(tmp_path / "asrs.db")
    params.write_text(yaml.safe_dump(doc))
    up = subprocess.Popen([*WCS, "ros-up", "--only", "fleet,asrs", "--domain-id", str(domain),
                           "--params", str(params)], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(up.stdout, lines), daemon=True).start()
    seen: list[str] = []
    try:
        fleet_pid = int(_wait_for(lines, seen, r"started fleet \(pid (\d+)\)", 60).split()[-1][:-1])
        asrs_pid = int(_wait_for(lines, seen, r"started asrs \(pid (\d+)\)", 60).split()[-1][:-1])
        _wait_for(lines, seen, r"serving AS/RS aisle", 60)
        os.kill(asrs_pid, signal.SIGKILL)  # a crash, as a segfault or an OOM kill would be
        _wait_for(lines, seen, r"asrs exited with code -9; restarting it", 30)
        restarted = _wait_for(lines, seen, r"restarted asrs \(pid (\d+)\)", 30)
        assert int(restarted.split()[-1][:-1]) != asrs_pid
        seen.clear()
        _wait_for(lines, seen, r"serving AS/RS aisle", 60)  # the new one is up
        os.kill(fleet_pid, 0)  # the fleet process was left alone
        assert up.poll() is None
    finally:
        up.send_signal(signal.SIGINT)
        up.wait(timeout=60)
    text = "".join(seen) + "".join(lines.get() for _ in range(lines.qsize()))
    assert up.returncode == 0, text[-3000:]
    assert "fleet exited" not in text and "stopped" in text
