"""Gazebo export: SDF 1.9 world and ros_gz_bridge config derived from the site map."""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from fleet_manager.site import load_site
from sim.gazebo.export import export_gazebo
from sim.gazebo.sdf import WorldFrame
from sim.gazebo.world import model_name

REPO_ROOT = Path(__file__).resolve().parents[1]
MAPS = [REPO_ROOT / "maps" / "demo.yaml", REPO_ROOT / "maps" / "tiny.yaml"]
IGN = shutil.which("ign")


def models(root: ET.Element, prefix: str) -> list[ET.Element]:
    return [m for m in root.iter("model") if m.get("name", "").startswith(prefix)]


def pose_xy(element: ET.Element) -> tuple[float, float]:
    x, y = (float(v) for v in element.findtext("pose", "0 0 0 0 0 0").split()[:2])
    return x, y


@pytest.mark.parametrize("map_path", MAPS, ids=lambda p: p.stem)
def test_world_holds_every_feature_of_the_site(map_path: Path, tmp_path: Path) -> None:
    site = load_site(map_path)
    out = export_gazebo(site, tmp_path)
    root = ET.parse(out.world_path).getroot()
    assert root.tag == "sdf" and root.get("version") == "1.9"
    assert len(models(root, "pod_")) == len(site.pods)
    assert len(models(root, "station_")) == len(site.stations)
    assert len(models(root, "charger_")) == len(site.chargers)
    assert len(models(root, "parking_")) == len(site.parking)
    assert len(models(root, "conveyor_")) == len(site.conveyors)
    assert len(models(root, "asrs_")) == len(site.asrs)
    for m in [*models(root, "pod_"), *models(root, "conveyor_"), *models(root, "asrs_")]:
        assert m.findtext("static") == "true", m.get("name")

    frame = WorldFrame.for_site(site)
    amrs = {m.get("name"): m for m in root.iter("model") if m.find("plugin") is not None}
    assert sorted(amrs) == sorted(r.id for r in site.robots)
    for robot in site.robots:
        amr = amrs[robot.id]
        expected = frame.xy(*site.node_xy_m(robot.start))
        assert pose_xy(amr) == pytest.approx(expected, abs=1e-4)
        plugins = {p.get("name"): p for p in amr.findall("plugin")}
        drive = plugins["gz::sim::systems::DiffDrive"]
        assert plugins["gz::sim::systems::PosePublisher"].get("filename") == \
            "gz-sim-pose-publisher-system"
        assert drive.get("filename") == "gz-sim-diff-drive-system"
        assert drive.findtext("topic") == f"/model/{robot.id}/cmd_vel"
        assert float(drive.findtext("max_linear_velocity")) == site.robot_model.speed_mps
        joints = {j.get("name") for j in amr.findall("joint")}
        assert {drive.findtext("left_joint"), drive.findtext("right_joint")} <= joints

    for pod in site.pods.values():  # pods stand on their home slots
        (model,) = [m for m in models(root, "pod_") if m.get("name") == model_name("pod", pod.id)]
        expected = frame.xy(*site.node_xy_m(site.slots[pod.slot].node))
        assert pose_xy(model) == pytest.approx(expected, abs=1e-4)


def test_conveyor_segments_follow_the_polyline(tmp_path: Path) -> None:
    site = load_site(MAPS[0])
    root = ET.parse(export_gazebo(site, tmp_path).world_path).getroot()
    frame = WorldFrame.for_site(site)
    for conveyor in site.conveyors.values():
        (model,) = [m for m in models(root, "conveyor_") if m.get("name").endswith(conveyor.id)]
        total_m = sum(float(link.findtext("visual/geometry/box/size").split()[0])
                      for link in model.findall("link"))
        assert total_m == pytest.approx(conveyor.length_m, rel=1e-4)
        first = model.find("link")
        (x0, y0), (x1, y1) = (frame.xy(*p) for p in conveyor.path_m[:2])
        assert pose_xy(first) == pytest.approx(((x0 + x1) / 2, (y0 + y1) / 2), abs=1e-4)
        yaw = float(first.findtext("pose").split()[5])
        assert yaw == pytest.approx(math.atan2(y1 - y0, x1 - x0), abs=1e-5)


