"""PLC interface definition loaded from YAML: connection, timing, register map, sorter geometry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from fleet_manager.site.model import Conveyor, ConveyorPoint, Sorter, SorterLane
from plc_bridge.register_map import RegisterMap, parse_register_map

PARITIES = ("N", "E", "O")


class PlcConfigError(ValueError):
    """The PLC YAML is malformed; str() is one line naming the file and the field."""

    def __init__(self, source: str, fieldname: str, message: str):
        self.source = source
        self.field = fieldname
        super().__init__(f"{source}: {fieldname}: {message}")


@dataclass(frozen=True)
class Connection:
    """Where the PLC is: Modbus TCP (host, port) or Modbus RTU (serial line settings)."""

    transport: str = "tcp"  # "tcp" | "rtu"
    host: str = "127.0.0.1"
    port: int = 502
    serial_port: str = ""
    baudrate: int = 115200
    parity: str = "N"
    stop_bits: int = 1
    bytesize: int = 8

    def describe(self) -> str:
        if self.transport == "tcp":
            return f"tcp://{self.host}:{self.port}"
        return (
            f"rtu://{self.serial_port}@{self.baudrate}/{self.bytesize}{self.parity}{self.stop_bits}"
        )


@dataclass(frozen=True)
class Timing:
    """All periods and timeouts of the bridge (and of the simulated PLC's watchdog)."""

    timeout_s: float = 0.5  # one Modbus request
    poll_period_s: float = 0.02
    reconnect_initial_s: float = 0.05
    reconnect_max_s: float = 2.0
    heartbeat_period_s: float = 0.1  # how often the WCS bumps its heartbeat word
    watchdog_s: float = 1.0  # a heartbeat that does not change for this long trips the watchdog
    command_timeout_s: float = 0.3  # wait for one ack before re-writing the same sequence number
    command_deadline_s: float = 30.0  # give up on a command (alarm) after this long
    link_healthy_s: float = 2.0  # link up (valid replies) this long before its alarm clears


@dataclass(frozen=True)
class SorterSetup:
    """Sorter geometry: the site's Sorter + Conveyor (from the map or built from the PLC YAML)."""

    sorter: Sorter
    conveyor: Conveyor

    @property
    def lane_numbers(self) -> dict[str, int]:
        """Lane id -> lane number on the wire (1-based, order of the sorter's lanes; 0 = none)."""
        return {lane.id: i + 1 for i, lane in enumerate(self.sorter.lanes)}

    def lane_by_number(self, number: int) -> SorterLane | None:
        return self.sorter.lanes[number - 1] if 1 <= number <= len(self.sorter.lanes) else None

    def divert_deadline_s(self, lane_id: str) -> float:
        """Time from the scan until the divert must be written (scan->divert minus actuation lead)."""
        lane = self.sorter.lane(lane_id)
        distance_m = lane.divert_position_m - self.sorter.scanner_position_m
        if distance_m < 0 and self.conveyor.loop:
            distance_m += self.conveyor.length_m
        return distance_m / self.conveyor.speed_mps - self.sorter.divert_time_s


@dataclass(frozen=True)
class PlcConfig:
    name: str
    connection: Connection
    unit_id: int
    timing: Timing
    registers: RegisterMap
    sorter: SorterSetup | None = None
    sim: Mapping[str, Any] = field(default_factory=dict)  # simulated-PLC-only parameters
    source: str = ""

    def with_connection(self, **changes: Any) -> PlcConfig:
        return replace(self, connection=replace(self.connection, **changes))


def load_plc_config(path: str | Path) -> PlcConfig:
    """Read and validate a PLC YAML; raise PlcConfigError / RegisterMapError naming the field."""
    source = str(path)
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise PlcConfigError(source, "file", "not found") from None
    except yaml.YAMLError as exc:
        raise PlcConfigError(source, "file", f"invalid YAML: {exc}".splitlines()[0]) from None
    return parse_plc_config(raw, source)


def parse_plc_config(raw: Any, source: str = "<plc config>") -> PlcConfig:
    if not isinstance(raw, Mapping):
        raise PlcConfigError(source, "file", "top level must be a mapping")
    _only(raw, source, "", {"plc", "registers", "sorter", "sim"})
    plc = raw.get("plc")
    if not isinstance(plc, Mapping):
        raise PlcConfigError(source, "plc", "missing or not a mapping")
    _only(plc, source, "plc", {"name", "connection", "unit_id", "timing"})
    connection = _connection(plc.get("connection", {}), source)
    unit_id = plc.get("unit_id", 1)
    if isinstance(unit_id, bool) or not isinstance(unit_id, int) or not 0 <= unit_id <= 247:
        raise PlcConfigError(source, "plc.unit_id", f"{unit_id!r} must be an integer 0..247")
    timing = _timing(plc.get("timing", {}), source)
    registers = parse_register_map(raw.get("registers"), source)  # raises RegisterMapError
    sorter = _sorter(raw["sorter"], source) if raw.get("sorter") is not None else None
    sim = raw.get("sim") or {}
    if not isinstance(sim, Mapping):
        raise PlcConfigError(source, "sim", "must be a mapping")
    return PlcConfig(
        str(plc.get("name", Path(source).stem)),
        connection,
        unit_id,
        timing,
        registers,
        sorter,
        dict(sim),
        source,
    )


def _only(raw: Mapping, source: str, where: str, allowed: set[str]) -> None:
    unknown = sorted(set(map(str, raw)) - allowed)
    if unknown:
        prefix = f"{where}." if where else ""
        raise PlcConfigError(
            source, f"{prefix}{unknown[0]}", f"unknown field (allowed: {sorted(allowed)})"
        )


def _connection(raw: Any, source: str) -> Connection:
    if not isinstance(raw, Mapping):
        raise PlcConfigError(source, "plc.connection", "must be a mapping")
    _only(raw, source, "plc.connection", set(Connection.__dataclass_fields__))
    conn = Connection(**raw)
    where = "plc.connection"
    if conn.transport not in ("tcp", "rtu"):
        raise PlcConfigError(source, f"{where}.transport", f"{conn.transport!r} must be tcp or rtu")
    if not isinstance(conn.port, int) or not 0 <= conn.port <= 65535:
        raise PlcConfigError(source, f"{where}.port", f"{conn.port!r} must be 0..65535")
    if conn.parity not in PARITIES:
        raise PlcConfigError(
            source, f"{where}.parity", f"{conn.parity!r} must be one of {PARITIES}"
        )
    if conn.stop_bits not in (1, 2):
        raise PlcConfigError(source, f"{where}.stop_bits", f"{conn.stop_bits!r} must be 1 or 2")
    if conn.transport == "rtu" and not conn.serial_port:
        raise PlcConfigError(source, f"{where}.serial_port", "required for transport rtu")
    return conn


def _timing(raw: Any, source: str) -> Timing:
    if not isinstance(raw, Mapping):
        raise PlcConfigError(source, "plc.timing", "must be a mapping")
    _only(raw, source, "plc.timing", set(Timing.__dataclass_fields__))
    for key, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise PlcConfigError(
                source, f"plc.timing.{key}", f"{value!r} must be a positive number"
            )
    timing = Timing(**{k: float(v) for k, v in raw.items()})
    if timing.reconnect_max_s < timing.reconnect_initial_s:
        raise PlcConfigError(source, "plc.timing.reconnect_max_s", "must be >= reconnect_initial_s")
    return timing


def _sorter(raw: Any, source: str) -> SorterSetup:
    where = "sorter"
    if not isinstance(raw, Mapping):
        raise PlcConfigError(source, where, "must be a mapping")
    _only(
        raw,
        source,
        where,
        {
            "id",
            "conveyor",
            "belt_speed_mps",
            "length_m",
            "loop",
            "scanner_position_m",
            "divert_time_s",
            "lanes",
        },
    )
    try:
        speed = float(raw["belt_speed_mps"])
        length = float(raw["length_m"])
        lanes = tuple(
            SorterLane(
                str(lane["id"]),
                float(lane["divert_position_m"]),
                int(lane["capacity_items"]),
                str(lane.get("role", "order")),
            )
            for lane in raw["lanes"]
        )
        sorter = Sorter(
            str(raw.get("id", "sorter")),
            str(raw.get("conveyor", "sorter-belt")),
            float(raw["scanner_position_m"]),
            float(raw["divert_time_s"]),
            lanes,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PlcConfigError(source, where, f"missing or bad field: {exc}") from None
    conveyor = Conveyor(
        sorter.conveyor,
        ((0.0, 0.0), (length, 0.0)),
        speed,
        (ConveyorPoint("induct", "induct", 0.0),),
        bool(raw.get("loop", False)),
    )
    return validate_sorter(SorterSetup(sorter, conveyor), source)


def validate_sorter(setup: SorterSetup, source: str) -> SorterSetup:
    """Check lane ids, roles and positions against the belt; raise PlcConfigError naming the lane."""
    seen: set[str] = set()
    if setup.conveyor.speed_mps <= 0:
        raise PlcConfigError(source, "sorter.belt_speed_mps", "must be positive")
    length = setup.conveyor.length_m
    for lane in setup.sorter.lanes:
        where = f"sorter.lanes[{lane.id}]"
        if lane.id in seen:
            raise PlcConfigError(source, where, "duplicate lane id")
        seen.add(lane.id)
        if lane.role not in ("order", "overflow", "reject"):
            raise PlcConfigError(source, where, f"role {lane.role!r} must be order|overflow|reject")
        if not 0 <= lane.divert_position_m <= length:
            raise PlcConfigError(source, where, f"divert_position_m outside the belt (0..{length})")
        if lane.capacity_items < 1:
            raise PlcConfigError(source, where, "capacity_items must be at least 1")
        if lane.divert_position_m <= setup.sorter.scanner_position_m and not setup.conveyor.loop:
            raise PlcConfigError(source, where, "divert is upstream of the scanner")
    if len(setup.sorter.lanes) > 0xFFFF:
        raise PlcConfigError(source, "sorter.lanes", "too many lanes for a 16-bit lane number")
    return setup


def sorter_from_site(site: Any, sorter_id: str | None, source: str) -> SorterSetup:
    """Take the sorter (and its conveyor) from a loaded Site; the map is the one source of truth."""
    if not site.sorters:
        raise PlcConfigError(source, "sorters", f"map {site.source or site.name} has no sorter")
    sid = sorter_id if sorter_id in site.sorters else next(iter(site.sorters))
    sorter = site.sorters[sid]
    if sorter.conveyor not in site.conveyors:
        raise PlcConfigError(
            source, f"sorters.{sid}.conveyor", f"unknown conveyor {sorter.conveyor!r}"
        )
    return validate_sorter(SorterSetup(sorter, site.conveyors[sorter.conveyor]), source)


def apply_site(config: PlcConfig, site: Any) -> PlcConfig:
    """The config with its sorter geometry taken from a loaded Site (same sorter id, else the
    site's first sorter); checks the register map has a lane word for every lane."""
    sorter_id = config.sorter.sorter.id if config.sorter else None
    setup = sorter_from_site(site, sorter_id, site.source or config.source)
    if config.registers.has("lanes"):
        count = config.registers.block("lanes").params["count"]
        if count < len(setup.sorter.lanes):
            raise PlcConfigError(
                config.source,
                "registers.lanes.count",
                f"{count} lane words but sorter {setup.sorter.id} has {len(setup.sorter.lanes)} lanes",
            )
    return replace(config, sorter=setup)
