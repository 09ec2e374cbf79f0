"""ROS 2 integration tests: run ros_ws/src/wcs_ros/test with the ROS venv's python and real rclpy.

The ROS venv and workspace come from scripts/setup-ros.sh (the Makefile's `ros` target, which
`make test` runs first). Each run gets its own ROS_DOMAIN_ID and localhost-only discovery.
"""

from __future__ import annotations

import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sim.ros_up_cli import RosPaths, ros_environment

pytestmark = pytest.mark.ros
REPO_ROOT = Path(__file__).resolve().parents[1]
ROS_TESTS = REPO_ROOT / "ros_ws" / "src" / "wcs_ros" / "test"


def domain_id() -> int:
    """Distinct per test process; 1..100 keeps Fast DDS ports below the ephemeral range."""
    return 1 + os.getpid() % 100


@pytest.fixture(scope="module")
def ros_suite(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[str, str]]]:
    """Run ros_ws/src/wcs_ros/test once (one interpreter start); outcomes per file from the JUnit XML."""
    paths = RosPaths.default()
    problem = paths.missing()
    if problem:
        pytest.skip(f"{problem}; make test builds it")
    report = tmp_path_factory.mktemp("ros") / "junit.xml"
    result = subprocess.run(
        [str(paths.python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfE",
         f"--junitxml={report}", str(ROS_TESTS)],
        cwd=REPO_ROOT, env=ros_environment(paths, domain_id()), capture_output=True, text=True,
        timeout=900, check=False,
    )
    if not report.exists():
        pytest.fail(f"ROS test run produced no report:\n{result.stdout[-4000:]}\n"
                    f"{result.stderr[-3000:]}")
    outcomes: dict[str, list[tuple[str, str]]] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        module = case.get("classname", "").split(".")[-1]
        failed = case.find("failure") if case.find("failure") is not None else case.find("error")
        outcome = "skipped" if case.find("skipped") is not None else "failed" if failed is not None \
            else "passed"
        detail = (failed.get("message", "") + "\n" + (failed.text or ""))[-3000:] if failed \
            is not None else ""
        outcomes.setdefault(f"{module}.py", []).append((f"{case.get('name')}: {outcome}", detail))
    return outcomes


@pytest.mark.parametrize("test_file", sorted(p.name for p in ROS_TESTS.glob("test_*.py")))
def test_ros_suite(ros_suite: dict[str, list[tuple[str, str]]], test_file: str) -> None:
    cases = ros_suite.get(test_file, [])
    assert cases, f"no test of {test_file} ran under the ROS venv"
    bad = [f"{name}\n{detail}" for name, detail in cases if not name.endswith(": passed")]
    assert not bad, "\n\n".join(bad)
