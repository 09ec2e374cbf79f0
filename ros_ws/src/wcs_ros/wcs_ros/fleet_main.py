"""The fleet process: simulator and dispatcher nodes sharing one core Simulation."""

# The core Simulation is both the world and the dispatcher (it allocates, plans and runs tasks),
# so both nodes wrap the same object in one process and one executor thread; splitting them
# over processes would need a second copy of the fleet state.

from __future__ import annotations

import sys

from rclpy.node import Node

from wcs_ros.dispatcher_node import DispatcherNode
from wcs_ros.run import run_nodes
from wcs_ros.simulator_node import SimulatorNode


def make_fleet_nodes() -> list[Node]:
    simulator = SimulatorNode()
    return [simulator, DispatcherNode(simulator.sim)]


def main(args: list[str] | None = None) -> int:
    return run_nodes(make_fleet_nodes, args if args is not None else sys.argv)


if __name__ == '__main__':
    sys.exit(main())
