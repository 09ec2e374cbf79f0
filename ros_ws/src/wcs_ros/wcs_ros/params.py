"""Node parameters: one table per node, declared with ranges and read-only flags."""

# Every parameter carries a ParameterDescriptor (`ros2 param describe` shows it): numbers have
# a range, construction parameters are read-only, and a Param may add its own check. rclpy
# refuses values outside the descriptor (at start from the params file, and at run time); the
# node applies every change it accepts (see each node's post-set callback).

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rcl_interfaces.msg import SetParametersResult
from rclpy.node import Node
from rclpy.parameter import Parameter

ID_PREFIX = re.compile(r'[A-Za-z][A-Za-z0-9_]{0,15}')


@dataclass(frozen=True)
class Param:
    """One declared parameter: default (its type is the parameter's type), range, checks."""

    name: str
    default: Any
    description: str
    range: tuple[float, float] | None = None  # inclusive bounds for int/float parameters
    read_only: bool = False  # fixed once the node is built (it shapes what the node built)
    check: Callable[[Any], str | None] | None = None  # returns why a value is refused

    def descriptor(self) -> ParameterDescriptor:
        descriptor = ParameterDescriptor(description=self.description, read_only=self.read_only)
        if self.range is not None:
            lo, hi = self.range
            if isinstance(self.default, float):
                descriptor.floating_point_range = [
                    FloatingPointRange(from_value=float(lo), to_value=float(hi), step=0.0)]
            else:
                descriptor.integer_range = [IntegerRange(from_value=int(lo), to_value=int(hi),
                                                         step=1)]
        return descriptor


def _prefix(value: Any) -> str | None:
    if not ID_PREFIX.fullmatch(str(value)):
        return f'must match {ID_PREFIX.pattern} (a letter, then letters, digits or _)'
    return None


MAX_SIM_SPEED = 20.0  # simulated s per wall s: above it a step falls behind its wall period

SIMULATOR_PARAMS = (
    Param('map_path', '', 'site map file; empty means the demo map (maps/demo.yaml)',
          read_only=True),
    Param('seed', 0, 'seed of the simulation random generator', (0, 2**31 - 1), True),
    Param('robots', 0, 'number of robots; 0 keeps the robots the map lists', (0, 1000), True),
    Param('orders_per_h', -1.0,
          'simulated customer orders per hour; 0 none (tasks only), -1 the core default',
          (-1.0, 100000.0), True),
    Param('step_period_s', 0.05, 'wall seconds between simulation steps', (0.005, 1.0)),
    Param('sim_speed', 10.0, 'simulated seconds per wall second; 0 pauses the simulation',
          (0.0, MAX_SIM_SPEED)),
    Param('fleet_state_period_s', 0.1, 'wall seconds between fleet_state messages',
          (0.01, 10.0)),
    Param('publish_clock', True, 'publish simulated time on /clock (for use_sim_time nodes)'),
)

DISPATCHER_PARAMS = (
    Param('task_id_prefix', 'RT', 'prefix of ids given to tasks submitted over ROS',
          check=_prefix),
)

PLC_BRIDGE_PARAMS = (
    Param('plc_config', '', 'PLC interface YAML; empty means config/plc/demo-sorter.yaml'),
    Param('map_path', '', 'site map whose sorter geometry wins; empty means the demo map'),
    Param('plc_host', '', 'Modbus TCP host; empty keeps the PLC config value'),
    Param('plc_port', 0, 'Modbus TCP port; 0 keeps the PLC config value', (0, 65535)),
    Param('autostart', False, 'configure and activate itself (when no launch manager does)',
          read_only=True),
)

ASRS_PARAMS = (
    Param('map_path', '', 'site map file; empty means the demo map (maps/demo.yaml)',
          read_only=True),
    Param('aisle_id', '', 'AS/RS aisle to serve; empty means the first aisle of the map',
          read_only=True),
    Param('inventory_db', 'data/ros-asrs.db', 'SQLite file of the aisle inventory',
          read_only=True),
    Param('crane_poll_period_s', 0.02, 'wall seconds between crane clock checks', (0.005, 1.0)),
)


class ParamError(ValueError):
    """A parameter value refused by a Param's own check; names the parameter."""


def declare(node: Node, params: tuple[Param, ...]) -> dict[str, Any]:
    """Declare every parameter with its descriptor and return their current values."""
    # A start value outside its range or refused by its check raises: the node does not start.
    values: dict[str, Any] = {}
    for param in params:
        value = node.declare_parameter(param.name, param.default, param.descriptor()).value
        why = param.check(value) if param.check is not None else None
        if why is not None:
            raise ParamError(f'parameter {param.name}: {why}, got {value!r}')
        values[param.name] = value
    return values


def checker(params: tuple[Param, ...],
            extra: Callable[[Parameter], str | None] | None = None,
            ) -> Callable[[list[Parameter]], SetParametersResult]:
    """Return an on-set callback running each Param's own check (rclpy checks ranges)."""
    table = {p.name: p for p in params}

    def on_set(changes: list[Parameter]) -> SetParametersResult:
        for change in changes:
            param = table.get(change.name)
            why = param.check(change.value) if param is not None and param.check else None
            if why is None and extra is not None and param is not None:
                why = extra(change)
            if why is not None:
                return SetParametersResult(successful=False, reason=f'{change.name}: {why}')
        return SetParametersResult(successful=True)

    return on_set
