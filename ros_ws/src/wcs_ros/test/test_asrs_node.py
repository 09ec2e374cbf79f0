"""Real rclpy: the AS/RS node answers at once, runs the crane in time, refuses bad input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from builtin_interfaces.msg import Time
from harness import DEMO_MAP, spin_until
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rosgraph_msgs.msg import Clock
from wcs_interfaces.msg import TaskState
from wcs_interfaces.srv import SubmitTask
from wcs_ros.asrs_node import AsrsNode
from wcs_ros.qos import CLOCK_QOS, SERVICE_QOS, TASK_STATE_QOS

START_S = 1000


@dataclass
class Aisle:
    """The AS/RS node on simulated time (use_sim_time) and a client that owns /clock."""

    node: AsrsNode
    client: Node
    executor: SingleThreadedExecutor
    clock_pub: Any
    states: list[TaskState] = field(default_factory=list)

    def set_clock(self, t_s: int) -> None:
        """Publish /clock = t_s and wait until the node's clock shows it."""
        def arrived() -> bool:
            self.clock_pub.publish(Clock(clock=Time(sec=t_s)))
            return self.node.ros_now_s() == t_s

        spin_until(self.executor, arrived, f'/clock at {t_s} s')
        for _ in range(5):  # let the crane timer see the new time
            self.executor.spin_once(timeout_sec=0.05)

    def call(self, kind: str, payload: dict[str, object]) -> SubmitTask.Response:
        submit = self.client.create_client(SubmitTask, 'asrs/submit_task', qos_profile=SERVICE_QOS)
        assert submit.wait_for_service(timeout_sec=60)
        future = submit.call_async(SubmitTask.Request(kind=kind, payload_json=json.dumps(payload)))
        spin_until(self.executor, future.done, f'{kind} reply')
        self.client.destroy_client(submit)
        return future.result()

    def seen(self, task_id: str) -> list[str]:
        return [s.state for s in self.states if s.task_id == task_id]


@pytest.fixture
def aisle(ros: None, tmp_path: Path) -> Iterator[Aisle]:
    node = AsrsNode(parameter_overrides=[
        Parameter('map_path', value=str(DEMO_MAP)),
        Parameter('inventory_db', value=str(tmp_path / 'asrs.db')),
        Parameter('use_sim_time', value=True)])
    client = Node('wcs_test_client')
    executor = SingleThreadedExecutor()
    for n in (node, client):
        executor.add_node(n)
    out = Aisle(node, client, executor, client.create_publisher(Clock, '/clock', CLOCK_QOS))
    client.create_subscription(TaskState, 'task_states', out.states.append, TASK_STATE_QOS)
    try:
        out.set_clock(START_S)
        yield out
    finally:
        node.destroy_node()
        client.destroy_node()


def test_store_and_retrieve_answer_at_once_and_finish_in_time(aisle: Aisle) -> None:
    stored = aisle.call('asrs_store', {'tote_id': 'TOTE-1', 'sku': 'SKU-0001', 'quantity': 5})
    assert stored.accepted, stored.error
    task = aisle.node.controller.tasks[stored.task_id]
    # The clock has not moved: the crane cannot have finished its cycle inside the call.
    for _ in range(20):
        aisle.executor.spin_once(timeout_sec=0.01)
    assert not task.is_terminal, task.state
    spin_until(aisle.executor, lambda: 'queued' in aisle.seen(stored.task_id), 'queued state')

    aisle.set_clock(START_S + 3600)
    spin_until(aisle.executor, lambda: 'done' in aisle.seen(stored.task_id), 'store done')
    done = next(s for s in aisle.states if s.task_id == stored.task_id and s.state == 'done')
    assert START_S < done.at_s <= START_S + 3600  # the crane took its kinematic time
    target = task.payload['target']
    assert aisle.node.inventory.store.tote('TOTE-1').location == target

    fetched = aisle.call('asrs_retrieve', {'order_id': 'O-1', 'sku': 'SKU-0001',
                                           'station_id': 'ST1'})
    assert fetched.accepted, fetched.error
    assert not aisle.node.controller.tasks[fetched.task_id].is_terminal
    aisle.set_clock(START_S + 7200)
    spin_until(aisle.executor, lambda: 'done' in aisle.seen(fetched.task_id), 'retrieve done')
    transfers = [t for t in aisle.node.controller.tasks.values()
                 if t.kind == 'conveyor_transfer']
    assert [t.payload['to'] for t in transfers] == ['ST1']


@pytest.mark.parametrize(('kind', 'payload', 'field'), [
    ('asrs_store', {'tote_id': 'T-1', 'sku': 'SKU-NOPE', 'quantity': 1}, 'payload.sku'),
    ('asrs_store', {'tote_id': '', 'sku': 'SKU-0001', 'quantity': 1}, 'payload.tote_id'),
    ('asrs_store', {'tote_id': '  ', 'sku': 'SKU-0001'}, 'payload.tote_id'),
    ('asrs_store', {'tote_id': 7, 'sku': 'SKU-0001'}, 'payload.tote_id'),
    ('asrs_store', {'tote_id': 'T-1', 'sku': 'SKU-0001', 'quantity': 0}, 'payload.quantity'),
    ('asrs_store', {'tote_id': 'T-1'}, 'payload.sku'),
    ('asrs_store', {'tote_id': 'T-1', 'sku': 'SKU-0001', 'aisle_id': 'AS9'}, 'payload.aisle_id'),
    ('asrs_retrieve', {'sku': 'SKU-0001', 'station_id': 'ST99'}, 'payload.station_id'),
    ('asrs_retrieve', {'sku': 'SKU-0001', 'station_id': 'ST1'}, 'payload.sku'),  # no stock
    ('park', {}, 'kind'),
    ('teleport', {}, 'kind'),
])
def test_bad_requests_are_refused_before_anything_is_reserved(
        aisle: Aisle, kind: str, payload: dict[str, object], field: str) -> None:
    reply = aisle.call(kind, payload)
    assert not reply.accepted
    assert reply.error.startswith(f'{field}:'), reply.error
    assert aisle.node.controller.tasks == {}
    assert aisle.node.controller.pending_jobs == 0
    assert aisle.node.inventory.store.totes_of('SKU-0001') == []
    assert aisle.states == []
