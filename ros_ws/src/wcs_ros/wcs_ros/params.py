"""Node parameters: one table per node, declared with descriptions, read from `ros__parameters`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node


@dataclass(frozen=True)
class Param:
    name: str
    default: Any
    description: str


SIMULATOR_PARAMS = (
    Param('map_path', '', 'site map file; empty means the demo map (maps/demo.yaml)'),
    Param('seed', 0, 'seed of the simulation random generator'),
    Param('robots', 0, 'number of robots; 0 keeps the robots the map lists'),
    Param('orders_per_h', -1.0,
          'simulated customer orders per hour; 0 none (tasks only), -1 the core default'),
    Param('step_period_s', 0.05, 'wall seconds between simulation steps'),
    Param('sim_speed', 10.0, 'simulated seconds per wall second'),
    Param('fleet_state_period_s', 0.1, 'wall seconds between fleet_state messages'),
)

DISPATCHER_PARAMS = (
    Param('task_id_prefix', 'RT', 'prefix of ids given to tasks submitted over ROS'),
)

PLC_BRIDGE_PARAMS = (
    Param('plc_config', '', 'PLC interface YAML; empty means config/plc/demo-sorter.yaml'),
    Param('map_path', '', 'site map whose sorter geometry wins; empty means the demo map'),
    Param('plc_host', '', 'Modbus TCP host; empty keeps the PLC config value'),
    Param('plc_port', 0, 'Modbus TCP port; 0 keeps the PLC config value'),
    Param('autostart', False, 'configure and activate itself (when no launch manager does)'),
)

ASRS_PARAMS = (
    Param('map_path', '', 'site map file; empty means the demo map (maps/demo.yaml)'),
    Param('aisle_id', '', 'AS/RS aisle to serve; empty means the first aisle of the map'),
    Param('inventory_db', 'data/ros-asrs.db', 'SQLite file of the aisle inventory'),
)


def declare(node: Node, params: tuple[Param, ...]) -> dict[str, Any]:
    """Declare every parameter with its description and return their current values."""
    values: dict[str, Any] = {}
    for param in params:
        descriptor = ParameterDescriptor(description=param.description)
        values[param.name] = node.declare_parameter(param.name, param.default, descriptor).value
    return values
