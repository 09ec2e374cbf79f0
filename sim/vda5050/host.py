"""VehicleHost: runs many SimVehicles in one process, each with its own MQTT client and last will.

One thread drives every vehicle: advance the simulated clock, publish periodic states, then a
select() over all client sockets (paho's external-loop API), so 200 vehicles need no threads.
Each vehicle has its own connection (a last will is per connection): ONLINE (retained) after
CONNACK, OFFLINE on a clean stop, CONNECTIONBROKEN (3.0: CONNECTION_BROKEN) from the broker
when the process dies. Every message leaves through the host's codec (2.1 or 3.0 wire form).
"""

from __future__ import annotations

import json
import select
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt

from fleet_manager.robots.vda5050 import messages as m
from fleet_manager.robots.vda5050.codec import V2, Codec
from fleet_manager.robots.vda5050.topics import INTERFACE_NAME, VehicleAddress
from fleet_manager.site.model import RobotModel
from sim.vda5050.factsheet import factsheet_body
from sim.vda5050.vehicle import Pose, SimVehicle

TICK_S = 0.01  # wall-clock step of the simulation loop
RECONNECT_MIN_S = 1.0  # first reconnect attempt after losing the broker, then doubling
RECONNECT_MAX_S = 10.0


@dataclass(frozen=True)
class VehicleSpec:
    serial_number: str
    start_node: int | None = None  # known start: node id + pose in VDA map metres
    start_xy_m: tuple[float, float] = (0.0, 0.0)
    start_theta_rad: float = 0.0


class _Hosted:
    """One vehicle plus its MQTT client and header counters."""

    def __init__(self, spec: VehicleSpec, host: VehicleHost) -> None:
        self.codec = host.codec
        self.address = VehicleAddress(host.manufacturer, spec.serial_number, host.interface_name,
                                      self.codec.major)
        self.stamper = m.HeaderStamper(self.address, self.codec.protocol_version)
        self.host = host
        self.vehicle = SimVehicle(host.model, self._emit, host.state_interval_s, codec=self.codec)
        if spec.start_node is not None:
            self.vehicle.pose = Pose(spec.start_xy_m[0], spec.start_xy_m[1], spec.start_theta_rad, True)
            self.vehicle.last_node_id = m.node_id(spec.start_node)
        self.connected = False
        self.retry_at = float("inf")  # next reconnect attempt, once a connection was lost
        self.backoff_s = RECONNECT_MIN_S
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{host.manufacturer}-{spec.serial_number}")
        self._online_header: dict[str, Any] = {}
        self.prepare_connection()
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    def prepare_connection(self) -> None:
        """Before every (re)connect: stamp the ONLINE message first, then the last will, so a
        CONNECTIONBROKEN the broker sends later carries the higher headerId."""
        self._online_header = self.stamper.header("connection")
        will = self.codec.encode("connection", m.connection(self.stamper.header("connection"), "CONNECTIONBROKEN"))
        self.client.will_set(self.address.topic("connection"), json.dumps(will), qos=1, retain=True)

    def _on_connect(self, client: mqtt.Client, _u: object, _f: object, reason: Any, _p: object) -> None:
        if getattr(reason, "is_failure", False):
            return
        client.subscribe([(self.address.topic("order"), 0), (self.address.topic("instantActions"), 0)])
        online = self.codec.encode("connection", m.connection(self._online_header, "ONLINE"))
        self.client.publish(self.address.topic("connection"), json.dumps(online), qos=1, retain=True)
        self.host.messages_out += 1
        self.connected = True
        self.backoff_s = RECONNECT_MIN_S
        self.vehicle.publish_state()

    def _on_disconnect(self, *_args: Any) -> None:
        """Lost the broker (it restarted, or this process was paused past the keepalive):
        reconnect with back-off, like a real vehicle."""
        if self.connected:
            self.connected = False
            self.retry_at = time.monotonic() + self.backoff_s

    def try_reconnect(self, now: float) -> None:
        if self.connected or now < self.retry_at or self.host.stopping:
            return
        try:
            self.prepare_connection()
            self.client.reconnect()
        except OSError:
            self.retry_at = now + self.backoff_s
            self.backoff_s = min(self.backoff_s * 2.0, RECONNECT_MAX_S)

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        sub = msg.topic.rsplit("/", 1)[-1]
        try:
            body = json.loads(msg.payload)
        except (UnicodeDecodeError, json.JSONDecodeError):
            body = None  # schema check in handle() reports it as a validationError
        self.host.messages_in += 1
        self.vehicle.handle(sub, body)

    def _emit(self, subtopic: str, body: dict[str, Any]) -> None:
        if subtopic == "factsheet":
            body = factsheet_body(self.host.model, self.host.state_interval_s, version=self.codec.version)
        message = self.codec.encode(subtopic, {**self.stamper.header(subtopic), **body})
        retain = subtopic in ("connection", "factsheet")
        self.client.publish(self.address.topic(subtopic), json.dumps(message), qos=1 if retain else 0, retain=retain)
        self.host.messages_out += 1


