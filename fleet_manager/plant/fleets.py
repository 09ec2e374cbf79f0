"""The `fleets:` section: VDA 5050 vehicles over MQTT, simulated robots, reserved ROS 2."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fleet_manager.plant.errors import Problems, show
from fleet_manager.plant.fields import Section, integer, type_name
from fleet_manager.plant.model import Fleet, MqttBroker, Ros2Fleet, SimulatedFleet, Vda5050Fleet
from fleet_manager.site.model import Site

ADAPTERS = ("vda5050", "simulated", "ros2")
VDA_VERSIONS = ("2.0", "2.1", "3.0")  # 2.0 vehicles are driven with the 2.1 codec
_COMMON = {"name", "adapter"}
_VDA_KEYS = _COMMON | {
    "version",
    "broker",
    "username",
    "password",
    "ca_file",
    "interface_name",
    "manufacturer",
    "serials",
    "accept_any",
    "state_timeout_s",
    "start_nodes",
}
_KEYS = {"vda5050": _VDA_KEYS, "simulated": _COMMON | {"count"}, "ros2": _COMMON | {"robots"}}
_DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}


def parse_fleets(
    raw: Any, problems: Problems, base_dir: Path, site: Site | None
) -> tuple[Fleet, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.add("fleets", f"expected a list of fleets, got {type_name(raw)}")
        return ()
    fleets: list[Fleet] = []
    seen: dict[str, str] = {}
    serial_owner: dict[tuple[str, str], str] = {}
    for i, item in enumerate(raw):
        path = f"fleets[{i}]"
        adapter = (
            Section(item, path, problems).choice("adapter", ADAPTERS)
            if isinstance(item, dict)
            else None
        )
        section = Section(item, path, problems, _KEYS.get(adapter or "", None))
        name = section.text("name")
        if name is not None:
            if name in seen:
                problems.add(
                    section.field("name"), f"duplicate fleet name {name!r} (also {seen[name]})"
                )
            seen.setdefault(name, path)
        fleet: Fleet | None = None
        if adapter == "vda5050":
            fleet = _vda5050(section, name, base_dir, site)
        elif adapter == "simulated":
            fleet = _simulated(section, name, site)
        elif adapter == "ros2":
            fleet = _ros2(section, name)
        if isinstance(fleet, Vda5050Fleet):
            for serial in fleet.serials:
                key = (fleet.manufacturer, serial)
                if key in serial_owner:
                    problems.add(
                        section.field("serials"),
                        f"vehicle {fleet.manufacturer}/{serial} is already in fleet "
                        f"{serial_owner[key]}",
                    )
                serial_owner.setdefault(key, fleet.name)
        if fleet is not None and not problems.has_under(path):
            fleets.append(fleet)
    return tuple(fleets)


def _vda5050(
    s: Section, name: str | None, base_dir: Path, site: Site | None
) -> Vda5050Fleet | None:
    version = s.text("version", "2.1")
    if version is not None and version not in VDA_VERSIONS:
        s.problems.add(s.field("version"), f"expected 2.0, 2.1 or 3.0, got {version!r}")
    broker = _broker(s, base_dir)
    manufacturer = s.text("manufacturer")
    interface_name = s.text("interface_name", "uagv")
    for key, value in (("manufacturer", manufacturer), ("interface_name", interface_name)):
        if value is not None and any(c in value for c in "/+#"):
            s.problems.add(
                s.field(key), f"must not contain '/', '+' or '#' (MQTT topic level), got {value!r}"
            )
    serials = _serials(s)
    accept_any = s.boolean("accept_any", False)
    if serials is not None and not serials and accept_any is False:
        s.problems.add(
            s.field("serials"),
            "give serials (a list or {prefix, count, width}) or set accept_any: true",
        )
    timeout_s = s.number("state_timeout_s", 10.0)
    cells = _start_cells(s, serials or (), bool(accept_any), site)
    if None in (
        name,
        version,
        broker,
        manufacturer,
        interface_name,
        serials,
        accept_any,
        timeout_s,
        cells,
    ):
        return None
    return Vda5050Fleet(
        name=name, version=version, broker=broker, manufacturer=manufacturer,
        serials=serials, accept_any=accept_any, interface_name=interface_name,
        state_timeout_s=timeout_s, start_cells=cells,
    )  # fmt: skip


def _broker(s: Section, base_dir: Path) -> MqttBroker | None:
    url = s.text("broker")
    username = s.text("username", None, empty_ok=True) or None
    password_raw = s.get("password", None)
    password: str | None = None
    if password_raw is not None:
        if isinstance(password_raw, bool) or not isinstance(password_raw, str | int | float):
            s.problems.add(s.field("password"), f"expected a string, got {type_name(password_raw)}")
        else:
            password = str(password_raw) or None
    if url is None:
        return None
    where = s.field("broker")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        s.problems.add(where, f"bad URL {url!r}: {exc}")
        return None
    if parts.scheme not in _DEFAULT_PORTS:
        s.problems.add(
            where, f"expected an mqtt:// or mqtts:// URL, got scheme {parts.scheme or 'none'!r}"
        )
        return None
    if parts.username is not None or parts.password is not None:
        # Never echo the URL: it holds a password.
        s.problems.add(where, "credentials in the URL are not allowed; use username and password")
        return None
    if not parts.hostname:
        s.problems.add(where, f"expected mqtt://HOST[:PORT], got {url!r} (no host)")
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        s.problems.add(
            where, f"expected mqtt://HOST[:PORT] with nothing after the port, got {url!r}"
        )
        return None
    if port == 0:
        s.problems.add(where, f"expected a port 1..65535, got 0 in {url!r}")
        return None
    tls = parts.scheme == "mqtts"
    ca_file = None
    if s.has("ca_file"):
        if not tls:
            s.problems.add(s.field("ca_file"), "only for an mqtts:// broker")
        ca_file = s.path_of("ca_file", base_dir)
        if ca_file is None:
            return None
    return MqttBroker(
        url=url, host=parts.hostname, port=port or _DEFAULT_PORTS[parts.scheme], tls=tls,
        username=username, password=password, ca_file=ca_file,
    )  # fmt: skip


def _serials(s: Section) -> tuple[str, ...] | None:
    raw = s.get("serials", [])
    where = s.field("serials")
    if isinstance(raw, list):
        out: list[str] = []
        for i, item in enumerate(raw):
            if isinstance(item, bool) or not isinstance(item, str | int) or str(item) == "":
                s.problems.add(
                    f"{where}[{i}]", f"expected a serial number string, got {show(where, item)}"
                )
                return None
            out.append(str(item))
        dup = sorted({x for x in out if out.count(x) > 1})
        if dup:
            s.problems.add(where, f"duplicate serials {', '.join(dup)}")
            return None
        return tuple(out)
    if isinstance(raw, dict):
        rng = Section(raw, where, s.problems, {"prefix", "count", "width", "start"})
        prefix = rng.text("prefix", "", empty_ok=True)
        count = rng.integer("count", 0, 100000)
        width = rng.integer("width", 0, 12, 0)
        start = rng.integer("start", 0, None, 1)
        if None in (prefix, count, width, start):
            return None
        return tuple(f"{prefix}{n:0{width}d}" for n in range(start, start + count))
    s.problems.add(
        where, f"expected a list of serials or {{prefix, count, width}}, got {type_name(raw)}"
    )
    return None


def _start_cells(
    s: Section, serials: tuple[str, ...], accept_any: bool, site: Site | None
) -> dict[str, tuple[int, int]] | None:
    raw = s.get("start_nodes", {})
    where = s.field("start_nodes")
    if not isinstance(raw, dict):
        s.problems.add(where, f"expected a mapping serial -> [col, row], got {type_name(raw)}")
        return None
    cells: dict[str, tuple[int, int]] = {}
    ok = True
    for serial, cell in raw.items():
        field = f"{where}.{serial}"
        if not accept_any and str(serial) not in serials:
            s.problems.add(field, f"unknown serial {serial!r} (not in serials)")
            ok = False
            continue
        if not isinstance(cell, list) or len(cell) != 2:
            s.problems.add(field, f"expected [col, row], got {show(field, cell)}")
            ok = False
            continue
        col = integer(cell[0], f"{field}[0]", 0, None, s.problems)
        row = integer(cell[1], f"{field}[1]", 0, None, s.problems)
        if col is None or row is None:
            ok = False
            continue
        if site is not None and (col, row) not in site.node_at:
            s.problems.add(field, f"cell [{col}, {row}] is not a traversable cell of the map")
            ok = False
            continue
        cells[str(serial)] = (col, row)
    return cells if ok else None


def _simulated(s: Section, name: str | None, site: Site | None) -> SimulatedFleet | None:
    default = len(site.robots) if site is not None else 0
    count = s.integer("count", 0, 100000, default)
    if name is None or count is None:
        return None
    return SimulatedFleet(name=name, count=count)


def _ros2(s: Section, name: str | None) -> Ros2Fleet | None:
    raw = s.get("robots", [])
    if not isinstance(raw, list) or not all(isinstance(x, str) and x for x in raw):
        s.problems.add(
            s.field("robots"), f"expected a list of ROS 2 namespaces, got {type_name(raw)}"
        )
        return None
    if name is None:
        return None
    return Ros2Fleet(name=name, robots=tuple(raw))
