"""Robots as adapters: the dispatcher commands every robot only through `RobotAdapter`."""

from fleet_manager.robots.adapter import CommandRejected, RobotAdapter, RobotStatus

__all__ = ["CommandRejected", "RobotAdapter", "RobotStatus"]
