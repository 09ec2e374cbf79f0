"""The control plane: one dispatcher over robot adapters, stepped on a clock."""

from fleet_manager.control.plane import ControlPlane, tick_s_for

__all__ = ["ControlPlane", "tick_s_for"]
