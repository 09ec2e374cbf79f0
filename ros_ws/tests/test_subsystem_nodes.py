"""Real rclpy: the PLC bridge lifecycle node against the simulated PLC, and the AS/RS node."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import rclpy
from harness import REPO_ROOT, WAIT_S
from rclpy.executors import SingleThreadedExecutor
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.node import Node
from rclpy.parameter import Parameter
from wcs_interfaces.msg import Alarm, ConveyorZone, TaskState
from wcs_interfaces.srv import SubmitTask
from wcs_ros.asrs_node import AsrsNode
from wcs_ros.plc_bridge_node import PlcBridgeNode
from wcs_ros.qos import ALARM_QOS, CONVEYOR_ZONE_QOS, TASK_STATE_QOS

PLC_CONFIG = REPO_ROOT / 'config' / 'plc' / 'demo-sorter.yaml'
DEMO_MAP = REPO_ROOT / 'maps' / 'demo.yaml'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def ros() -> Iterator[None]:
    rclpy.init()
    try:
        yield
    finally:
        rclpy.try_shutdown()


def spin_until(executor: SingleThreadedExecutor, done: Callable[[], bool], what: str) -> None:
    clock = rclpy.clock.Clock()
    deadline = clock.now().nanoseconds + int(WAIT_S * 1e9)
    while not done():
        assert clock.now().nanoseconds < deadline, f'timed out waiting for {what}'
        executor.spin_once(timeout_sec=0.05)


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
        spin_until(executor, lambda: any(z.zone == ConveyorZone.ZONE_LINE for z in zones),
                   'the conveyor line state')
        line = next(z for z in zones if z.zone == ConveyorZone.ZONE_LINE)
        assert line.plc == 'demo-sorter' and line.state == 'running'
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


def test_asrs_node_stores_and_retrieves_totes(ros: None, tmp_path: Path) -> None:
    node = AsrsNode(parameter_overrides=[
        Parameter('map_path', value=str(DEMO_MAP)),
        Parameter('inventory_db', value=str(tmp_path / 'asrs.db'))])
    client = Node('wcs_test_client')
    states: list[TaskState] = []
    client.create_subscription(TaskState, 'task_states', states.append, TASK_STATE_QOS)
    submit = client.create_client(SubmitTask, 'asrs/submit_task')
    executor = SingleThreadedExecutor()
    for n in (node, client):
        executor.add_node(n)

    def call(kind: str, payload: dict[str, object]) -> SubmitTask.Response:
        assert submit.wait_for_service(timeout_sec=WAIT_S)
        future = submit.call_async(SubmitTask.Request(kind=kind, payload_json=json.dumps(payload)))
        spin_until(executor, future.done, f'{kind} reply')
        return future.result()

    def finished(task_id: str) -> bool:
        return any(s.task_id == task_id and s.state == 'done' for s in states)

    try:
        stored = call('asrs_store', {'tote_id': 'TOTE-1', 'sku': 'SKU-A', 'quantity': 5})
        assert stored.accepted, stored.error
        spin_until(executor, lambda: finished(stored.task_id), 'store done')
        target = node.controller.tasks[stored.task_id].payload['target']
        assert node.controller.inventory.store.tote('TOTE-1').location == target

        fetched = call('asrs_retrieve', {'order_id': 'O-1', 'sku': 'SKU-A', 'station_id': 'ST1'})
        assert fetched.accepted, fetched.error
        spin_until(executor, lambda: finished(fetched.task_id), 'retrieve done')

        missing = call('asrs_store', {'sku': 'SKU-A', 'quantity': 1})
        assert not missing.accepted and 'tote_id' in missing.error
        wrong = call('park', {})
        assert not wrong.accepted and 'kind' in wrong.error
        empty = call('asrs_retrieve', {'order_id': 'O-2', 'sku': 'SKU-Z', 'station_id': 'ST1'})
        assert not empty.accepted and 'SKU-Z' in empty.error
    finally:
        node.destroy_node()
        client.destroy_node()