def test_bridge_config_matches_the_plugins(tmp_path: Path) -> None:
    site = load_site(MAPS[1])
    out = export_gazebo(site, tmp_path)
    entries = yaml.safe_load(out.bridge_path.read_text())
    assert entries[0]["ros_topic_name"] == "/clock"
    assert entries[0]["gz_topic_name"] == f"/world/{out.world_name}/clock"
    by_ros = {e["ros_topic_name"]: e for e in entries}
    for robot in site.robots:
        cmd = by_ros[f"/wcs/robots/{robot.id}/cmd_vel"]
        assert (cmd["gz_topic_name"], cmd["direction"]) == (f"/model/{robot.id}/cmd_vel",
                                                            "ROS_TO_GZ")
        odom = by_ros[f"/wcs/robots/{robot.id}/odom"]
        assert odom["gz_type_name"] == "gz.msgs.Odometry" and odom["direction"] == "GZ_TO_ROS"
    root = ET.parse(out.world_path).getroot()
    assert root.find("world").get("name") == out.world_name
    topics = {p.findtext("topic") for p in root.iter("plugin") if p.findtext("topic")}
    assert topics == {e["gz_topic_name"] for e in entries if e["direction"] == "ROS_TO_GZ"}


def test_export_is_deterministic(tmp_path: Path) -> None:
    site = load_site(MAPS[0])
    a = export_gazebo(site, tmp_path / "a")
    b = export_gazebo(load_site(MAPS[0]), tmp_path / "b")
    assert a.world_path.read_bytes() == b.world_path.read_bytes()
    assert a.bridge_path.read_bytes() == b.bridge_path.read_bytes()


def test_committed_bringup_bridge_config_is_the_generated_one(tmp_path: Path) -> None:
    committed = REPO_ROOT / "ros_ws" / "src" / "wcs_bringup" / "config" / "gz_bridge_demo.yaml"
    generated = export_gazebo(load_site(MAPS[0]), tmp_path).bridge_path
    assert committed.read_text() == generated.read_text(), \
        "regenerate with: wcs export-gazebo --map maps/demo.yaml --out DIR and copy the bridge"


@pytest.mark.skipif(IGN is None, reason="`ign` (Debian ignition-tools + sdformat) not installed")
@pytest.mark.parametrize("map_path", [
    pytest.param(MAPS[0], id="demo", marks=pytest.mark.slow),  # ~500 links: 10-30 s in ign
    pytest.param(MAPS[1], id="tiny"),
])
def test_ign_sdf_check_accepts_the_world(map_path: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [*[sys.executable, "-m", "fleet_manager.cli"], "export-gazebo", "--map", str(map_path),
         "--out", str(tmp_path)], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    (world,) = tmp_path.glob("*.sdf")
    check = subprocess.run([IGN, "sdf", "-k", str(world)], capture_output=True, text=True,
                           timeout=120, check=False)
    assert check.returncode == 0 and "Valid" in check.stdout, check.stdout + check.stderr


@pytest.mark.skipif(IGN is None, reason="`ign` (Debian ignition-tools + sdformat) not installed")
def test_ign_sdf_check_rejects_a_broken_world(tmp_path: Path) -> None:
    out = export_gazebo(load_site(MAPS[1]), tmp_path)
    text = out.world_path.read_text().replace("<static>true</static>", "<static>maybe</static>", 1)
    out.world_path.write_text(text)
    check = subprocess.run([IGN, "sdf", "-k", str(out.world_path)], capture_output=True,
                           text=True, timeout=120, check=False)
    assert check.returncode != 0


@pytest.mark.parametrize(("args", "needle"), [
    (["--map", "/nonexistent/site.yaml"], "site.yaml"),
    (["--map", "MAPFILE"], "invalid map"),
])
def test_cli_bad_input(args: list[str], needle: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: broken\ncell_size_m: -1\nlayout: 3\n")
    args = [str(bad) if a == "MAPFILE" else a for a in args]
    result = subprocess.run([sys.executable, "-m", "fleet_manager.cli", "export-gazebo", *args,
                             "--out", str(tmp_path / "out")], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], result.stderr
    assert not (tmp_path / "out").exists()
