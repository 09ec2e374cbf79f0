"""Round trips of the pure conversions between core types and wcs_interfaces messages."""

from __future__ import annotations

import math

import pytest
from builtin_interfaces.msg import Time
from wcs_ros import convert
from wcs_ros.convert import ConversionError

from fleet_manager.domain import Task, TaskEvent, TaskKind, TaskState
from fleet_manager.events import Event

ROBOT = {'id': 'AMR-01', 'x_m': 3.125, 'y_m': 1.875, 'heading_deg': 270.0, 'state': 'to_pod',
         'battery_soc': 0.8123, 'task_id': 'T-000004', 'pod_id': None, 'paused': False}


FRAME = convert.MapFrame(depth_m=10.0)


def test_robot_and_fleet_state_round_trip() -> None:
    msg = convert.robot_state_to_ros(ROBOT, FRAME)
    assert convert.robot_state_from_ros(msg, FRAME) == ROBOT
    idle = dict(ROBOT, task_id=None, pod_id='P-7', paused=True, heading_deg=0.0)
    stamp = Time(sec=1_700_000_000, nanosec=5)
    fleet = convert.fleet_state_to_ros([ROBOT, idle], 12.75, stamp, FRAME)
    assert fleet.header.stamp == stamp and fleet.header.frame_id == 'map'
    t_s, robots = convert.fleet_state_from_ros(fleet, FRAME)
    assert t_s == 12.75 and robots == [ROBOT, idle]


@pytest.mark.parametrize(('heading_deg', 'yaw_rad'), [
    (0.0, 0.0), (90.0, -math.pi / 2), (180.0, math.pi), (270.0, math.pi / 2), (45.0, -math.pi / 4),
])
def test_robot_pose_is_enu_in_the_map_frame(heading_deg: float, yaw_rad: float) -> None:
    """REP 103: y up (site y mirrored over the floor depth), yaw counter-clockwise in radians."""
    msg = convert.robot_state_to_ros(dict(ROBOT, heading_deg=heading_deg), FRAME)
    assert (msg.x_m, msg.y_m) == (3.125, 10.0 - 1.875)
    assert msg.header.frame_id == 'map'
    assert msg.yaw_rad == pytest.approx(yaw_rad)
    assert -math.pi < msg.yaw_rad <= math.pi
    # site heading 90 deg points down the rows (south): in ENU that is -y, yaw -pi/2
    if heading_deg == 90.0:
        assert math.sin(msg.yaw_rad) == pytest.approx(-1.0)


def test_a_robot_state_in_another_frame_is_refused() -> None:
    msg = convert.robot_state_to_ros(ROBOT, FRAME)
    msg.header.frame_id = 'odom'
    with pytest.raises(ConversionError, match='^header.frame_id:'):
        convert.robot_state_from_ros(msg, FRAME)


@pytest.mark.parametrize('t_s', [0.0, 0.5, 12.75, 3600.000000001, 86399.999999999])
def test_time_round_trip(t_s: float) -> None:
    stamp = convert.time_to_ros(t_s)
    assert 0 <= stamp.nanosec < 1_000_000_000
    assert convert.time_from_ros(stamp) == pytest.approx(t_s, abs=1e-9)


def test_task_event_round_trip() -> None:
    task = Task('T-1', TaskKind.PARK, 1.0, payload={'robot': 'R01'})
    created = task.history[0]
    assigned = task.transition(TaskState.ASSIGNED, 2.5, 'nearest', 'R01')
    for event in (created, assigned):
        assert convert.task_event_from_ros(convert.task_event_to_ros(event)) == event


def test_task_request_round_trip() -> None:
    task = Task('T-9', TaskKind.CHARGE, 4.0, priority=7, payload={'robot': 'R02', 'n': [1, 2]})
    goal = convert.task_to_ros(task)
    back = convert.task_from_ros(goal.kind, goal.priority, goal.payload_json, 'T-9', 4.0)
    assert (back.id, back.kind, back.priority, back.payload, back.created_s) == \
        (task.id, task.kind, task.priority, task.payload, task.created_s)
    assert back.state == TaskState.QUEUED


