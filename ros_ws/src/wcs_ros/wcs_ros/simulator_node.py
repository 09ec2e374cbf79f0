"""Simulator node: steps the core Simulation on a wall-clock timer and publishes fleet state."""

# It owns the one Simulation object; the dispatcher node shares it (see fleet_main.py).

from __future__ import annotations

from typing import Any

from rclpy.node import Node
from wcs_interfaces.msg import Alarm, FleetState
from wcs_interfaces.srv import CommandRobot

from fleet_manager.events import Event
from wcs_ros.convert import alarm_to_ros, fleet_state_to_ros
from wcs_ros.params import SIMULATOR_PARAMS, declare
from wcs_ros.qos import ALARM_QOS, FLEET_STATE_QOS


def build_simulation(params: dict[str, Any]) -> Any:
    """Build the core Simulation from the node's parameters (imported late: core, not ROS)."""
    from fleet_manager.site import default_map_path, load_site
    from sim.world import Simulation

    site = load_site(params['map_path'] or default_map_path())
    robots = int(params['robots']) or None
    orders_per_h = float(params['orders_per_h'])
    config = {'orders_per_h': orders_per_h} if orders_per_h >= 0 else {}
    return Simulation(site, seed=int(params['seed']), robots=robots, config=config)


class SimulatorNode(Node):
    """Timer-driven stepping, fleet_state publisher, command_robot service, alarm relay."""

    def __init__(self, sim: Any | None = None, **node_kwargs: Any) -> None:
        super().__init__('wcs_simulator', **node_kwargs)
        self.params = declare(self, SIMULATOR_PARAMS)
        self.sim = sim if sim is not None else build_simulation(self.params)
        self.sim_step_s = float(self.params['sim_speed']) * float(self.params['step_period_s'])
        self.fleet_pub = self.create_publisher(FleetState, 'fleet_state', FLEET_STATE_QOS)
        self.alarm_pub = self.create_publisher(Alarm, 'alarms', ALARM_QOS)
        self.create_service(CommandRobot, 'command_robot', self._on_command_robot)
        self._unsubscribe = self.sim.bus.subscribe(self._on_event)
        self.step_timer = self.create_timer(float(self.params['step_period_s']), self.step)
        self.fleet_timer = self.create_timer(
            float(self.params['fleet_state_period_s']), self.publish_fleet_state)
        self.get_logger().info(
            f'simulating {len(self.sim.snapshot()["robots"])} robots at '
            f'{self.params["sim_speed"]}x')

    def step(self) -> None:
        if self.sim_step_s > 0:
            self.sim.run_until(self.sim.now_s + self.sim_step_s)

    def publish_fleet_state(self) -> None:
        snapshot = self.sim.snapshot()
        self.fleet_pub.publish(fleet_state_to_ros(snapshot['robots'], self.sim.now_s))

    def _on_event(self, event: Event) -> None:
        if event.topic == 'alarm':
            self.alarm_pub.publish(alarm_to_ros(event))

    def _on_command_robot(self, request: CommandRobot.Request,
                          response: CommandRobot.Response) -> CommandRobot.Response:
        try:
            self.sim.command_robot(request.robot_id, request.command)
        except Exception as exc:  # noqa: B902, BLE001 - an error reply, never a crash
            response.accepted = False
            response.error = str(exc) or type(exc).__name__
        else:
            response.accepted = True
        return response

    def destroy_node(self) -> None:
        self._unsubscribe()
        super().destroy_node()
