"""Real rclpy: the dispatcher and simulator nodes over DDS, driven by a client node."""

from __future__ import annotations

import json
import time

from action_msgs.msg import GoalStatus
from harness import TINY_MAP, WAIT_S, Fleet, spin_until
from rclpy.action import ActionClient
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rosgraph_msgs.msg import Clock
from wcs_interfaces.action import ExecuteTask
from wcs_interfaces.msg import FleetState, TaskState
from wcs_interfaces.srv import CancelTask, CommandRobot, SubmitTask
from wcs_ros.convert import MapFrame, fleet_state_from_ros, time_from_ros, time_to_ros
from wcs_ros.qos import CLOCK_QOS, FLEET_STATE_QOS, TASK_STATE_QOS
from wcs_ros.simulator_node import SimulatorNode

from fleet_manager.site import load_site
from sim.world import Simulation


def park(robot: str) -> dict[str, object]:
    return {'kind': 'park', 'priority': 5, 'payload_json': json.dumps({'robot': robot})}


def test_submit_through_service_runs_the_task_to_done(fleet: Fleet) -> None:
    states: list[TaskState] = []
    fleet.client.create_subscription(TaskState, 'task_states', states.append, TASK_STATE_QOS)
    submit = fleet.client.create_client(SubmitTask, 'submit_task')

    reply = fleet.call(submit, SubmitTask.Request(**park('R01')))
    assert reply.accepted, reply.error
    task_id = reply.task_id
    fleet.spin_until(lambda: any(s.task_id == task_id and s.state == 'done' for s in states),
                     f'task {task_id} done on task_states')
    seen = [s.state for s in states if s.task_id == task_id]
    assert seen[0] == 'queued' and seen[-1] == 'done'
    assert 'assigned' in seen and 'active' in seen
    assert fleet.sim.tasks[task_id].state == 'done'
    assert fleet.sim.tasks[task_id].resource_id == 'R01'


def test_action_gives_feedback_and_result(fleet: Fleet) -> None:
    client = ActionClient(fleet.client, ExecuteTask, 'execute_task')
    assert client.wait_for_server(timeout_sec=60)
    feedback: list[ExecuteTask.Feedback] = []
    goal_future = client.send_goal_async(ExecuteTask.Goal(**park('R02')),
                                         feedback_callback=lambda m: feedback.append(m.feedback))
    fleet.spin_until(goal_future.done, 'goal acceptance')
    handle = goal_future.result()
    assert handle.accepted
    result_future = handle.get_result_async()
    fleet.spin_until(result_future.done, 'action result')

    response = result_future.result()
    assert response.status == GoalStatus.STATUS_SUCCEEDED
    assert response.result.final_state == 'done'
    task_id = response.result.task_id
    assert fleet.sim.tasks[task_id].state == 'done'
    states = [f.state for f in feedback]
    assert states[0] == 'queued' and 'active' in states
    assert {f.task_id for f in feedback} == {task_id}
    assert feedback[-1].resource_id == 'R02'


def test_fleet_state_positions_match_the_simulator(fleet: Fleet) -> None:
    messages: list[FleetState] = []
    fleet.client.create_subscription(FleetState, 'fleet_state', messages.append, FLEET_STATE_QOS)
    submit = fleet.client.create_client(SubmitTask, 'submit_task')
    reply = fleet.call(submit, SubmitTask.Request(**park('R03')))
    assert reply.accepted, reply.error
    task = fleet.sim.tasks[reply.task_id]
    fleet.spin_until(lambda: task.is_terminal and len(messages) >= 5, 'park task and messages')
    frame = MapFrame.for_site(fleet.sim.site)

    assert messages
    moved = False
    start = fleet.positions[0.0]
    for msg in messages:
        expected = fleet.positions[msg.sim_time_s]
        _, robots = fleet_state_from_ros(msg, frame)
        got = {r['id']: (r['x_m'], r['y_m']) for r in robots}
        assert got == expected, f'fleet_state at {msg.sim_time_s} s differs from the simulator'
        moved = moved or got != start
    assert moved, 'no fleet_state message showed a robot moving'
    assert sorted(got) == ['R01', 'R02', 'R03']


def test_cancel_through_action_and_service(fleet: Fleet) -> None:
    client = ActionClient(fleet.client, ExecuteTask, 'execute_task')
    assert client.wait_for_server(timeout_sec=60)
    feedback: list[ExecuteTask.Feedback] = []
    goal_future = client.send_goal_async(ExecuteTask.Goal(**park('R01')),
                                         feedback_callback=lambda m: feedback.append(m.feedback))
    fleet.spin_until(lambda: goal_future.done() and feedback, 'first feedback')
    handle = goal_future.result()
    cancel_future = handle.cancel_goal_async()
    fleet.spin_until(cancel_future.done, 'cancel reply')
    assert len(cancel_future.result().goals_canceling) == 1
    result_future = handle.get_result_async()
    fleet.spin_until(result_future.done, 'result after cancel')
    response = result_future.result()
    assert response.status == GoalStatus.STATUS_CANCELED
    assert response.result.final_state == 'cancelled'
    assert fleet.sim.tasks[feedback[0].task_id].state == 'cancelled'

    submit = fleet.client.create_client(SubmitTask, 'submit_task')
    cancel = fleet.client.create_client(CancelTask, 'cancel_task')
    task_id = fleet.call(submit, SubmitTask.Request(**park('R02'))).task_id
    assert fleet.call(cancel, CancelTask.Request(task_id=task_id)).accepted
    again = fleet.call(cancel, CancelTask.Request(task_id=task_id))
    assert not again.accepted and 'already cancelled' in again.error
    unknown = fleet.call(cancel, CancelTask.Request(task_id='T-nope'))
    assert not unknown.accepted and 'T-nope' in unknown.error


