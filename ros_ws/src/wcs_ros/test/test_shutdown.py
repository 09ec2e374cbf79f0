"""Real rclpy: goals still executing when the fleet process stops are aborted with a reason."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

from action_msgs.msg import GoalStatus
from harness import TINY_MAP, WAIT_S, spin_until
from rclpy.action import ActionClient
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from wcs_interfaces.action import ExecuteTask


def test_executing_goals_are_aborted_with_a_reason_on_sigint(ros: None) -> None:
    # sim_speed 0: the simulation stands still, so no goal can finish before the signal.
    proc = subprocess.Popen(
        [sys.executable, '-m', 'wcs_ros.fleet_main', '--ros-args',
         '-p', f'wcs_simulator:map_path:={TINY_MAP}', '-p', 'wcs_simulator:orders_per_h:=0.0',
         '-p', 'wcs_simulator:sim_speed:=0.0'],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    node = Node('wcs_test_client')
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    try:
        client = ActionClient(node, ExecuteTask, 'execute_task')
        assert client.wait_for_server(timeout_sec=WAIT_S)
        handles = []
        for robot in ('R01', 'R02'):
            future = client.send_goal_async(ExecuteTask.Goal(
                kind='park', payload_json=json.dumps({'robot': robot})))
            spin_until(executor, future.done, f'goal for {robot}')
            assert future.result().accepted
            handles.append(future.result())
        results = [h.get_result_async() for h in handles]
        for _ in range(20):  # let the result requests reach the server
            executor.spin_once(timeout_sec=0.05)
        assert not any(r.done() for r in results)

        proc.send_signal(signal.SIGINT)
        spin_until(executor, lambda: all(r.done() for r in results), 'results after SIGINT')
        for response in (r.result() for r in results):
            assert response.status == GoalStatus.STATUS_ABORTED
            assert 'shutting down' in response.result.reason
            assert response.result.task_id.startswith('RT-')
            assert response.result.final_state == 'queued'
    finally:
        node.destroy_node()
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=WAIT_S)
    assert proc.returncode == 0, out[-3000:]
