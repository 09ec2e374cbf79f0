"""Alarm registry: raise with ids, acknowledge with who and when, list, events on topic alarm."""

from __future__ import annotations

import pytest

from fleet_manager.alarms import AlarmRegistry, UnknownAlarm
from fleet_manager.events import EventBus


def test_raise_acknowledge_clear_and_events() -> None:
    bus = EventBus()
    seen: list[tuple[str, str]] = []
    bus.subscribe(lambda e: seen.append((e.topic, e.kind)))
    now = [5.0]
    reg = AlarmRegistry(bus, clock=lambda: now[0])
    a = reg.raise_alarm("robot:R1", "E_STOP", "error", "emergency stop")
    b = reg.raise_alarm("plc:CV1", "TIMEOUT", "warning", "no heartbeat")
    assert (a.id, b.id) == ("A-000001", "A-000002") and a.raised_s == 5.0
    now[0] = 9.0
    reg.acknowledge(a.id, "alice")
    reg.acknowledge(a.id, "bob")  # the first acknowledgement stands
    assert a.acknowledged_by == "alice" and a.acknowledged_s == 9.0
    reg.clear(b.id)
    assert [x.id for x in reg.list(active_only=True)] == [a.id] and len(reg.list()) == 2
    assert seen == [
        ("alarm", "raised"),
        ("alarm", "raised"),
        ("alarm", "acknowledged"),
        ("alarm", "cleared"),
    ]
    with pytest.raises(UnknownAlarm, match="A-999"):
        reg.acknowledge("A-999", "alice")
    with pytest.raises(ValueError, match="needs a user"):
        reg.acknowledge(a.id, "")
    with pytest.raises(ValueError, match="severity 'loud'"):
        reg.raise_alarm("x", "y", "loud", "z")
    reg.continue_numbering(41)
    assert reg.raise_alarm("x", "y", "info", "z").id == "A-000042"
