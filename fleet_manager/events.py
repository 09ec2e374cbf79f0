"""In-process event bus: every state change is published once as an Event."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Topics used across the system; the store persists every one with a sequence number.
TOPICS = (
    "order",  # order accepted, progressed, done, cancelled, failed
    "task",  # every task state transition (see fleet_manager.domain.TaskEvent)
    "robot",  # robot state changes: mode, battery band, task, paused, fault
    "station",  # station queue and pick events
    "pick",  # scan-confirmed picks and mismatches
    "alarm",  # alarms raised and acknowledged
    "conveyor",  # conveyor zone states
    "sort",  # scan -> lane decisions, divert confirmations, recirculation
    "lane",  # sorter lane enabled / disabled / full
    "asrs",  # crane moves, slot changes
    "pod",  # a pod left on a stopped robot (stranded), and back in storage
    "kpi",  # periodic KPI snapshots
)


@dataclass(frozen=True)
class Event:
    """One thing that happened; `data` is JSON-serialisable."""

    topic: str
    kind: str
    at_s: float
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"topic": self.topic, "kind": self.kind, "at_s": self.at_s, "data": self.data}


Subscriber = Callable[[Event], None]


class EventBus:
    """Synchronous fan-out; subscribers must be quick and must not raise."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback)

    def publish(self, event: Event) -> None:
        if event.topic not in TOPICS:
            raise ValueError(f"unknown event topic {event.topic!r}")
        for callback in list(self._subscribers):
            callback(event)

    def emit(self, topic: str, kind: str, at_s: float, **data: Any) -> Event:
        event = Event(topic, kind, at_s, data)
        self.publish(event)
        return event
