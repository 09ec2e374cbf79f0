"""Pure conversions between core types (fleet_manager) and wcs_interfaces messages."""

# Every `*_to_ros` has a `*_from_ros` so round trips can be tested; nothing here touches a node.
# Robot poses go out in the REP 103/105 "map" frame (ENU: x east, y north, metres, yaw in
# radians counter-clockwise); the core's site frame is y down with headings in degrees
# clockwise. MapFrame is the same mirror the Gazebo export uses, so both worlds line up.

from __future__ import annotations

import json
import math
from typing import Any

from builtin_interfaces.msg import Time
from std_msgs.msg import Header
from wcs_interfaces.action import ExecuteTask
from wcs_interfaces.msg import (
    Alarm,
    ConveyorZone,
    FleetState,
    RobotState,
    SortEvent,
    TaskState,
)

from fleet_manager.domain import Task, TaskEvent, TaskKind
from fleet_manager.domain import TaskState as CoreTaskState
from fleet_manager.events import Event
from sim.gazebo.sdf import WorldFrame as MapFrame

MAP_FRAME = 'map'

SEVERITIES = ('info', 'warning', 'error', 'critical')  # index = Alarm.SEVERITY_* constant
ROBOT_FIELDS = ('id', 'state', 'battery_soc', 'task_id', 'pod_id', 'paused')


class ConversionError(ValueError):
    """A ROS request that cannot become a core object; str() names the field at fault."""


def time_to_ros(t_s: float) -> Time:
    """Convert simulated seconds to builtin_interfaces/Time."""
    sec = math.floor(t_s)
    return Time(sec=int(sec), nanosec=round((t_s - sec) * 1e9) % 1_000_000_000)


def time_from_ros(stamp: Time) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


def yaw_from_heading(heading_deg: float) -> float:
    """Site heading (degrees clockwise, y down) -> yaw in radians in (-pi, pi]."""
    yaw = math.remainder(-math.radians(heading_deg), math.tau)
    return math.pi if yaw == -math.pi else yaw


def heading_from_yaw(yaw_rad: float) -> float:
    """Yaw (radians counter-clockwise) -> site heading in degrees in [0, 360)."""
    return (-math.degrees(yaw_rad)) % 360.0


def header(stamp: Time, frame_id: str = MAP_FRAME) -> Header:
    return Header(stamp=stamp, frame_id=frame_id)


def robot_state_to_ros(robot: dict[str, Any], frame: MapFrame,
                       stamp: Time | None = None) -> RobotState:
    """One robot of Simulation.snapshot()['robots'] in the map frame; None ids become ''."""
    x_m, y_m = frame.xy(float(robot['x_m']), float(robot['y_m']))
    return RobotState(
        header=header(stamp or Time()),
        id=str(robot['id']),
        x_m=x_m,
        y_m=y_m,
        yaw_rad=yaw_from_heading(float(robot.get('heading_deg', 0.0))),
        state=str(robot.get('state', '')),
        battery_soc=float(robot.get('battery_soc', 0.0)),
        task_id=robot.get('task_id') or '',
        pod_id=robot.get('pod_id') or '',
        paused=bool(robot.get('paused', False)),
    )


def robot_state_from_ros(msg: RobotState, frame: MapFrame) -> dict[str, Any]:
    """Back to the site frame (x right, y down, heading in degrees) of the snapshot."""
    if msg.header.frame_id != MAP_FRAME:
        raise ConversionError(f'header.frame_id: expected {MAP_FRAME!r}, got '
                              f'{msg.header.frame_id!r}')
    x_m, y_m = frame.xy(msg.x_m, msg.y_m)  # the mirror is its own inverse
    out: dict[str, Any] = {'id': msg.id, 'x_m': x_m, 'y_m': y_m,
                           'heading_deg': heading_from_yaw(msg.yaw_rad)}
    out.update({name: getattr(msg, name) for name in ROBOT_FIELDS if name != 'id'})
    out['task_id'] = msg.task_id or None
    out['pod_id'] = msg.pod_id or None
    return out


def fleet_state_to_ros(robots: list[dict[str, Any]], sim_time_s: float, stamp: Time,
                       frame: MapFrame) -> FleetState:
    """All robots; `stamp` is ROS time (simulated when use_sim_time), sim_time_s the core's."""
    return FleetState(header=header(stamp), sim_time_s=float(sim_time_s),
                      robots=[robot_state_to_ros(r, frame, stamp) for r in robots])


def fleet_state_from_ros(msg: FleetState, frame: MapFrame) -> tuple[float, list[dict[str, Any]]]:
    return msg.sim_time_s, [robot_state_from_ros(r, frame) for r in msg.robots]


def task_event_to_ros(event: TaskEvent) -> TaskState:
    return TaskState(
        task_id=event.task_id,
        kind=str(event.kind),
        from_state=str(event.from_state) if event.from_state is not None else '',
        state=str(event.to_state),
        at_s=float(event.at_s),
        reason=event.reason,
        resource_id=event.resource_id or '',
    )


def task_event_from_ros(msg: TaskState) -> TaskEvent:
    return TaskEvent(
        task_id=msg.task_id,
        kind=TaskKind(msg.kind),
        from_state=CoreTaskState(msg.from_state) if msg.from_state else None,
        to_state=CoreTaskState(msg.state),
        at_s=msg.at_s,
        reason=msg.reason,
        resource_id=msg.resource_id or None,
    )


