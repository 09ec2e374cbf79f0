"""paho-mqtt transport for the master: the only master-side module that imports paho."""

from __future__ import annotations

import threading
from collections.abc import Callable

import paho.mqtt.client as mqtt

from fleet_manager.robots.vda5050.topics import INTERFACE_NAME, MAJOR_VERSIONS, subscription

OnRaw = Callable[[str, bytes], None]


class TransportError(ConnectionError):
    """The broker could not be reached or refused the connection."""


class MqttTransport:
    """One MQTT client: subscribes to every vehicle's state/connection/factsheet, publishes orders.

    paho's network thread only calls `on_raw` (which must be thread-safe and quick, e.g.
    Vda5050Master.on_raw); `publish` may be called from any thread.
    """

    def __init__(
        self, host: str, port: int, on_raw: OnRaw, *, client_id: str = "wcs-master",
        interface_name: str = INTERFACE_NAME, keepalive_s: int = 10,
        username: str | None = None, password: str | None = None,
        tls: bool = False, ca_file: str | None = None,
        major_versions: tuple[str, ...] = MAJOR_VERSIONS,
    ) -> None:
        self.host, self.port = host, port
        self._on_raw = on_raw
        self._topics = [
            (subscription(s, interface_name, major), 1)
            for major in major_versions for s in ("state", "connection", "factsheet")
        ]
        self._connected = threading.Event()
        self._keepalive_s = keepalive_s
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
        self.client.on_connect = self._connected_cb
        self.client.on_disconnect = lambda *_a: self._connected.clear()
        self.client.on_message = lambda _c, _u, msg: self._on_raw(msg.topic, msg.payload)
        if username:
            self.client.username_pw_set(username, password or None)
        if tls:
            self.client.tls_set(ca_certs=ca_file or None)
        # Bounded back-off between reconnects (paho's loop thread reconnects by itself).
        self.client.reconnect_delay_set(min_delay=1, max_delay=10)

    def _connected_cb(self, client: mqtt.Client, _u: object, _f: object, reason: object, _p: object) -> None:
        if not getattr(reason, "is_failure", False):
            client.subscribe(self._topics)  # (re)subscribe on every connect
            self._connected.set()

    def start(self, timeout_s: float = 5.0) -> MqttTransport:
        try:
            self.client.connect(self.host, self.port, keepalive=self._keepalive_s)
        except OSError as exc:
            raise TransportError(f"MQTT broker {self.host}:{self.port} unreachable: {exc}") from exc
        self.client.loop_start()
        if not self._connected.wait(timeout_s):
            self.stop()
            raise TransportError(f"MQTT broker {self.host}:{self.port}: no CONNACK in {timeout_s} s")
        return self

    def start_background(self) -> MqttTransport:
        """Connect without waiting: an unreachable broker is retried forever in the background
        (the caller watches `connected` and raises its alarm)."""
        self.client.connect_async(self.host, self.port, keepalive=self._keepalive_s)
        self.client.loop_start()
        return self

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=qos, retain=retain)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
