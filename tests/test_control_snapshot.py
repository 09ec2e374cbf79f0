"""The control plane's snapshot: a robot that has not said where it is has no position."""

from __future__ import annotations

from pathlib import Path

from fleet_manager.control import ControlPlane
from fleet_manager.robots.adapter import RobotStatus
from fleet_manager.site.loader import load_site

MAPS = Path(__file__).resolve().parents[1] / "maps"


class NotYetHeard:
    """A listed vehicle before its first state: online link, no node yet."""

    id = "V-1"

    def status(self) -> RobotStatus:
        return RobotStatus("V-1", -1, 0.0, 1.0, False, online=False)


def test_an_unlocalised_robot_is_listed_without_a_position() -> None:
    plane = ControlPlane(load_site(MAPS / "tiny.yaml"), [NotYetHeard()])  # type: ignore[list-item]
    plane.step()
    robot = plane.snapshot()["robots"][0]
    assert robot["id"] == "V-1" and robot["x_m"] is None and robot["y_m"] is None
    assert robot["path_ahead"] == []
