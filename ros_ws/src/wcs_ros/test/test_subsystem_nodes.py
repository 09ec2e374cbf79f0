"""Real rclpy: the PLC bridge lifecycle node against the simulated PLC."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import DEMO_MAP, REPO_ROOT, WAIT_S, free_port, spin_until
from rclpy.executors import SingleThreadedExecutor
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.node import Node
from rclpy.parameter import Parameter
from wcs_interfaces.msg import Alarm, ConveyorZone
from wcs_ros.plc_bridge_node import PlcBridgeNode
from wcs_ros.qos import ALARM_QOS, CONVEYOR_ZONE_QOS

PLC_CONFIG = REPO_ROOT / 'config' / 'plc' / 'demo-sorter.yaml'


@pytest.fixture
def sim_plc(tmp_path: Path) -> Iterator[int]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, '-m', 'fleet_manager.cli', 'sim-plc', '--config', str(PLC_CONFIG),
         '--map', str(DEMO_MAP), '--port', str(port), '--state-dir', str(tmp_path / 'plc')],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=WAIT_S)


def plc_node(port: int, config: Path = PLC_CONFIG) -> PlcBridgeNode:
    return PlcBridgeNode(parameter_overrides=[
        Parameter('plc_config', value=str(config)), Parameter('map_path', value=str(DEMO_MAP)),
        Parameter('plc_port', value=port)])


def test_plc_bridge_publishes_conveyor_states_from_the_simulated_plc(ros: None,
                                                                     sim_plc: int) -> None:
    node, client = plc_node(sim_plc), Node('wcs_test_client')
    zones: list[ConveyorZone] = []
    client.create_subscription(ConveyorZone, 'conveyor_zones', zones.append, CONVEYOR_ZONE_QOS)
    executor = SingleThreadedExecutor()
    for n in (node, client):
        executor.add_node(n)
    try:
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        # The bridge reports the line as it reads it (stopped at first), then starts it.
        running = [ConveyorZone.ZONE_LINE, 'running']
        spin_until(executor, lambda: any([z.zone, z.state] == running for z in zones),
                   'the conveyor line running')
        line = next(z for z in zones if [z.zone, z.state] == running)
        assert line.plc == 'demo-sorter'
        assert node.trigger_deactivate() == TransitionCallbackReturn.SUCCESS
        assert node.service is not None and node._loop is None  # stopped, still configured
    finally:
        node.destroy_node()
        client.destroy_node()


def test_plc_bridge_raises_an_alarm_when_the_plc_is_down(ros: None) -> None:
    node, client = plc_node(free_port()), Node('wcs_test_client')
    alarms: list[Alarm] = []
    executor = SingleThreadedExecutor()
    try:
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        for n in (node, client):
            executor.add_node(n)
        # Transient local: a subscriber that joins after the alarm still gets it.
        spin_until(executor, lambda: node.service.active_alarms, 'an alarm in the bridge')
        code = next(iter(node.service.active_alarms.values()))['code']
        client.create_subscription(Alarm, 'alarms', alarms.append, ALARM_QOS)
        spin_until(executor, lambda: any(a.code == code for a in alarms), 'the latched alarm')
        alarm = next(a for a in alarms if a.code == code)
        assert alarm.active and alarm.source == 'plc:demo-sorter'
        assert alarm.alarm_id == f'demo-sorter:{code}'
    finally:
        node.destroy_node()
        client.destroy_node()


def test_plc_bridge_configure_fails_cleanly_on_a_bad_config(ros: None, tmp_path: Path) -> None:
    bad = tmp_path / 'plc.yaml'
    bad.write_text('plc: [not, a, mapping]\n')
    node = plc_node(free_port(), bad)
    try:
        assert node.trigger_configure() == TransitionCallbackReturn.FAILURE
        assert node.service is None
    finally:
        node.destroy_node()
