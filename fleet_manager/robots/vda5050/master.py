"""Vda5050Master: the fleet side of VDA 5050 (registry, routing, validation, alarms).

Transport threads only enqueue raw messages (`on_raw`); everything else, parsing, schema checks,
adapter updates and alarms, runs on the dispatcher's thread in `pump()` / `wait()`, so the
EventBus and the adapters are never touched concurrently.
"""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from fleet_manager.alarms import AlarmRegistry
from fleet_manager.domain import NodeId
from fleet_manager.robots.vda5050 import messages as m
from fleet_manager.robots.vda5050.adapter import Vda5050RobotAdapter
from fleet_manager.robots.vda5050.codec import BY_MAJOR, Codec, codec_for
from fleet_manager.robots.vda5050.schema import check, require_valid
from fleet_manager.robots.vda5050.topics import (
    INTERFACE_NAME,
    TopicError,
    VehicleAddress,
    parse_topic,
)
from fleet_manager.site.model import Site

INCOMING = ("state", "connection", "factsheet")
QOS = {"order": 0, "instantActions": 0}  # VDA 5050 recommends QoS 0 for order traffic


class Transport(Protocol):
    """What the master needs from MQTT (see transport.py for the paho implementation)."""

    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> None: ...


@dataclass
class MasterStats:
    messages_in: int = 0
    messages_out: int = 0
    rejected: int = 0


