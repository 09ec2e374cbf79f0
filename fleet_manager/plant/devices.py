"""The `plcs:` and `cranes:` sections: Modbus links and the register/telegram map files they use."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import plc_bridge.crane_telegram  # noqa: F401  (registers the crane block kinds before any parse)
from fleet_manager.plant.errors import Problems
from fleet_manager.plant.fields import Section, integer, type_name
from fleet_manager.plant.model import PLC_ROLES, CraneDevice, Link, ModbusRtu, ModbusTcp, PlcDevice
from fleet_manager.site.model import Site
from plc_bridge.config import PARITIES, PlcConfig, apply_site, load_plc_config

TRANSPORTS = ("modbus-tcp", "modbus-rtu")
_TCP_KEYS = {"transport", "host", "port", "endpoint", "unit_id"}
_RTU_KEYS = {"transport", "device", "baudrate", "parity", "stop_bits", "unit_id"}
SORTER_BLOCKS = ("divert", "scans", "confirms")
CRANE_BLOCKS = ("crane_command", "crane_ack", "crane_status")


def parse_devices(
    plcs_raw: Any, cranes_raw: Any, problems: Problems, base_dir: Path, site: Site | None
) -> tuple[tuple[PlcDevice, ...], tuple[CraneDevice, ...]]:
    seen: dict[str, str] = {}  # PLC and crane names share one namespace
    plcs = [
        d for i, item in enumerate(_items(plcs_raw, "plcs", problems))
        if (d := _plc(Section(item, f"plcs[{i}]", problems), base_dir, site, seen)) is not None
    ]  # fmt: skip
    cranes = [
        d for i, item in enumerate(_items(cranes_raw, "cranes", problems))
        if (d := _crane(Section(item, f"cranes[{i}]", problems), base_dir, site, seen)) is not None
    ]  # fmt: skip
    return tuple(plcs), tuple(cranes)


def _items(raw: Any, where: str, problems: Problems) -> list[Any]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.add(where, f"expected a list, got {type_name(raw)}")
        return []
    return raw


def _plc(s: Section, base_dir: Path, site: Site | None, seen: dict[str, str]) -> PlcDevice | None:
    name = _name(s, seen)
    role = s.choice("role", PLC_ROLES)
    link = _link(s, {"name", "role", "register_map"})
    map_path = s.path_of("register_map", base_dir)
    config = _load_map(s, "register_map", map_path, link)
    if config is not None and role == "sorter":
        config = _sorter_config(s, config, site)
    if None in (name, role, link, map_path, config):
        return None
    return PlcDevice(name=name, role=role, link=link, register_map=map_path, config=config)


def _crane(
    s: Section, base_dir: Path, site: Site | None, seen: dict[str, str]
) -> CraneDevice | None:
    name = _name(s, seen)
    aisle = s.text("aisle")
    if aisle is not None and site is not None and aisle not in site.asrs:
        known = ", ".join(site.asrs) or "none"
        s.problems.add(s.field("aisle"), f"unknown AS/RS aisle {aisle!r} (map has: {known})")
        aisle = None
    link = _link(s, {"name", "aisle", "telegram_map"})
    map_path = s.path_of("telegram_map", base_dir)
    config = _load_map(s, "telegram_map", map_path, link)
    if config is not None:
        missing = [b for b in CRANE_BLOCKS if not config.registers.has(b)]
        if missing:
            s.problems.add(
                s.field("telegram_map"), f"crane telegram map has no block {', '.join(missing)}"
            )
            config = None
    if None in (name, aisle, link, map_path, config):
        return None
    return CraneDevice(name=name, aisle=aisle, link=link, telegram_map=map_path, config=config)


def _name(s: Section, seen: dict[str, str]) -> str | None:
    name = s.text("name")
    if name is not None and name in seen:
        s.problems.add(
            s.field("name"),
            f"duplicate device name {name!r} (also {seen[name]}; PLC and crane "
            "names must be unique together)",
        )
        return None
    if name is not None:
        seen[name] = s.path
    return name


def _link(s: Section, device_keys: set[str]) -> Link | None:
    transport = s.choice("transport", TRANSPORTS)
    if transport is None:
        return None
    allowed = device_keys | (_TCP_KEYS if transport == "modbus-tcp" else _RTU_KEYS)
    Section(s.raw, s.path, s.problems, allowed)  # unknown keys
    unit_id = s.integer("unit_id", 0, 247, 1)
    if transport == "modbus-rtu":
        device = s.text("device")
        baudrate = s.integer("baudrate", 1, None, 115200)
        parity = s.choice("parity", PARITIES, "N")
        stop_bits = s.integer("stop_bits", 1, 2, 1)
        if None in (device, baudrate, parity, stop_bits, unit_id):
            return None
        return ModbusRtu(device, baudrate, parity, stop_bits, unit_id)
    host, port = _endpoint(s)
    if None in (host, port, unit_id):
        return None
    return ModbusTcp(host, port, unit_id)


def _endpoint(s: Section) -> tuple[str | None, int | None]:
    """`endpoint: "host:port"` (IPv6 as `[addr]:port`) or separate `host` and `port`."""
    if s.has("endpoint"):
        where = s.field("endpoint")
        for key in ("host", "port"):
            if s.has(key):
                s.problems.add(s.field(key), "give either endpoint or host and port, not both")
        value = s.text("endpoint")
        if value is None:
            return None, None
        host, sep, port_text = value.rpartition(":")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        if not sep or not host or (":" in host and not value.startswith("[")):
            s.problems.add(where, f"expected HOST:PORT (IPv6 as [ADDR]:PORT), got {value!r}")
            return None, None
        return host, integer(port_text, where, 1, 65535, s.problems)
    host = s.text("host")
    port = s.integer("port", 1, 65535)
    return host, port


def _load_map(s: Section, key: str, path: Path | None, link: Link | None) -> PlcConfig | None:
    """Load a register map file; its own connection settings give way to the plant's link."""
    if path is None:
        return None
    try:
        config = load_plc_config(path)
    except (ValueError, OSError) as exc:  # PlcConfigError, RegisterMapError
        s.problems.add(s.field(key), str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return None
    if link is None:
        return config
    return replace(config.with_connection(**link.connection_changes()), unit_id=link.unit_id)


def _sorter_config(s: Section, config: PlcConfig, site: Site | None) -> PlcConfig | None:
    where = s.field("register_map")
    missing = [b for b in SORTER_BLOCKS if not config.registers.has(b)]
    if missing:
        s.problems.add(where, f"a sorter PLC's register map needs block {', '.join(missing)}")
        return None
    if site is None:
        return config  # the map did not load; that problem is reported already
    if not site.sorters:
        if config.sorter is None:
            s.problems.add(
                where, "no sorter: the register map has no sorter section and the site map none"
            )
            return None
        return config
    try:
        return apply_site(config, site)
    except ValueError as exc:
        s.problems.add(where, str(exc).splitlines()[0])
        return None
