"""ROS 2 integration tests: run ros_ws/tests with the ROS venv's python and real rclpy.

The ROS venv and workspace come from scripts/setup-ros.sh (the Makefile's `ros` target, which
`make test` runs first). Each run gets its own ROS_DOMAIN_ID and localhost-only discovery.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from sim.ros_up_cli import RosPaths, ros_environment

pytestmark = pytest.mark.ros
REPO_ROOT = Path(__file__).resolve().parents[1]
ROS_TESTS = REPO_ROOT / "ros_ws" / "tests"


def domain_id() -> int:
    """Distinct per test process; 1..100 keeps Fast DDS ports below the ephemeral range."""
    return 1 + os.getpid() % 100


@pytest.fixture(scope="module")
def ros_paths() -> RosPaths:
    paths = RosPaths.default()
    problem = paths.missing()
    if problem:
        pytest.skip(f"{problem}; make test builds it")
    return paths


@pytest.mark.parametrize("test_file", sorted(p.name for p in ROS_TESTS.glob("test_*.py")))
def test_ros_suite(ros_paths: RosPaths, test_file: str) -> None:
    env = ros_environment(ros_paths, domain_id())
    result = subprocess.run(
        [str(ros_paths.python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfE",
         str(ROS_TESTS / test_file)],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )
    summary = result.stdout.strip().splitlines()[-1:] or ["(no output)"]
    assert result.returncode == 0, (
        f"{test_file} under the ROS venv failed ({summary[0]}):\n"
        f"{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    )
    assert " passed" in summary[0] and "skipped" not in summary[0], summary[0]
