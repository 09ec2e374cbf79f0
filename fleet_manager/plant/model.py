"""The validated plant: which devices a site has and how each one is reached (frozen dataclasses)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from fleet_manager.plant.errors import REDACTED, is_secret_field
from fleet_manager.site.model import Site
from plc_bridge.config import PlcConfig

PLANT_VERSION = 1
CONFIRM_MODES = ("simulated_operator", "api", "scanner")
PLC_ROLES = ("sorter", "conveyor")
# Fields that hold loaded objects, not plant-file values: left out of redacted()/repr.
_LOADED = {"site", "config"}


@dataclass(frozen=True)
class Clock:
    """`wall`: real time; `simulated`: simulated seconds advance `speed` times faster than wall time."""

    kind: str = "wall"  # "wall" | "simulated"
    speed: float = 1.0


@dataclass(frozen=True)
class MqttBroker:
    """An MQTT broker and the credentials the WCS uses on it; the password is never shown."""

    url: str  # as written (after substitution); never carries credentials
    host: str
    port: int
    tls: bool  # mqtts://
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None  # mqtts only

    def describe(self) -> str:
        user = self.username or "-"
        secret = REDACTED if self.password else "-"
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port} (user {user}, password {secret})"


@dataclass(frozen=True)
class Vda5050Fleet:
    """Vehicles that speak VDA 5050 over MQTT."""

    adapter: ClassVar[str] = "vda5050"
    name: str
    version: str  # "2.0" | "2.1"
    broker: MqttBroker
    manufacturer: str
    serials: tuple[str, ...]  # known vehicles (may be empty when accept_any)
    accept_any: bool = False  # also accept any vehicle of this manufacturer that announces itself
    interface_name: str = "uagv"
    state_timeout_s: float = 10.0  # no state message for this long -> the vehicle is offline
    start_cells: dict[str, tuple[int, int]] = field(default_factory=dict, hash=False)

    def describe(self) -> str:
        known = _serials(self.serials)
        extra = ", any other announced" if self.accept_any else ""
        return (
            f"VDA 5050 {self.version} on {self.broker.describe()}, manufacturer "
            f"{self.manufacturer}, interface {self.interface_name}: {known}{extra}"
        )


@dataclass(frozen=True)
class SimulatedFleet:
    """Robots simulated in-process."""

    adapter: ClassVar[str] = "simulated"
    name: str
    count: int

    def describe(self) -> str:
        return f"{self.count} simulated robots"


@dataclass(frozen=True)
class Ros2Fleet:
    """Reserved: ROS 2 robots by namespace (parsed, not driven yet)."""

    adapter: ClassVar[str] = "ros2"
    name: str
    robots: tuple[str, ...]

    def describe(self) -> str:
        return f"ROS 2 namespaces {', '.join(self.robots) or '-'}"


Fleet = Vda5050Fleet | SimulatedFleet | Ros2Fleet


@dataclass(frozen=True)
class ModbusTcp:
    transport: ClassVar[str] = "modbus-tcp"
    host: str
    port: int
    unit_id: int = 1

    def describe(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"modbus-tcp {host}:{self.port} unit {self.unit_id}"

    def connection_changes(self) -> dict[str, Any]:
        """Keyword arguments for `PlcConfig.with_connection`."""
        return {"transport": "tcp", "host": self.host, "port": self.port}


@dataclass(frozen=True)
class ModbusRtu:
    transport: ClassVar[str] = "modbus-rtu"
    device: str
    baudrate: int = 115200
    parity: str = "N"  # N | E | O
    stop_bits: int = 1
    unit_id: int = 1

    def describe(self) -> str:
        return (
            f"modbus-rtu {self.device}@{self.baudrate}/8{self.parity}{self.stop_bits} "
            f"unit {self.unit_id}"
        )

    def connection_changes(self) -> dict[str, Any]:
        return {
            "transport": "rtu",
            "serial_port": self.device,
            "baudrate": self.baudrate,
            "parity": self.parity,
            "stop_bits": self.stop_bits,
        }


Link = ModbusTcp | ModbusRtu


@dataclass(frozen=True)
class PlcDevice:
    """A sorter or conveyor PLC. `config` is its register map file loaded, with the connection
    and unit id of the plant file applied (and, for a sorter, the site's sorter geometry)."""

    name: str
    role: str  # "sorter" | "conveyor"
    link: Link
    register_map: Path
    config: PlcConfig = field(repr=False, compare=False)


@dataclass(frozen=True)
class CraneDevice:
    """An AS/RS stacker crane serving one aisle of the map; `config` as for PlcDevice."""

    name: str
    aisle: str
    link: Link
    telegram_map: Path
    config: PlcConfig = field(repr=False, compare=False)


@dataclass(frozen=True)
class StationSetup:
    """How picks at one station of the map are confirmed."""

    id: str
    confirm: str  # "simulated_operator" | "api" | "scanner"


@dataclass(frozen=True)
class OrderGenerator:
    """A simulated order stream (absent: orders come only from the WMS)."""

    orders_per_h: float = 600.0
    seed: int = 0


@dataclass(frozen=True)
class Plant:
    """A whole site: map, clock, robot fleets, PLCs, cranes, stations and order source."""

    name: str
    source: Path  # the plant file
    map_path: Path
    clock: Clock
    fleets: tuple[Fleet, ...]
    plcs: tuple[PlcDevice, ...]
    cranes: tuple[CraneDevice, ...]
    stations: tuple[StationSetup, ...]  # every station of the map, in map order
    order_generator: OrderGenerator | None
    site: Site = field(repr=False, compare=False)

    def fleet(self, name: str) -> Fleet:
        return _by_name(self.fleets, name, "fleet")

    def plc(self, name: str) -> PlcDevice:
        return _by_name(self.plcs, name, "PLC")

    def crane(self, name: str) -> CraneDevice:
        return _by_name(self.cranes, name, "crane")

    def confirm_mode(self, station_id: str) -> str:
        for station in self.stations:
            if station.id == station_id:
                return station.confirm
        raise KeyError(f"plant {self.name} has no station {station_id!r}")

    def redacted(self) -> dict[str, Any]:
        """The plant as plain data (JSON-ready) with every secret shown as ***."""
        return _plain(self)

    def describe(self) -> str:
        """A short table of the devices, secrets shown as ***."""
        rows: list[tuple[str, str, str]] = [
            ("site", self.site.name, f"{self.map_path} ({len(self.site.robots)} robot cells)"),
            (
                "clock",
                self.clock.kind,
                f"speed {self.clock.speed:g}" if self.clock.kind == "simulated" else "real time",
            ),
        ]
        rows += [(f"fleet/{f.adapter}", f.name, f.describe()) for f in self.fleets]
        rows += [
            (f"plc/{p.role}", p.name, f"{p.link.describe()}, map {p.register_map}")
            for p in self.plcs
        ]
        rows += [
            ("crane", c.name, f"aisle {c.aisle}, {c.link.describe()}, map {c.telegram_map}")
            for c in self.cranes
        ]
        modes: dict[str, list[str]] = {}
        for station in self.stations:
            modes.setdefault(station.confirm, []).append(station.id)
        rows += [("stations", mode, ", ".join(ids)) for mode, ids in modes.items()]
        gen = self.order_generator
        rows.append(
            (
                "orders",
                "generator" if gen else "wms",
                f"{gen.orders_per_h:g}/h, seed {gen.seed}" if gen else "WMS only",
            )
        )
        w0 = max(len(r[0]) for r in rows)
        w1 = max(len(r[1]) for r in rows)
        lines = [f"plant {self.name} ({self.source}): ok"]
        lines += [f"  {a:<{w0}}  {b:<{w1}}  {c}" for a, b, c in rows]
        return "\n".join(lines)


def _by_name(items: tuple[Any, ...], name: str, what: str) -> Any:
    for item in items:
        if item.name == name:
            return item
    raise KeyError(f"no {what} named {name!r}")


def _serials(serials: tuple[str, ...]) -> str:
    if not serials:
        return "no fixed serials"
    if len(serials) <= 3:
        return ", ".join(serials)
    return f"{len(serials)} vehicles {serials[0]}..{serials[-1]}"


def _plain(value: Any, name: str = "") -> Any:
    if name and is_secret_field(name) and value:
        return REDACTED
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        adapter = getattr(type(value), "adapter", None) or getattr(type(value), "transport", None)
        if isinstance(adapter, str):
            out["adapter" if hasattr(type(value), "adapter") else "transport"] = adapter
        for f in dataclasses.fields(value):
            if f.name not in _LOADED:
                out[f.name] = _plain(getattr(value, f.name), f.name)
        return out
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value
