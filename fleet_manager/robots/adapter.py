"""The RobotAdapter protocol: what the dispatcher may ask of a robot, simulated or real.

The dispatcher runs a discrete control loop. Once per tick it reads `status()` of every robot,
plans one step for all of them at once, and sends each robot that is free to move exactly one
`move_to(node)` (the next node of its plan: a successor of its current node, or the node itself
to stand still). Everything else (lifting, charging, pausing) is a separate command.

Contract for implementers (simulated robot in-process, VDA 5050 robot over MQTT, ...):

- `status().node` is the node the robot occupies *or is committed to*: after `move_to(v)` the
  robot reports `node == v` at once, with `busy=True` until it has physically arrived and
  settled. The planner treats a busy robot as an obstacle on that node (it is "pinned").
- `busy=True` means "cannot take a move command this tick" (still driving, turning, lifting or
  setting down). Commands other than pause/resume/stop_charging on a busy robot raise
  `CommandRejected`.
- `online=False` or `error` set: the dispatcher stops assigning work, re-queues what it can and
  raises an alarm; the robot stays an obstacle on its last node.
- Commands never block; they raise `CommandRejected` (with a message naming the robot) when the
  robot cannot accept them (offline, busy, not adjacent, no pod to set down...).
- Battery is a state of charge in 0..1. `charging` is True between start_charging and
  stop_charging (the robot must be standing on a charger node; the dispatcher ensures that).
"""

from __future__ import annotations

from typing import NamedTuple, Protocol, runtime_checkable

from fleet_manager.domain import NodeId, PodId, RobotId


class CommandRejected(ValueError):
    """A robot (or the dispatcher on its behalf) refused a command; str() names the robot."""


class RobotStatus(NamedTuple):
    """One robot's state as the dispatcher sees it at the start of a tick (immutable, cheap)."""

    robot_id: RobotId
    node: NodeId
    heading_deg: float  # 0 = +x (east), 90 = north (up on the map)
    battery_soc: float  # 0..1
    busy: bool  # cannot take a move this tick (driving, turning, lifting)
    pod_id: PodId | None = None  # pod on top of the robot, if any
    online: bool = True
    error: str | None = None  # fault code, None when healthy
    charging: bool = False
    paused: bool = False


@runtime_checkable
class RobotAdapter(Protocol):
    """A robot the dispatcher can command. See the module docstring for the full contract."""

    @property
    def id(self) -> RobotId: ...

    def status(self) -> RobotStatus:
        """Latest known state (cheap; called every tick)."""
        ...

    def move_to(self, node: NodeId) -> None:
        """Drive to `node`, a successor of the current node (or the node itself: stay/stop)."""
        ...

    def lift_pod(self, pod_id: PodId) -> None:
        """Lift the pod standing on the current node; busy for the lift time."""
        ...

    def set_down_pod(self) -> None:
        """Set the carried pod down on the current node; busy for the set-down time."""
        ...

    def start_charging(self) -> None:
        """Start charging (robot stands on a charger node)."""
        ...

    def stop_charging(self) -> None:
        """Stop charging; the robot may move again next tick."""
        ...

    def pause(self) -> None:
        """Stop where it is at once and accept no move until resume()."""
        ...

    def resume(self) -> None:
        """Undo pause()."""
        ...