def parse_payload(payload_json: str) -> dict[str, Any]:
    """Parse a request's payload_json into a dict ('' is {}); ConversionError names the field."""
    try:
        payload = json.loads(payload_json) if payload_json.strip() else {}
    except json.JSONDecodeError as exc:
        raise ConversionError(f'payload_json: not valid JSON ({exc.msg} at char {exc.pos})') \
            from None
    if not isinstance(payload, dict):
        raise ConversionError('payload_json: must be a JSON object')
    return payload


def task_from_ros(kind: str, priority: int, payload_json: str, task_id: str,
                  now_s: float) -> Task:
    """Build a new queued Task from request fields; raises ConversionError naming the bad field."""
    try:
        task_kind = TaskKind(kind)
    except ValueError:
        allowed = ', '.join(k.value for k in TaskKind)
        raise ConversionError(f'kind: unknown task kind {kind!r} (one of {allowed})') from None
    return Task(id=task_id, kind=task_kind, created_s=now_s, priority=int(priority),
                payload=parse_payload(payload_json))


def task_to_ros(task: Task) -> ExecuteTask.Goal:
    """Convert a task's request fields (kind, priority, payload) to an ExecuteTask goal."""
    return ExecuteTask.Goal(kind=str(task.kind), priority=int(task.priority),
                            payload_json=json.dumps(task.payload, sort_keys=True))


def feedback_to_ros(event: TaskEvent, sim_time_s: float) -> ExecuteTask.Feedback:
    return ExecuteTask.Feedback(task_id=event.task_id, state=str(event.to_state),
                                resource_id=event.resource_id or '', sim_time_s=float(sim_time_s))


def result_to_ros(event: TaskEvent) -> ExecuteTask.Result:
    return ExecuteTask.Result(task_id=event.task_id, final_state=str(event.to_state),
                              reason=event.reason)


def alarm_to_ros(event: Event) -> Alarm:
    """Convert an 'alarm' bus event: an AlarmRegistry record or a PLC bridge alarm code."""
    data = event.data
    plc = data.get('plc')
    severity = str(data.get('severity', 'error'))
    return Alarm(
        alarm_id=str(data.get('id') or f'{plc}:{data.get("code", "")}'),
        source=str(data.get('source') or (f'plc:{plc}' if plc else '')),
        code=str(data.get('code', '')),
        severity=SEVERITIES.index(severity) if severity in SEVERITIES else Alarm.SEVERITY_ERROR,
        message=str(data.get('message') or data.get('code', '')),
        active=event.kind != 'cleared' and data.get('cleared_s') is None,
        acknowledged_by=data.get('acknowledged_by') or '',
        at_s=float(event.at_s),
    )


def alarm_from_ros(msg: Alarm) -> dict[str, Any]:
    return {
        'id': msg.alarm_id,
        'source': msg.source,
        'code': msg.code,
        'severity': SEVERITIES[msg.severity] if msg.severity < len(SEVERITIES) else 'error',
        'message': msg.message,
        'active': msg.active,
        'acknowledged_by': msg.acknowledged_by or None,
        'at_s': msg.at_s,
    }


def conveyor_zone_to_ros(event: Event) -> ConveyorZone:
    """Convert a 'conveyor' bus event: kind zone_state (one zone) or running/stopped (the line)."""
    data = event.data
    if event.kind == 'zone_state':
        zone, state = int(data['zone']), str(data.get('state', ''))
    else:
        zone, state = ConveyorZone.ZONE_LINE, event.kind
    return ConveyorZone(plc=str(data.get('plc', '')), zone=zone, state=state,
                        fault=str(data.get('fault') or ''), at_s=float(event.at_s))


def conveyor_zone_from_ros(msg: ConveyorZone) -> Event:
    if msg.zone == ConveyorZone.ZONE_LINE:
        data: dict[str, Any] = {'plc': msg.plc, 'fault': msg.fault}
        return Event('conveyor', msg.state, msg.at_s, data)
    return Event('conveyor', 'zone_state', msg.at_s,
                 {'plc': msg.plc, 'zone': msg.zone, 'state': msg.state})


def sort_event_to_ros(event: Event) -> SortEvent:
    """Convert a 'sort' bus event: scanned, divert_written, unknown_confirmation or an outcome."""
    data = event.data
    decided = data.get('decided')
    lane = data.get('actual') if decided is not None else data.get('lane')
    return SortEvent(
        kind=event.kind,
        tracking_id=int(data.get('tracking_id', 0)),
        barcode=str(data.get('barcode') or ''),
        lane_id=str(lane or ''),
        decided_lane_id=str(decided or ''),
        reason=str(data.get('reason') or ''),
        order_id=str(data.get('order_id') or ''),
        at_s=float(event.at_s),
    )


def sort_event_from_ros(msg: SortEvent) -> dict[str, Any]:
    """Return the fields a SortEvent carries, named as the bus event names them."""
    out: dict[str, Any] = {'kind': msg.kind, 'tracking_id': msg.tracking_id,
                           'barcode': msg.barcode or None, 'reason': msg.reason or None,
                           'order_id': msg.order_id or None, 'at_s': msg.at_s}
    if msg.decided_lane_id:
        out.update(decided=msg.decided_lane_id, actual=msg.lane_id or None)
    else:
        out['lane'] = msg.lane_id or None
    return out