class Vda5050Master:
    """Owns one adapter per vehicle; validates every message in and (optionally) out."""

    def __init__(
        self, site: Site, alarms: AlarmRegistry, transport: Transport | None = None,
        *, manufacturer: str = "WCS-SIM", interface_name: str = INTERFACE_NAME,
        validate_outgoing: bool = False, state_timeout_s: float | None = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.site = site
        self.alarms = alarms
        self.transport = transport
        self.manufacturer = manufacturer
        self.interface_name = interface_name
        self.validate_outgoing = validate_outgoing
        self.clock = clock
        self.state_timeout_s = state_timeout_s  # silent this long while ONLINE -> treated as lost
        self.robots: dict[tuple[str, str], Vda5050RobotAdapter] = {}
        self.codecs: dict[tuple[str, str], Codec] = {}  # each vehicle's protocol version
        self.stats = MasterStats()
        self._inbox: queue.SimpleQueue[tuple[str, bytes, float]] = queue.SimpleQueue()
        self._stampers: dict[VehicleAddress, m.HeaderStamper] = {}
        self.last_received_s = 0.0  # receive time of the newest message pumped (latency probe)
        # A vehicle nobody listed: `on_unknown(address)` may adopt it (returns its adapter, e.g.
        # a fleet that accepts any vehicle of its manufacturer); else one alarm per vehicle.
        self.on_unknown: Callable[[VehicleAddress], Vda5050RobotAdapter | None] | None = None
        self.unknown_seen: dict[tuple[str, str], int] = {}

    def add_robot(
        self, serial_number: str, *, manufacturer: str | None = None, start_node: NodeId | None = None,
        version: str = "2.1",
    ) -> Vda5050RobotAdapter:
        """One vehicle; `version` "2.1" or "3.0" picks its topics, codec and schemas."""
        codec = codec_for(version)
        address = VehicleAddress(manufacturer or self.manufacturer, serial_number, self.interface_name,
                                 codec.major)
        key = (address.manufacturer, serial_number)
        if key in self.robots:
            raise ValueError(f"VDA 5050 robot {address.manufacturer}/{serial_number} already added")
        adapter = Vda5050RobotAdapter(
            address, self.site, self.send,
            lambda code, field, msg, rid=serial_number: self._raise(rid, code, field, msg),
            start_node=start_node, clock=self.clock,
        )
        self.robots[key] = adapter
        self.codecs[key] = codec
        return adapter

    # ---- outgoing ------------------------------------------------------------------------
    def send(self, address: VehicleAddress, subtopic: str, body: m.Message) -> None:
        codec = self.codecs.get((address.manufacturer, address.serial_number)) or BY_MAJOR[address.major_version]
        stamper = self._stampers.setdefault(address, m.HeaderStamper(address, codec.protocol_version))
        message = codec.encode(subtopic, {**stamper.header(subtopic), **body})
        if self.validate_outgoing:
            # A failure here is a builder/codec bug: never publish it.
            require_valid(subtopic, message, codec.version)
        if self.transport is None:
            raise RuntimeError("Vda5050Master has no transport to publish on")
        self.transport.publish(address.topic(subtopic), json.dumps(message).encode(), QOS.get(subtopic, 0))
        self.stats.messages_out += 1

    # ---- incoming ------------------------------------------------------------------------
    def on_raw(self, topic: str, payload: bytes) -> None:
        """Thread-safe entry for the transport: queue and return at once."""
        self._inbox.put((topic, payload, time.perf_counter()))

    def pump(self) -> int:
        """Handle every queued message on the caller's thread; returns how many."""
        n = 0
        while True:
            try:
                topic, payload, received = self._inbox.get_nowait()
            except queue.Empty:
                self.check_silence()
                return n
            self.handle(topic, payload)
            self.last_received_s = received
            n += 1

    def wait(self, timeout_s: float) -> int:
        """Block until at least one message arrives (or timeout), then pump."""
        try:
            item = self._inbox.get(timeout=timeout_s)
        except queue.Empty:
            self.check_silence()
            return 0
        self.handle(item[0], item[1])
        self.last_received_s = item[2]
        return 1 + self.pump()

    def handle(self, topic: str, payload: bytes) -> bool:
        """Validate and route one message; False (and an alarm) when it is rejected."""
        self.stats.messages_in += 1
        try:
            address, sub = parse_topic(topic)
        except TopicError as exc:
            return self._reject(None, "vda5050.bad_topic", "topic", str(exc))
        if sub not in INCOMING:
            return True  # our own order/instantActions echoes, visualization: not for us
        serial = address.serial_number
        key = (address.manufacturer, serial)
        adapter = self.robots.get(key)
        if adapter is None and self.on_unknown is not None and key not in self.unknown_seen:
            adapter = self.on_unknown(address)
        if adapter is None:
            self.stats.rejected += 1
            seen = self.unknown_seen.get(key, 0)
            self.unknown_seen[key] = seen + 1
            if not seen:  # one alarm per unknown vehicle, not one per message
                self._raise(serial, "vda5050.unknown_serial", "serialNumber",
                            f"message on {topic} from unknown vehicle "
                            f"{address.manufacturer}/{serial}")
            return False
        codec = self.codecs.get(key) or BY_MAJOR.get(address.major_version)
        if codec is None or codec.major != address.major_version:
            expected = codec.major if codec else "/".join(BY_MAJOR)
            return self._reject(serial, "vda5050.version_mismatch", "topic",
                                f"{sub} on {topic}: vehicle {serial} speaks {expected}, "
                                f"not {address.major_version}")
        try:
            msg = json.loads(payload)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return self._reject(serial, "vda5050.not_json", "(message)", f"{sub} is not JSON: {exc}")
        issues = check(sub, msg, codec.version)
        if issues:
            first = issues[0]
            return self._reject(serial, "vda5050.schema_invalid", first.field,
                                f"{sub} from {serial} rejected: {first.field}: {first.message}")
        if msg["serialNumber"] != serial or msg["manufacturer"] != address.manufacturer:
            return self._reject(serial, "vda5050.address_mismatch", "serialNumber",
                                f"{sub} on {topic} names {msg['manufacturer']}/{msg['serialNumber']}")
        msg = codec.decode(sub, msg)
        if sub == "state":
            adapter.on_state(msg)
        elif sub == "connection":
            adapter.on_connection(msg)
        else:
            adapter.on_factsheet(msg)
        return True

    def check_silence(self) -> None:
        """A vehicle that is ONLINE but sends no state (hung, cable cut behind a NAT) is lost."""
        if self.state_timeout_s is None:
            return
        now = self.clock()
        for adapter in self.robots.values():
            if adapter.connection == "ONLINE" and now - adapter.last_state_s > self.state_timeout_s:
                adapter.on_silence(now - adapter.last_state_s)

    # ---- alarms --------------------------------------------------------------------------
    def _reject(self, serial: str | None, code: str, field: str, message: str) -> bool:
        self.stats.rejected += 1
        self._raise(serial, code, field, message)
        return False

    def _raise(self, serial: str | None, code: str, field: str, message: str) -> None:
        source = f"robot:{serial}" if serial else "vda5050"
        severity = "error" if code.endswith(("connectionbroken", "schema_invalid")) else "warning"
        self.alarms.raise_alarm(source, code, severity, f"{message} [field {field}]")
