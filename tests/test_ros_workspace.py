"""ROS workspace hygiene: package manifests, ament linters, params YAML against declarations."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from sim.ros_up_cli import RosPaths, ros_environment

pytestmark = pytest.mark.ros
REPO_ROOT = Path(__file__).resolve().parents[1]
WS_SRC = REPO_ROOT / "ros_ws" / "src"
PACKAGES = sorted(p.parent.name for p in WS_SRC.glob("*/package.xml"))
LINTED = [str(WS_SRC)]


@pytest.fixture(scope="module")
def ros_venv() -> RosPaths:
    paths = RosPaths.default()
    if not paths.python.exists():
        pytest.skip(f"ROS venv not found at {paths.venv}; make test builds it")
    return paths


def run(paths: RosPaths, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=REPO_ROOT, env=ros_environment(paths),
                          capture_output=True, text=True, timeout=300, check=False)


def test_all_three_packages_exist() -> None:
    assert PACKAGES == ["wcs_bringup", "wcs_interfaces", "wcs_ros"]


@pytest.mark.parametrize("package", PACKAGES)
def test_package_xml_passes_catkin_pkg_validation(ros_venv: RosPaths, package: str) -> None:
    script = (
        "import sys, warnings\n"
        "from catkin_pkg.package import parse_package\n"
        "found = []\n"
        "pkg = parse_package(sys.argv[1], warnings=found)\n"
        "pkg.validate(warnings=found)\n"
        "assert not found, found\n"
        "assert pkg.name == sys.argv[2], pkg.name\n"
        "assert all('@' in m.email for m in pkg.maintainers)\n"
        "print(pkg.get_build_type())\n"
    )
    result = run(ros_venv, str(ros_venv.python), "-c", script,
                 str(WS_SRC / package / "package.xml"), package)
    assert result.returncode == 0, result.stderr
    expected = "ament_python" if package == "wcs_ros" else "ament_cmake"
    assert result.stdout.strip() == expected


@pytest.mark.parametrize("linter", ["ament_flake8", "ament_pep257"])
def test_ament_linters_pass(ros_venv: RosPaths, linter: str) -> None:
    result = run(ros_venv, str(ros_venv.venv / "bin" / linter), *LINTED)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "No problems found" in result.stdout


def test_ament_flake8_finds_a_real_problem(ros_venv: RosPaths, tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text('"""Bad."""\nimport os\n')
    result = run(ros_venv, str(ros_venv.venv / "bin" / "ament_flake8"), str(tmp_path))
    assert result.returncode != 0 and "F401" in result.stdout


def test_params_yaml_sets_only_declared_parameters(ros_venv: RosPaths) -> None:
    """Every key of the bringup YAML is declared by its node, and every declaration is set."""
    script = (
        "import sys, yaml\n"
        "from wcs_ros import params as p\n"
        "tables = {'wcs_simulator': p.SIMULATOR_PARAMS, 'wcs_dispatcher': p.DISPATCHER_PARAMS,\n"
        "          'wcs_plc_bridge': p.PLC_BRIDGE_PARAMS, 'wcs_asrs': p.ASRS_PARAMS}\n"
        "doc = yaml.safe_load(open(sys.argv[1]))\n"
        "assert sorted(doc) == sorted(tables), sorted(doc)\n"
        "for node, table in tables.items():\n"
        "    declared = {q.name: q for q in table}\n"
        "    given = doc[node]['ros__parameters']\n"
        "    assert set(given) <= set(declared), (node, set(given) - set(declared))\n"
        "    assert set(declared) - set(given) <= {'autostart'}, (node, set(declared) - set(given))\n"
        "    for key, value in given.items():\n"
        "        assert type(value) is type(declared[key].default), (node, key)\n"
        "        assert declared[key].description, (node, key)\n"
        "print('ok')\n"
    )
    result = run(ros_venv, str(ros_venv.python), "-c", script, str(RosPaths.default().params_file))
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-3000:]


def test_colcon_test_runs_the_wcs_ros_tests(ros_venv: RosPaths, tmp_path: Path) -> None:
    """wcs_ros keeps its tests in test/, so `colcon test` runs them (here: the linters)."""
    if ros_venv.missing():
        pytest.skip(f"{ros_venv.missing()}; make test builds it")
    ws = REPO_ROOT / "ros_ws"
    colcon = str(ros_venv.venv / "bin" / "colcon")
    base = ["--log-base", str(tmp_path / "log")]
    result = run(ros_venv, colcon, *base, "test", "--merge-install", "--base-paths", str(ws / "src"),
                 "--build-base", str(ws / "build"), "--install-base", str(ws / "install"),
                 "--test-result-base", str(tmp_path / "results"), "--packages-select", "wcs_ros",
                 "--pytest-args", "-m", "linter")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    summary = run(ros_venv, colcon, *base, "test-result", "--test-result-base",
                  str(tmp_path / "results"))
    assert "2 tests, 0 errors, 0 failures" in summary.stdout, summary.stdout[-2000:]


def test_bringup_needs_ros_gz_only_for_the_gazebo_launch(ros_venv: RosPaths) -> None:
    script = (
        "import sys\n"
        "from catkin_pkg.package import parse_package\n"
        "pkg = parse_package(sys.argv[1])\n"
        "for env in ({}, {'WCS_GAZEBO': '1'}):\n"
        "    pkg.evaluate_conditions(env)\n"
        "    print(sorted(d.name for d in pkg.exec_depends if d.evaluated_condition))\n"
    )
    result = run(ros_venv, str(ros_venv.python), "-c", script,
                 str(WS_SRC / "wcs_bringup" / "package.xml"))
    assert result.returncode == 0, result.stderr
    plain, gazebo = result.stdout.strip().splitlines()
    assert "ros_gz" not in plain
    assert "ros_gz_sim" in gazebo and "ros_gz_bridge" in gazebo