class VehicleHost:
    """Owns the vehicles; `run(should_stop)` until it returns True, then goes OFFLINE cleanly."""

    def __init__(
        self, broker_host: str, broker_port: int, specs: list[VehicleSpec], *,
        model: RobotModel | None = None, manufacturer: str = "WCS-SIM",
        interface_name: str = INTERFACE_NAME, state_interval_s: float = 1.0,
        time_scale: float = 1.0, seed: int = 0, codec: Codec = V2,
    ) -> None:
        self.codec = codec  # every hosted vehicle speaks this version
        self.broker = (broker_host, broker_port)
        self.model = model or RobotModel()
        self.manufacturer = manufacturer
        self.interface_name = interface_name
        self.state_interval_s = state_interval_s
        self.time_scale = time_scale
        self.messages_in = 0
        self.messages_out = 0
        self.stopping = False
        self.hosted = [_Hosted(spec, self) for spec in specs]
        # Spread periodic states over the interval so 200 vehicles do not report in one burst.
        offsets = np.random.default_rng(seed).uniform(0.0, state_interval_s, len(specs))
        self._next_state = [time.monotonic() + float(o) for o in offsets]

    def connect(self, keepalive_s: int = 5) -> None:
        """Connect every client (raises OSError naming the broker when it is unreachable)."""
        for h in self.hosted:
            try:
                h.client.connect(self.broker[0], self.broker[1], keepalive=keepalive_s)
            except OSError as exc:
                raise OSError(f"MQTT broker {self.broker[0]}:{self.broker[1]} unreachable: {exc}") from exc

    def run(self, should_stop: Callable[[], bool]) -> None:
        last = time.monotonic()
        last_misc = last
        while not should_stop():
            now = time.monotonic()
            dt_s, last = now - last, now
            for i, h in enumerate(self.hosted):
                if not h.connected:
                    h.try_reconnect(now)
                    continue
                h.vehicle.advance(dt_s * self.time_scale)
                if now >= self._next_state[i]:
                    self._next_state[i] = now + self.state_interval_s
                    h.vehicle.publish_state()
            self._io(TICK_S)
            if now - last_misc >= 0.5:
                last_misc = now
                for h in self.hosted:
                    h.client.loop_misc()  # keepalive pings and timeouts
        self.shutdown()

    def _io(self, timeout_s: float) -> None:
        socks = {h.client.socket(): h for h in self.hosted if h.client.socket() is not None}
        writers = [s for s, h in socks.items() if h.client.want_write()]
        readable, writable, _ = select.select(list(socks), writers, [], timeout_s)
        for s in readable:
            socks[s].client.loop_read(max_packets=20)
        for s in writable:
            socks[s].client.loop_write()
        for s, h in socks.items():  # callbacks above may have queued publishes
            if s not in writable and h.client.want_write():
                h.client.loop_write()

    def shutdown(self) -> None:
        """Graceful: OFFLINE (retained), then disconnect so the broker drops the last will."""
        self.stopping = True
        for h in self.hosted:
            if h.connected:
                h._emit("connection", {"connectionState": "OFFLINE"})
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and any(h.client.want_write() for h in self.hosted):
            self._io(0.01)
        for h in self.hosted:
            h.client.disconnect()
        for _ in range(20):
            if not any(h.client.want_write() for h in self.hosted):
                break
            self._io(0.01)
