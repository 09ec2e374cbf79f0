"""A plant's VDA 5050 fleet: the master side on the site's own MQTT broker, never waiting.

Vehicles are listed by serial in the plant file (adapters exist from the start, unlocalised
until they report) or, with `accept_any`, adopted when a vehicle of the fleet's manufacturer
announces itself; either way a vehicle joins the fleet at the node it reports. Messages are
handled on the control thread before every tick; nothing waits for a vehicle to arrive: a
vehicle still driving is busy (and its trailing cell held), so one slow or silent vehicle
never stalls the others. An unreachable broker is one alarm, cleared when it connects.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from fleet_manager.alarms import AlarmRegistry
from fleet_manager.events import EventBus
from fleet_manager.plant.model import Vda5050Fleet as FleetSpec
from fleet_manager.robots.vda5050.adapter import Vda5050RobotAdapter
from fleet_manager.robots.vda5050.codec import codec_for
from fleet_manager.robots.vda5050.master import Vda5050Master
from fleet_manager.robots.vda5050.topics import VehicleAddress
from fleet_manager.site.model import Site

log = logging.getLogger(__name__)
BROKER_GRACE_S = 3.0  # a first connect may take this long before it counts as unreachable


def codec_version(plant_version: str) -> str:
    """Plant-file version -> codec version: 2.0 and 2.1 share the 2.1 codec, 3.x is 3.0."""
    return "3.0" if plant_version.startswith("3") else "2.1"


class Vda5050FleetLink:
    """Master + transport for one fleet of a plant file (a runtime component)."""

    def __init__(self, site: Site, spec: FleetSpec) -> None:
        self.site = site
        self.spec = spec
        self.master = Vda5050Master(
            site,
            AlarmRegistry(EventBus()),  # replaced by the plane's registry in attach()
            manufacturer=spec.manufacturer,
            interface_name=spec.interface_name,
            state_timeout_s=spec.state_timeout_s,
        )
        self.version = codec_version(spec.version)
        self.adapters: list[Vda5050RobotAdapter] = [
            self.master.add_robot(serial, version=self.version) for serial in spec.serials
        ]
        self.transport: Any = None
        self._plane: Any = None
        self._broker_alarm: str | None = None
        self._silent_alarm: dict[str, str] = {}  # serial -> alarm: listed, never heard from
        self._started_at = time.monotonic()  # again in start(); ticks may come first

    # ---- wiring (before the control thread starts) --------------------------------------------
    def attach(self, plane: Any) -> None:
        """Hook into the plane: its alarms, a pump before every tick, adoption of new vehicles."""
        self._plane = plane
        self.master.alarms = plane.alarms
        plane.before_tick.append(self._before_tick)
        if self.spec.accept_any:
            self.master.on_unknown = self._adopt

    def _adopt(self, address: VehicleAddress) -> Vda5050RobotAdapter | None:
        if address.manufacturer != self.spec.manufacturer or self._plane is None:
            return None
        if address.major_version != codec_for(self.version).major:
            return None  # another fleet's protocol version (mixed sites share one broker)
        adapter = self.master.add_robot(address.serial_number, version=self.version)
        self.adapters.append(adapter)
        self._plane.join_robot(adapter)
        log.info("VDA 5050 vehicle %s joined fleet %s", address.serial_number, self.spec.name)
        return adapter

    # ---- Component ------------------------------------------------------------------------------
    def start(self, _runtime: Any) -> None:
        from fleet_manager.robots.vda5050.transport import MqttTransport

        broker = self.spec.broker
        self.transport = MqttTransport(
            broker.host, broker.port, self.master.on_raw,
            client_id=f"wcs-master-{self.spec.name}",
            interface_name=self.spec.interface_name,
            username=broker.username, password=broker.password,
            tls=broker.tls, ca_file=str(broker.ca_file) if broker.ca_file else None,
            # Only this fleet's version: a 2.1 and a 3.0 fleet may share one broker.
            major_versions=(codec_for(self.version).major,),
        ).start_background()
        self.master.transport = self.transport
        self._started_at = time.monotonic()

    def stop(self) -> None:
        if self.transport is not None:
            self.transport.stop()
            self.transport = None

    # ---- control thread -------------------------------------------------------------------------
    def _before_tick(self, _now_s: float) -> None:
        self.master.pump()
        self._watch_broker()
        self._watch_first_contact()

    def _watch_first_contact(self) -> None:
        """A listed vehicle not heard from within its state timeout after start: one alarm
        (cleared when it reports); a vehicle that was online and drops out is the
        dispatcher's robot fault instead."""
        if self._plane is None or time.monotonic() - self._started_at < (
            BROKER_GRACE_S + self.spec.state_timeout_s
        ):
            return
        alarms = self._plane.alarms
        for adapter in self.adapters:
            serial = adapter.id
            if adapter.state is None and serial not in self._silent_alarm:
                self._silent_alarm[serial] = alarms.raise_alarm(
                    f"robot:{serial}", "vda5050_vehicle_not_reporting", "warning",
                    f"vehicle {serial} of fleet {self.spec.name} has sent nothing since the "
                    "WCS started",
                ).id
            elif adapter.state is not None and serial in self._silent_alarm:
                alarms.clear(self._silent_alarm.pop(serial))

    def _watch_broker(self) -> None:
        transport = self.transport
        if transport is None or self._plane is None:
            return
        alarms = self._plane.alarms
        grace_over = time.monotonic() - self._started_at > BROKER_GRACE_S
        if not transport.connected and self._broker_alarm is None and grace_over:
            self._broker_alarm = alarms.raise_alarm(
                f"fleet:{self.spec.name}", "vda5050_broker_unreachable", "error",
                f"fleet {self.spec.name}: MQTT broker {self.spec.broker.url} does not answer; "
                "retrying",
            ).id
        elif transport.connected and self._broker_alarm is not None:
            alarms.clear(self._broker_alarm)
            self._broker_alarm = None

    def summary(self) -> str:
        online = sum(a.online for a in self.adapters)
        link = "up" if self.transport is not None and self.transport.connected else "DOWN"
        return f"{self.spec.name}: broker {link}, {online}/{len(self.adapters)} vehicles online"
