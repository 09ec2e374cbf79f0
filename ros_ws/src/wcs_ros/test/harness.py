"""Test harness: fleet nodes on one Simulation plus a client node, spun one callback at a time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from wcs_ros.dispatcher_node import DispatcherNode
from wcs_ros.simulator_node import SimulatorNode

import fleet_manager
from fleet_manager.site import load_site
from sim.world import Simulation

# The project is installed (editable) in the ROS venv: find the repo from it, so the tests run
# the same from tests/test_ros_nodes.py and from `colcon test`.
REPO_ROOT = Path(fleet_manager.__file__).resolve().parents[1]
TINY_MAP = REPO_ROOT / 'maps' / 'tiny.yaml'
DEMO_MAP = REPO_ROOT / 'maps' / 'demo.yaml'
WAIT_S = 60.0  # generous: a guard against hangs, never a speed assertion


@dataclass
class Fleet:
    """Simulator + dispatcher nodes on one Simulation, and a client node, in one executor."""

    sim: Simulation
    executor: SingleThreadedExecutor
    client: Node
    nodes: list[Node] = field(default_factory=list)  # simulator, dispatcher, client
    # sim time -> robot positions after each step, to check fleet_state messages against
    positions: dict[float, dict[str, tuple[float, float]]] = field(default_factory=dict)

    def _record(self) -> None:
        if self.sim.now_s not in self.positions:
            self.positions[self.sim.now_s] = {
                r['id']: (r['x_m'], r['y_m']) for r in self.sim.snapshot()['robots']}

    def spin_until(self, done: Callable[[], bool], what: str) -> None:
        """Spin one callback at a time (recording positions) until done() or WAIT_S."""
        clock = self.client.get_clock()
        deadline = clock.now().nanoseconds + int(WAIT_S * 1e9)
        self._record()
        while not done():
            if clock.now().nanoseconds > deadline:
                raise AssertionError(f'timed out waiting for {what}')
            self.executor.spin_once(timeout_sec=0.05)
            self._record()

    def call(self, client: Any, request: Any) -> Any:
        assert client.wait_for_service(timeout_sec=WAIT_S), f'{client.srv_name} not available'
        future = client.call_async(request)
        self.spin_until(future.done, f'reply of {client.srv_name}')
        return future.result()


@pytest.fixture
def fleet() -> Iterator[Fleet]:
    rclpy.init()
    nodes: list[Node] = []
    try:
        sim = Simulation(load_site(TINY_MAP), seed=0, config={'orders_per_h': 0})
        overrides = [Parameter('step_period_s', value=0.02), Parameter('sim_speed', value=20.0),
                     Parameter('fleet_state_period_s', value=0.05)]
        simulator = SimulatorNode(sim=sim, parameter_overrides=overrides)
        nodes = [simulator, DispatcherNode(sim), Node('wcs_test_client')]
        executor = SingleThreadedExecutor()
        for node in nodes:
            executor.add_node(node)
        yield Fleet(sim, executor, nodes[-1], nodes)
    finally:
        for node in reversed(nodes):
            node.destroy_node()
        rclpy.try_shutdown()


@pytest.fixture
def ros() -> Iterator[None]:
    """Initialise rclpy for one test (its domain: ROS_DOMAIN_ID of the run)."""
    rclpy.init()
    try:
        yield
    finally:
        rclpy.try_shutdown()


def spin_until(executor: SingleThreadedExecutor, done: Callable[[], bool], what: str) -> None:
    """Spin one callback at a time until done() or WAIT_S (a hang guard, not a speed check)."""
    clock = rclpy.clock.Clock()
    deadline = clock.now().nanoseconds + int(WAIT_S * 1e9)
    while not done():
        assert clock.now().nanoseconds < deadline, f'timed out waiting for {what}'
        executor.spin_once(timeout_sec=0.05)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])
