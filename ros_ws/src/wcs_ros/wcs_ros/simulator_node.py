"""Simulator node: paces the core Simulation against the wall clock and publishes fleet state."""

# It owns the one Simulation object; the dispatcher node shares it (see fleet_main.py).
# Pacing: the core advances in whole ticks (tick_s = cell / robot speed), so each step callback
# adds sim_speed x (wall time since the last callback) to a target time and steps whole ticks
# while the simulation is behind it. Over time simulated seconds per wall second = sim_speed,
# whatever the tick and the step period. Timers run on the steady clock: with use_sim_time
# the node's own clock follows /clock, which only moves when this node steps.

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rclpy.parameter import Parameter
from rosgraph_msgs.msg import Clock as ClockMsg
from wcs_interfaces.msg import Alarm, FleetState
from wcs_interfaces.srv import CommandRobot

from fleet_manager.events import Event
from wcs_ros.convert import MapFrame, alarm_to_ros, fleet_state_to_ros, time_to_ros
from wcs_ros.params import SIMULATOR_PARAMS, checker, declare
from wcs_ros.qos import ALARM_QOS, CLOCK_QOS, FLEET_STATE_QOS, SERVICE_QOS

MAX_CATCH_UP_PERIODS = 4  # a late callback (busy executor) catches up at most this many periods


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
    """Paced stepping, fleet_state and /clock publishers, command_robot service, alarm relay."""

    def __init__(self, sim: Any | None = None, wall_clock: Callable[[], float] | None = None,
                 **node_kwargs: Any) -> None:
        super().__init__('wcs_simulator', **node_kwargs)
        self.params = declare(self, SIMULATOR_PARAMS)
        self.sim = sim if sim is not None else build_simulation(self.params)
        self.frame = MapFrame.for_site(self.sim.site)
        self.wall_clock = wall_clock or time.monotonic
        self.target_s = self.sim.now_s  # simulated time the pacing aims at
        self._last_wall_s = self.wall_clock()
        self.fleet_pub = self.create_publisher(FleetState, 'fleet_state', FLEET_STATE_QOS)
        self.alarm_pub = self.create_publisher(Alarm, 'alarms', ALARM_QOS)
        self.clock_pub = self.create_publisher(ClockMsg, '/clock', CLOCK_QOS)
        self.create_service(CommandRobot, 'command_robot', self._on_command_robot,
                            qos_profile=SERVICE_QOS)
        self._unsubscribe = self.sim.bus.subscribe(self._on_event)
        self._steady = Clock(clock_type=ClockType.STEADY_TIME)
        self.step_timer = self.create_timer(float(self.params['step_period_s']), self.step,
                                            clock=self._steady)
        self.fleet_timer = self.create_timer(float(self.params['fleet_state_period_s']),
                                             self.publish_fleet_state, clock=self._steady)
        self.add_on_set_parameters_callback(checker(SIMULATOR_PARAMS))
        self.add_post_set_parameters_callback(self._apply)
        self.get_logger().info(
            f'simulating {len(self.sim.snapshot()["robots"])} robots at '
            f'{self.params["sim_speed"]}x')

    # --- parameters -----------------------------------------------------------------------
    def _apply(self, changes: list[Parameter]) -> None:
        """Apply every accepted change at once (rclpy has checked ranges and read-only flags)."""
        for change in changes:
            self.params[change.name] = change.value
            if change.name == 'step_period_s':
                self.step_timer.timer_period_ns = int(change.value * 1e9)
                self.step_timer.reset()
            elif change.name == 'fleet_state_period_s':
                self.fleet_timer.timer_period_ns = int(change.value * 1e9)
                self.fleet_timer.reset()
            elif change.name == 'sim_speed':
                self.target_s = self.sim.now_s  # the new rate counts from now
                self._last_wall_s = self.wall_clock()

    # --- stepping -------------------------------------------------------------------------
    def step(self) -> None:
        """Timer callback: advance by sim_speed x the wall time since the last call."""
        wall_s = self.wall_clock()
        elapsed_s = min(wall_s - self._last_wall_s,
                        MAX_CATCH_UP_PERIODS * float(self.params['step_period_s']))
        self._last_wall_s = wall_s
        self.advance(max(0.0, elapsed_s))

    def advance(self, wall_elapsed_s: float) -> None:
        """Move the target by sim_speed x wall_elapsed_s and step whole ticks up to it."""
        self.target_s += float(self.params['sim_speed']) * wall_elapsed_s
        if self.sim.now_s + self.sim.tick_s <= self.target_s + 1e-9:
            before = self.sim.now_s
            while self.sim.now_s + self.sim.tick_s <= self.target_s + 1e-9:
                self.sim.step()
            if self.sim.now_s != before and self.params['publish_clock']:
                self.clock_pub.publish(ClockMsg(clock=time_to_ros(self.sim.now_s)))

    # --- messages -------------------------------------------------------------------------
    def stamp_now(self) -> Any:
        """ROS time for stamps: simulated time when use_sim_time (what /clock says), else now."""
        if self.get_parameter('use_sim_time').value:
            return time_to_ros(self.sim.now_s)
        return self.get_clock().now().to_msg()

    def publish_fleet_state(self) -> None:
        snapshot = self.sim.snapshot()
        self.fleet_pub.publish(fleet_state_to_ros(snapshot['robots'], self.sim.now_s,
                                                  self.stamp_now(), self.frame))

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
