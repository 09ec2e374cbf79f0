"""Real rclpy: a burst of 200 concurrent service calls is answered in full, none dropped."""

from __future__ import annotations

import json
from pathlib import Path

from harness import DEMO_MAP, Fleet, spin_until
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from wcs_interfaces.srv import CancelTask, SubmitTask
from wcs_ros.asrs_node import AsrsNode
from wcs_ros.qos import SERVICE_QOS

CALLS = 200
CALLERS = 20  # client nodes, each with CALLS / CALLERS calls in flight at once


def test_200_concurrent_submit_task_calls_are_all_answered(fleet: Fleet) -> None:
    callers = [Node(f'wcs_test_caller_{i}') for i in range(CALLERS)]
    try:
        for node in callers:
            fleet.executor.add_node(node)
        clients = [n.create_client(SubmitTask, 'submit_task', qos_profile=SERVICE_QOS)
                   for n in callers]
        for client in clients:
            assert client.wait_for_service(timeout_sec=60)
        robots = ['R01', 'R02', 'R03', 'R9']  # every fourth call is refused: still answered
        futures = [clients[i % CALLERS].call_async(SubmitTask.Request(
            kind='park', payload_json=json.dumps({'robot': robots[i % 4]})))
            for i in range(CALLS)]
        fleet.spin_until(lambda: all(f.done() for f in futures), f'{CALLS} replies')
        replies = [f.result() for f in futures]
        accepted = [r.task_id for r in replies if r.accepted]
        assert len(accepted) == CALLS * 3 // 4 and len(set(accepted)) == len(accepted)
        assert all('R9' in r.error for r in replies if not r.accepted)
        assert set(accepted) <= set(fleet.sim.tasks)

        cancel = callers[0].create_client(CancelTask, 'cancel_task', qos_profile=SERVICE_QOS)
        assert cancel.wait_for_service(timeout_sec=60)
        futures = [cancel.call_async(CancelTask.Request(task_id=t)) for t in accepted]
        fleet.spin_until(lambda: all(f.done() for f in futures), 'cancel replies')
        assert len(futures) == len(accepted)
    finally:
        for node in callers:
            node.destroy_node()


def test_200_concurrent_asrs_requests_are_all_answered(ros: None, tmp_path: Path) -> None:
    node = AsrsNode(parameter_overrides=[
        Parameter('map_path', value=str(DEMO_MAP)),
        Parameter('inventory_db', value=str(tmp_path / 'asrs.db')),
        Parameter('use_sim_time', value=True)])  # no /clock: the crane stays put
    client = Node('wcs_test_client')
    executor = SingleThreadedExecutor()
    for n in (node, client):
        executor.add_node(n)
    try:
        submit = client.create_client(SubmitTask, 'asrs/submit_task', qos_profile=SERVICE_QOS)
        assert submit.wait_for_service(timeout_sec=60)
        futures = []
        for i in range(CALLS):
            sku = 'SKU-0001' if i % 2 == 0 else 'SKU-NOPE'
            futures.append(submit.call_async(SubmitTask.Request(
                kind='asrs_store', payload_json=json.dumps({'tote_id': f'T-{i}', 'sku': sku}))))
        spin_until(executor, lambda: all(f.done() for f in futures), f'{CALLS} replies')
        replies = [f.result() for f in futures]
        assert sum(r.accepted for r in replies) + sum(
            'payload.sku' in r.error for r in replies) == CALLS
        stored = [r for r in replies[::2] if r.accepted]
        full = [r for r in replies[::2] if not r.accepted]
        assert all('slot' in r.error for r in full), full[:1]  # only a full rack refuses these
        assert len(stored) == node.controller.pending_jobs
    finally:
        node.destroy_node()
        client.destroy_node()