def test_malformed_requests_get_errors_and_the_nodes_keep_serving(fleet: Fleet) -> None:
    submit = fleet.client.create_client(SubmitTask, 'submit_task')
    bad_kind = fleet.call(submit, SubmitTask.Request(kind='teleport', payload_json='{}'))
    assert not bad_kind.accepted and 'kind' in bad_kind.error and 'teleport' in bad_kind.error
    bad_json = fleet.call(submit, SubmitTask.Request(kind='park', payload_json='{robot'))
    assert not bad_json.accepted and 'payload_json' in bad_json.error
    not_object = fleet.call(submit, SubmitTask.Request(kind='park', payload_json='[1]'))
    assert not not_object.accepted and 'JSON object' in not_object.error
    core_refusal = fleet.call(submit, SubmitTask.Request(kind='park',
                                                         payload_json='{"robot": "R9"}'))
    assert not core_refusal.accepted and 'R9' in core_refusal.error
    assert fleet.sim.tasks == {}  # nothing half-applied

    client = ActionClient(fleet.client, ExecuteTask, 'execute_task')
    assert client.wait_for_server(timeout_sec=60)
    # Refused goals are rejected at once (never accepted, then aborted), as submit_task does.
    for kind, payload in (('teleport', {}), ('park', {'robot': 'R9'}),
                          ('asrs_store', {'sku': 'SKU-1'}), ('pod_fetch', {'pod_id': 'POD1'})):
        goal_future = client.send_goal_async(ExecuteTask.Goal(kind=kind,
                                                              payload_json=json.dumps(payload)))
        fleet.spin_until(goal_future.done, 'goal response')
        assert not goal_future.result().accepted, (kind, payload)
    assert fleet.sim.tasks == {}

    command = fleet.client.create_client(CommandRobot, 'command_robot')
    unknown = fleet.call(command, CommandRobot.Request(robot_id='R9', command='pause'))
    assert not unknown.accepted and 'R9' in unknown.error
    bad = fleet.call(command, CommandRobot.Request(robot_id='R01', command='fly'))
    assert not bad.accepted and 'fly' in bad.error

    ok = fleet.call(submit, SubmitTask.Request(**park('R01')))
    assert ok.accepted, ok.error
    paused = fleet.call(command, CommandRobot.Request(robot_id='R02', command='pause'))
    assert paused.accepted, paused.error
    assert fleet.sim.snapshot()['robots'][1]['paused']


def test_stamps_are_ros_time_and_simulated_time_goes_on_clock(fleet: Fleet) -> None:
    messages: list[FleetState] = []
    clocks: list[Clock] = []
    fleet.client.create_subscription(FleetState, 'fleet_state', messages.append, FLEET_STATE_QOS)
    fleet.client.create_subscription(Clock, '/clock', clocks.append, CLOCK_QOS)
    fleet.spin_until(lambda: len(messages) >= 3 and len(clocks) >= 3, 'fleet_state and /clock')
    wall_s = time.time()
    for msg in messages:
        assert msg.header.frame_id == 'map'
        assert all(r.header.frame_id == 'map' and r.header.stamp == msg.header.stamp
                   for r in msg.robots)
        # ROS time (wall clock here: use_sim_time is off), not the simulated seconds
        assert abs(time_from_ros(msg.header.stamp) - wall_s) < WAIT_S
        assert msg.sim_time_s < 1e6
    ticks = [time_from_ros(c.clock) for c in clocks]
    assert ticks == sorted(ticks) and ticks[-1] <= fleet.sim.now_s
    assert all(t in fleet.positions for t in ticks)  # each /clock value is a simulated step


def test_with_use_sim_time_the_stamp_is_the_simulated_time(ros: None) -> None:
    sim = Simulation(load_site(TINY_MAP), seed=0, config={'orders_per_h': 0})
    node = SimulatorNode(sim=sim, parameter_overrides=[Parameter('use_sim_time', value=True)])
    client = Node('wcs_test_client')
    messages: list[FleetState] = []
    client.create_subscription(FleetState, 'fleet_state', messages.append, FLEET_STATE_QOS)
    executor = SingleThreadedExecutor()
    for n in (node, client):
        executor.add_node(n)
    try:
        spin_until(executor, lambda: any(m.sim_time_s > 0 for m in messages), 'fleet_state')
        for msg in messages:
            assert msg.header.stamp == time_to_ros(msg.sim_time_s)
    finally:
        node.destroy_node()
        client.destroy_node()
