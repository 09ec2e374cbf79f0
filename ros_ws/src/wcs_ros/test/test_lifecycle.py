"""Real rclpy: a lifecycle transition invalid from the current state is refused, never a crash."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest
from harness import DEMO_MAP, REPO_ROOT, WAIT_S, free_port, spin_until
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState, GetState
from rclpy.executors import SingleThreadedExecutor
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.node import Node
from rclpy.parameter import Parameter
from wcs_ros.plc_bridge_node import PlcBridgeNode

PLC_CONFIG = REPO_ROOT / 'config' / 'plc' / 'demo-sorter.yaml'
T = Transition


class Manager:
    """A client node driving wcs_plc_bridge through its lifecycle services over DDS."""

    def __init__(self, executor: SingleThreadedExecutor) -> None:
        self.executor = executor
        self.node = Node('wcs_test_manager')
        executor.add_node(self.node)
        self.change = self.node.create_client(ChangeState, 'wcs_plc_bridge/change_state')
        self.get = self.node.create_client(GetState, 'wcs_plc_bridge/get_state')

    def _call(self, client: object, request: object) -> object:
        assert client.wait_for_service(timeout_sec=WAIT_S)
        future = client.call_async(request)
        spin_until(self.executor, future.done, f'{client.srv_name} reply')
        return future.result()

    def transition(self, transition_id: int = 0, label: str = '') -> bool:
        request = ChangeState.Request(transition=Transition(id=transition_id, label=label))
        return self._call(self.change, request).success

    def state(self) -> str:
        """Ask GetState until answered (it is idempotent)."""
        # A request sent while discovery still matches the two sides of a process that just
        # started can be lost.
        assert self.get.wait_for_service(timeout_sec=WAIT_S)
        for _ in range(int(WAIT_S)):
            future = self.get.call_async(GetState.Request())
            self.executor.spin_until_future_complete(future, timeout_sec=1.0)
            if future.done():
                return future.result().current_state.label
            self.get.remove_pending_request(future)
        raise AssertionError('wcs_plc_bridge/get_state never answered')


@pytest.fixture
def bridge(ros: None) -> Iterator[tuple[PlcBridgeNode, Manager]]:
    node = PlcBridgeNode(parameter_overrides=[
        Parameter('plc_config', value=str(PLC_CONFIG)), Parameter('map_path', value=str(DEMO_MAP)),
        Parameter('plc_port', value=free_port())])  # no PLC there: the bridge raises an alarm
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    manager = Manager(executor)
    try:
        yield node, manager
    finally:
        node.destroy_node()
        manager.node.destroy_node()


def test_invalid_transitions_answer_false_and_the_node_keeps_serving(
        bridge: tuple[PlcBridgeNode, Manager]) -> None:
    node, manager = bridge
    assert not manager.transition(T.TRANSITION_ACTIVATE)  # not configured yet
    assert manager.state() == 'unconfigured'
    assert manager.transition(T.TRANSITION_CONFIGURE)
    assert manager.transition(T.TRANSITION_ACTIVATE)
    assert not manager.transition(T.TRANSITION_CONFIGURE)  # configure while active
    assert not manager.transition(label='configure')
    assert not manager.transition(T.TRANSITION_CLEANUP)
    assert not manager.transition(99)  # no such transition at all
    assert manager.state() == 'active'
    assert node.service is not None and node._loop is not None  # still running the bridge
    assert manager.transition(T.TRANSITION_DEACTIVATE)
    assert manager.transition(T.TRANSITION_INACTIVE_SHUTDOWN)
    assert manager.state() == 'finalized'
    assert not manager.transition(T.TRANSITION_ACTIVATE)  # activate after finalize
    assert not manager.transition(T.TRANSITION_CONFIGURE)
    assert not manager.transition(label='shutdown')
    assert manager.state() == 'finalized'


def test_trigger_from_code_refuses_instead_of_raising(
        bridge: tuple[PlcBridgeNode, Manager]) -> None:
    node, _ = bridge
    assert node.trigger('activate') == TransitionCallbackReturn.FAILURE
    assert node.trigger('configure') == TransitionCallbackReturn.SUCCESS
    assert node.trigger('configure') == TransitionCallbackReturn.FAILURE
    assert node.lifecycle_state == 'inactive'


def test_the_bridge_process_survives_an_invalid_request(ros: None) -> None:
    """The failure seen in the field: configure sent to an active bridge ended the process."""
    env = dict(os.environ)
    proc = subprocess.Popen(
        [sys.executable, '-m', 'wcs_ros.plc_bridge_node', '--ros-args',
         '-p', f'plc_config:={PLC_CONFIG}', '-p', f'map_path:={DEMO_MAP}',
         '-p', f'plc_port:={free_port()}', '-p', 'autostart:=true'],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    executor = SingleThreadedExecutor()
    manager = Manager(executor)
    try:
        spin_until(executor, lambda: manager.state() == 'active', 'autostart to active')
        assert not manager.transition(T.TRANSITION_CONFIGURE)
        assert not manager.transition(T.TRANSITION_ACTIVATE)
        assert manager.state() == 'active'
        assert proc.poll() is None, 'the bridge process exited'
    finally:
        manager.node.destroy_node()
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=WAIT_S)
    assert proc.returncode == 0, out[-3000:]
    assert 'change_state refused' in out
