"""Alarm registry: raise, acknowledge (who and when) and list alarms; each change is an event."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fleet_manager.clock import iso_utc
from fleet_manager.events import EventBus

SEVERITIES = ("info", "warning", "error", "critical")


class UnknownAlarm(KeyError):
    """No alarm has this id."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown alarm"


@dataclass
class Alarm:
    """One alarm: what raised it, why, and whether a person has acknowledged it."""

    id: str
    source: str  # e.g. "robot:R-01", "plc:conveyor-1"
    code: str
    severity: str
    message: str
    raised_s: float
    acknowledged_by: str | None = None
    acknowledged_s: float | None = None
    cleared_s: float | None = None
    # Wall time (epoch seconds) beside the simulated seconds above.
    raised_wall_s: float | None = None
    acknowledged_wall_s: float | None = None
    cleared_wall_s: float | None = None

    @property
    def active(self) -> bool:
        return self.cleared_s is None

    @property
    def state(self) -> str:
        if self.cleared_s is not None:
            return "cleared"
        return "acknowledged" if self.acknowledged_by else "active"

    def as_dict(self) -> dict[str, Any]:
        return alarm_shape(
            id=self.id, code=self.code, severity=self.severity, resource_id=self.source,
            message=self.message, state=self.state, raised_s=self.raised_s,
            acknowledged_by=self.acknowledged_by, acknowledged_s=self.acknowledged_s,
            cleared_s=self.cleared_s, raised_wall_s=self.raised_wall_s,
            acknowledged_wall_s=self.acknowledged_wall_s, cleared_wall_s=self.cleared_wall_s,
        )


def _iso(epoch_s: float | None) -> str | None:
    return None if epoch_s is None else iso_utc(epoch_s)


def alarm_shape(
    *, id: str, code: str, severity: str, resource_id: str | None, message: str, state: str,
    raised_s: float, acknowledged_by: str | None, acknowledged_s: float | None,
    cleared_s: float | None, raised_wall_s: float | None, acknowledged_wall_s: float | None,
    cleared_wall_s: float | None,
) -> dict[str, Any]:
    """The one alarm shape of every endpoint and event: `*_at` wall time (ISO 8601 UTC), with
    the simulated seconds (`*_s`) beside them."""
    return {
        "id": id,
        "code": code,
        "severity": severity,
        "resource_id": resource_id,
        "raised_at": _iso(raised_wall_s),
        "acknowledged_by": acknowledged_by,
        "acknowledged_at": _iso(acknowledged_wall_s),
        "cleared_at": _iso(cleared_wall_s),
        "message": message,
        "state": state,
        "raised_s": raised_s,
        "acknowledged_s": acknowledged_s,
        "cleared_s": cleared_s,
        # Epoch seconds, so a store written from an event keeps the wall times exactly.
        "raised_wall_s": raised_wall_s,
        "acknowledged_wall_s": acknowledged_wall_s,
        "cleared_wall_s": cleared_wall_s,
    }


class AlarmRegistry:
    """All alarms of one site; publishes topic "alarm" kinds raised / acknowledged / cleared."""

    def __init__(
        self,
        bus: EventBus | None = None,
        clock: Callable[[], float] = lambda: 0.0,
        wall: Callable[[], float] = time.time,
    ):
        self.bus = bus
        self.clock = clock
        self.wall = wall
        self._alarms: dict[str, Alarm] = {}
        self._counter = 0

    def raise_alarm(self, source: str, code: str, severity: str, message: str) -> Alarm:
        if severity not in SEVERITIES:
            raise ValueError(f"alarm severity {severity!r} is not one of {', '.join(SEVERITIES)}")
        self._counter += 1
        alarm = Alarm(
            f"A-{self._counter:06d}", source, code, severity, message, self.clock(),
            raised_wall_s=self.wall(),
        )
        self._alarms[alarm.id] = alarm
        self._publish("raised", alarm)
        return alarm

    def continue_numbering(self, after: int) -> None:
        """Number new alarms after `after` (a restart must not reuse stored alarm ids)."""
        self._counter = max(self._counter, int(after))

    def get(self, alarm_id: str) -> Alarm:
        try:
            return self._alarms[alarm_id]
        except KeyError:
            raise UnknownAlarm(f"unknown alarm id {alarm_id!r}") from None

    def acknowledge(self, alarm_id: str, user: str) -> Alarm:
        alarm = self.get(alarm_id)
        if not user:
            raise ValueError(f"alarm {alarm_id}: acknowledging needs a user name")
        if alarm.acknowledged_by is None:
            alarm.acknowledged_by = user
            alarm.acknowledged_s = self.clock()
            alarm.acknowledged_wall_s = self.wall()
            self._publish("acknowledged", alarm)
        return alarm

    def clear(self, alarm_id: str) -> Alarm:
        alarm = self.get(alarm_id)
        if alarm.cleared_s is None:
            alarm.cleared_s = self.clock()
            alarm.cleared_wall_s = self.wall()
            self._publish("cleared", alarm)
        return alarm

    def list(self, *, active_only: bool = False) -> list[Alarm]:
        return [a for a in self._alarms.values() if a.active or not active_only]

    def _publish(self, kind: str, alarm: Alarm) -> None:
        if self.bus is not None:
            self.bus.emit("alarm", kind, self.clock(), **alarm.as_dict())
