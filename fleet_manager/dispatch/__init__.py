"""Dispatch: the control loop over robot adapters, built from small parts that share a FloorState."""

from fleet_manager.dispatch.core import DispatchConfig, Dispatcher, Scanner, perfect_scanner
from fleet_manager.dispatch.records import (
    CommandRejected,
    Phase,
    PodState,
    RobotRecord,
    StationState,
    UnknownResource,
)

__all__ = [
    "CommandRejected",
    "DispatchConfig",
    "Dispatcher",
    "Phase",
    "PodState",
    "RobotRecord",
    "Scanner",
    "StationState",
    "UnknownResource",
    "perfect_scanner",
]
