"""MQTT topic layout `<interfaceName>/<majorVersion>/<manufacturer>/<serialNumber>/<topic>`."""

from __future__ import annotations

from dataclasses import dataclass

INTERFACE_NAME = "uagv"
MAJOR_VERSION = "v2"
PROTOCOL_VERSION = "2.1.0"
MASTER_TOPICS = ("order", "instantActions")  # master -> vehicle
VEHICLE_TOPICS = ("state", "connection", "factsheet", "visualization")  # vehicle -> master
MAJOR_VERSIONS = ("v2", "v3")  # 2.1 and 3.0 vehicles share one broker, apart by this segment


class TopicError(ValueError):
    """A topic that does not follow the VDA 5050 layout."""


@dataclass(frozen=True)
class VehicleAddress:
    """Who a vehicle is on the broker: manufacturer plus serial number under one interface."""

    manufacturer: str
    serial_number: str
    interface_name: str = INTERFACE_NAME
    major_version: str = MAJOR_VERSION

    def topic(self, subtopic: str) -> str:
        return (
            f"{self.interface_name}/{self.major_version}/{self.manufacturer}/"
            f"{self.serial_number}/{subtopic}"
        )


def subscription(subtopic: str, interface_name: str = INTERFACE_NAME, major_version: str = MAJOR_VERSION) -> str:
    """Wildcard filter for one subtopic of every vehicle (`uagv/v2/+/+/state`, `uagv/v3/...`)."""
    return f"{interface_name}/{major_version}/+/+/{subtopic}"


def parse_topic(topic: str) -> tuple[VehicleAddress, str]:
    """Split a topic into the vehicle address and the subtopic; TopicError when malformed."""
    parts = topic.split("/")
    if len(parts) != 5 or not all(parts):
        raise TopicError(f"topic {topic!r} is not <interface>/<major>/<manufacturer>/<serial>/<topic>")
    interface, major, manufacturer, serial, sub = parts
    return VehicleAddress(manufacturer, serial, interface, major), sub
