"""The runtime: wires site, simulation, store and event bus, and paces the control loop."""

from fleet_manager.runtime.core import Component, Runtime, RuntimeConfig, RuntimeStats

__all__ = ["Component", "Runtime", "RuntimeConfig", "RuntimeStats"]