@pytest.mark.parametrize(('kind', 'payload', 'field'), [
    ('teleport', '{}', 'kind'),
    ('', '{}', 'kind'),
    ('park', '{robot', 'payload_json'),
    ('park', '"R01"', 'payload_json'),
    ('park', '[1, 2]', 'payload_json'),
])
def test_malformed_task_requests_name_the_field(kind: str, payload: str, field: str) -> None:
    with pytest.raises(ConversionError, match=f'^{field}:'):
        convert.task_from_ros(kind, 0, payload, 'T-1', 0.0)


def test_empty_payload_is_an_empty_object() -> None:
    assert convert.task_from_ros('park', 0, '', 'T-1', 0.0).payload == {}


def test_feedback_and_result_carry_the_task_event() -> None:
    event = TaskEvent('T-3', TaskKind.PARK, TaskState.ACTIVE, TaskState.DONE, 9.0, 'arrived',
                      'R03')
    feedback = convert.feedback_to_ros(event, 9.5)
    assert (feedback.task_id, feedback.state, feedback.resource_id, feedback.sim_time_s) == \
        ('T-3', 'done', 'R03', 9.5)
    result = convert.result_to_ros(event)
    assert (result.task_id, result.final_state, result.reason) == ('T-3', 'done', 'arrived')


@pytest.mark.parametrize('severity', ['info', 'warning', 'error', 'critical'])
def test_alarm_round_trip(severity: str) -> None:
    data = {'id': 'A-000001', 'source': 'robot:R01', 'code': 'E_STOP', 'severity': severity,
            'message': 'robot R01: e-stop', 'raised_s': 3.0, 'acknowledged_by': 'ops',
            'acknowledged_s': 4.0, 'cleared_s': None}
    back = convert.alarm_from_ros(convert.alarm_to_ros(Event('alarm', 'acknowledged', 4.0, data)))
    assert back == {'id': 'A-000001', 'source': 'robot:R01', 'code': 'E_STOP',
                    'severity': severity, 'message': 'robot R01: e-stop', 'active': True,
                    'acknowledged_by': 'ops', 'at_s': 4.0}
    cleared = convert.alarm_to_ros(Event('alarm', 'cleared', 5.0, dict(data, cleared_s=5.0)))
    assert not cleared.active


def test_plc_alarm_events_become_alarms() -> None:
    raised = convert.alarm_to_ros(Event('alarm', 'raised', 2.0, {
        'code': 'plc_connection_lost', 'plc': 'demo-sorter', 'message': 'refused'}))
    assert (raised.alarm_id, raised.source, raised.active, raised.message) == \
        ('demo-sorter:plc_connection_lost', 'plc:demo-sorter', True, 'refused')
    cleared = convert.alarm_to_ros(Event('alarm', 'cleared', 3.0, {
        'code': 'plc_connection_lost', 'plc': 'demo-sorter'}))
    assert cleared.alarm_id == raised.alarm_id and not cleared.active


@pytest.mark.parametrize('event', [
    Event('conveyor', 'zone_state', 1.5, {'plc': 'demo-sorter', 'zone': 3, 'state': 'occupied'}),
    Event('conveyor', 'running', 2.0, {'plc': 'demo-sorter', 'fault': 'none'}),
    Event('conveyor', 'stopped', 2.5, {'plc': 'demo-sorter', 'fault': 'estop'}),
])
def test_conveyor_event_round_trip(event: Event) -> None:
    assert convert.conveyor_zone_from_ros(convert.conveyor_zone_to_ros(event)) == event


@pytest.mark.parametrize('event', [
    Event('sort', 'scanned', 4.0, {'tracking_id': 17, 'barcode': 'ORD-1-2', 'lane': 'L2',
                                   'reason': 'order lane', 'order_id': 'ORD-1'}),
    Event('sort', 'sorted', 5.0, {'tracking_id': 17, 'barcode': 'ORD-1-2', 'decided': 'L2',
                                  'actual': 'L2'}),
    Event('sort', 'divert_written', 4.1, {'tracking_id': 17, 'lane': 'L2'}),
])
def test_sort_event_round_trip(event: Event) -> None:
    back = convert.sort_event_from_ros(convert.sort_event_to_ros(event))
    assert back['kind'] == event.kind and back['at_s'] == event.at_s
    for key in ('tracking_id', 'barcode', 'lane', 'decided', 'actual', 'reason', 'order_id'):
        assert back.get(key) == event.data.get(key), key
