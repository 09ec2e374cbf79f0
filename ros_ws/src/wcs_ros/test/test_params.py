"""Real rclpy: parameter ranges and read-only flags refuse bad values; accepted changes apply."""

from __future__ import annotations

from typing import Any

import pytest
from harness import DEMO_MAP, REPO_ROOT, TINY_MAP, Fleet, free_port, spin_until
from rcl_interfaces.msg import Parameter as ParameterMsg
from rcl_interfaces.msg import ParameterType, ParameterValue
from rcl_interfaces.srv import DescribeParameters, SetParameters
from rclpy.exceptions import InvalidParameterValueException
from rclpy.executors import SingleThreadedExecutor
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.node import Node
from rclpy.parameter import Parameter
from wcs_interfaces.srv import SubmitTask
from wcs_ros.params import MAX_SIM_SPEED
from wcs_ros.plc_bridge_node import PlcBridgeNode
from wcs_ros.simulator_node import SimulatorNode

from fleet_manager.site import load_site
from sim.world import Simulation


def value(v: Any) -> ParameterValue:
    if isinstance(v, bool):
        return ParameterValue(type=ParameterType.PARAMETER_BOOL, bool_value=v)
    if isinstance(v, int):
        return ParameterValue(type=ParameterType.PARAMETER_INTEGER, integer_value=v)
    if isinstance(v, float):
        return ParameterValue(type=ParameterType.PARAMETER_DOUBLE, double_value=v)
    return ParameterValue(type=ParameterType.PARAMETER_STRING, string_value=v)


def set_remote(fleet_or_exec: Any, client: Node, node: str, name: str, v: Any) -> tuple[bool, str]:
    """`ros2 param set`: the SetParameters service of `node`, over DDS."""
    executor = fleet_or_exec.executor if isinstance(fleet_or_exec, Fleet) else fleet_or_exec
    cli = client.create_client(SetParameters, f'{node}/set_parameters')
    assert cli.wait_for_service(timeout_sec=60)
    future = cli.call_async(SetParameters.Request(
        parameters=[ParameterMsg(name=name, value=value(v))]))
    spin_until(executor, future.done, f'set {node}.{name}')
    client.destroy_client(cli)
    result = future.result().results[0]
    return result.successful, result.reason


@pytest.mark.parametrize(('name', 'bad'), [
    ('sim_speed', 40.0),               # above the range: it used to be accepted and ignored
    ('sim_speed', -1.0),
    ('sim_speed', 40),                 # an integer for a double parameter
    ('step_period_s', -1.0),
    ('step_period_s', 0.0),
    ('fleet_state_period_s', 100.0),
    ('map_path', 'maps/demo.yaml'),    # read-only: it shaped the simulation already built
    ('seed', 7),
    ('robots', 2),
])
def test_simulator_refuses_bad_values_and_keeps_the_old_ones(fleet: Fleet, name: str,
                                                             bad: Any) -> None:
    simulator = fleet.nodes[0]
    before = simulator.get_parameter(name).value
    ok, reason = set_remote(fleet, fleet.client, 'wcs_simulator', name, bad)
    assert not ok and reason
    assert simulator.get_parameter(name).value == before
    assert simulator.params[name] == before


def test_descriptors_carry_ranges_and_read_only_flags(fleet: Fleet) -> None:
    cli = fleet.client.create_client(DescribeParameters, 'wcs_simulator/describe_parameters')
    assert cli.wait_for_service(timeout_sec=60)
    future = cli.call_async(DescribeParameters.Request(names=['sim_speed', 'map_path']))
    fleet.spin_until(future.done, 'describe_parameters')
    speed, map_path = future.result().descriptors
    assert speed.floating_point_range[0].to_value == MAX_SIM_SPEED and not speed.read_only
    assert map_path.read_only and 'map' in map_path.description


def test_live_changes_apply(fleet: Fleet) -> None:
    simulator = fleet.nodes[0]
    assert set_remote(fleet, fleet.client, 'wcs_simulator', 'step_period_s', 0.2)[0]
    assert simulator.step_timer.timer_period_ns == 200_000_000
    assert set_remote(fleet, fleet.client, 'wcs_simulator', 'fleet_state_period_s', 0.5)[0]
    assert simulator.fleet_timer.timer_period_ns == 500_000_000
    assert set_remote(fleet, fleet.client, 'wcs_dispatcher', 'task_id_prefix', 'OPS')[0]
    ok, reason = set_remote(fleet, fleet.client, 'wcs_dispatcher', 'task_id_prefix', 'no way')
    assert not ok and 'task_id_prefix' in reason
    submit = fleet.client.create_client(SubmitTask, 'submit_task')
    reply = fleet.call(submit, SubmitTask.Request(kind='park', payload_json='{"robot": "R01"}'))
    assert reply.accepted and reply.task_id.startswith('OPS-'), reply


@pytest.mark.parametrize('speed', [0.5, 5.0, 20.0])
def test_sim_speed_sets_simulated_seconds_per_wall_second(ros: None, speed: float) -> None:
    """Many short steps: the old pacing stepped a whole tick each time (always ~16.7x)."""
    wall = {'now_s': 0.0}
    sim = Simulation(load_site(TINY_MAP), seed=0, config={'orders_per_h': 0})
    node = SimulatorNode(sim=sim, wall_clock=lambda: wall['now_s'],
                         parameter_overrides=[Parameter('sim_speed', value=speed)])
    try:
        for _ in range(500):  # 10 wall seconds in 20 ms steps
            wall['now_s'] += 0.02
            node.step()
        assert abs(sim.now_s - speed * 10.0) <= sim.tick_s + 1e-9
        node.set_parameters([Parameter('sim_speed', value=0.0)])
        paused_at = sim.now_s
        for _ in range(50):
            wall['now_s'] += 0.02
            node.step()
        assert sim.now_s == paused_at
    finally:
        node.destroy_node()


def test_out_of_range_start_values_stop_the_node_with_the_name(ros: None) -> None:
    sim = Simulation(load_site(TINY_MAP), seed=0, config={'orders_per_h': 0})
    with pytest.raises(InvalidParameterValueException, match='sim_speed'):
        SimulatorNode(sim=sim, parameter_overrides=[Parameter('sim_speed', value=40.0)])


def test_plc_port_change_applies_at_the_next_configure(ros: None) -> None:
    first, second = free_port(), free_port()
    node = PlcBridgeNode(parameter_overrides=[
        Parameter('plc_config', value=str(REPO_ROOT / 'config' / 'plc' / 'demo-sorter.yaml')),
        Parameter('map_path', value=str(DEMO_MAP)), Parameter('plc_port', value=first)])
    client = Node('wcs_test_client')
    executor = SingleThreadedExecutor()
    for n in (node, client):
        executor.add_node(n)
    try:
        assert node.trigger('configure') == TransitionCallbackReturn.SUCCESS
        assert node.service.config.connection.port == first
        ok, reason = set_remote(executor, client, 'wcs_plc_bridge', 'plc_port', second)
        assert not ok and 'configure' in reason  # configured: it would be silently ignored
        assert node.trigger('cleanup') == TransitionCallbackReturn.SUCCESS
        assert not set_remote(executor, client, 'wcs_plc_bridge', 'plc_port', 70000)[0]
        assert set_remote(executor, client, 'wcs_plc_bridge', 'plc_port', second)[0]
        assert node.trigger('configure') == TransitionCallbackReturn.SUCCESS
        assert node.service.config.connection.port == second
        assert not set_remote(executor, client, 'wcs_plc_bridge', 'autostart', True)[0]
    finally:
        node.destroy_node()
        client.destroy_node()
