"""Plant files: the shipped plants load (defaults and env overrides), bad ones name every field."""

from __future__ import annotations

import argparse
import copy
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from fleet_manager.plant import (
    ModbusRtu,
    ModbusTcp,
    PlantError,
    SimulatedFleet,
    Vda5050Fleet,
    load_plant,
    parse_plant,
)
from fleet_manager.plant import cli as plant_cli
from fleet_manager.plant.envsubst import SubstitutionError, expand
from fleet_manager.plant.errors import show
from fleet_manager.site import load_site

REPO = Path(__file__).resolve().parents[1]
PLANTS = REPO / "config" / "plants"
MAP = REPO / "maps" / "demo.yaml"
SORTER_MAP = REPO / "config" / "plc" / "demo-sorter.yaml"
CRANE_MAP = REPO / "config" / "plc" / "demo-crane.yaml"
SECRET = "s3cr3t-Pa55"


# --- the shipped plants ---------------------------------------------------------------------


def test_loopback_defaults() -> None:
    plant = load_plant(PLANTS / "loopback.yaml", env={})
    site = load_site(MAP)
    assert plant.name == "loopback"
    assert plant.map_path == MAP
    assert plant.clock.kind == "wall"
    assert plant.order_generator is None
    (fleet,) = plant.fleets
    assert isinstance(fleet, Vda5050Fleet) and fleet.adapter == "vda5050"
    assert (fleet.name, fleet.version, fleet.manufacturer) == ("amrs", "2.1", "wcs-sim")
    assert fleet.serials == ("amr-01", "amr-02", "amr-03", "amr-04")
    assert not fleet.accept_any and fleet.interface_name == "uagv"
    b = fleet.broker
    assert (b.host, b.port, b.tls, b.username, b.password) == ("127.0.0.1", 1883, False, None, None)
    (sorter,) = plant.plcs
    assert sorter.role == "sorter" and sorter.link == ModbusTcp("127.0.0.1", 5020, 1)
    assert sorter.register_map == SORTER_MAP
    # The loaded register map carries the plant's endpoint and the map's sorter geometry.
    assert (sorter.config.connection.host, sorter.config.connection.port) == ("127.0.0.1", 5020)
    assert sorter.config.sorter is not None
    assert sorter.config.sorter.sorter.id in site.sorters
    (crane,) = plant.cranes
    assert (crane.name, crane.aisle, crane.link) == ("CR1", "AS1", ModbusTcp("127.0.0.1", 5021))
    assert crane.config.connection.port == 5021 and crane.config.registers.has("crane_command")
    assert [s.id for s in plant.stations] == list(site.stations)
    assert {s.confirm for s in plant.stations} == {"simulated_operator"}
    assert plant.confirm_mode("ST1") == "simulated_operator"


def test_loopback_env_overrides() -> None:
    env = {
        "WCS_MQTT_URL": "mqtts://broker.test:8884",
        "WCS_MQTT_USER": "wcs",
        "WCS_MQTT_PASSWORD": SECRET,
        "WCS_SORTER_PLC": "127.0.0.2:6020",
        "WCS_CRANE_PLC": "[::1]:6021",
        "WCS_AMR_COUNT": "6",
    }
    plant = load_plant(PLANTS / "loopback.yaml", env=env)
    fleet = plant.fleet("amrs")
    assert isinstance(fleet, Vda5050Fleet)
    assert fleet.serials == tuple(f"amr-{i:02d}" for i in range(1, 7))
    b = fleet.broker
    assert (b.host, b.port, b.tls, b.username, b.password) == (
        "broker.test",
        8884,
        True,
        "wcs",
        SECRET,
    )
    assert plant.plc("demo-sorter").link == ModbusTcp("127.0.0.2", 6020)
    assert plant.crane("CR1").link == ModbusTcp("::1", 6021)
    assert plant.crane("CR1").config.connection.host == "::1"


def test_load_plant_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WCS_AMR_COUNT", "2")
    monkeypatch.setenv("WCS_MQTT_URL", "mqtt://10.0.0.9")
    fleet = load_plant(PLANTS / "loopback.yaml").fleets[0]
    assert isinstance(fleet, Vda5050Fleet)
    assert fleet.serials == ("amr-01", "amr-02")
    assert (fleet.broker.host, fleet.broker.port) == ("10.0.0.9", 1883)


def test_demo_plant() -> None:
    plant = load_plant(PLANTS / "demo.yaml", env={})
    site = load_site(MAP)
    (fleet,) = plant.fleets
    assert isinstance(fleet, SimulatedFleet) and fleet.count == len(site.robots) > 0
    assert (plant.clock.kind, plant.clock.speed) == ("simulated", 1.0)
    assert plant.order_generator is not None
    assert (plant.order_generator.orders_per_h, plant.order_generator.seed) == (600.0, 0)
    assert plant.plcs[0].link == ModbusTcp("127.0.0.1", 15020)
    assert plant.cranes[0].link == ModbusTcp("127.0.0.1", 15030)
    env = {"WCS_SORTER_PLC": "localhost:16020"}
    assert load_plant(PLANTS / "demo.yaml", env=env).plcs[0].link.port == 16020


# --- bad plant files --------------------------------------------------------------------------


def _base() -> dict[str, Any]:
    return {
        "plant": 1,
        "name": "t",
        "site": {"map": str(MAP)},
        "fleets": [
            {
                "name": "amrs",
                "adapter": "vda5050",
                "broker": "mqtt://127.0.0.1",
                "manufacturer": "m",
                "serials": ["a1", "a2"],
            }
        ],
        "plcs": [
            {
                "name": "sorter",
                "role": "sorter",
                "transport": "modbus-tcp",
                "host": "127.0.0.1",
                "port": 5020,
                "register_map": str(SORTER_MAP),
            }
        ],
        "cranes": [
            {
                "name": "CR1",
                "aisle": "AS1",
                "transport": "modbus-tcp",
                "endpoint": "127.0.0.1:5021",
                "telegram_map": str(CRANE_MAP),
            }
        ],
    }


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation of the base plant: `a.0.b` sets doc['a'][0]['b']; value None deletes."""

    def apply(doc: dict[str, Any]) -> None:
        *head, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        node: Any = doc
        for part in head:
            node = node[part]
        if value is None:
            del node[last]
        else:
            node[last] = value

    return apply


def _write_bad_plc(tmp: Path) -> str:
    bad = tmp / "bad-plc.yaml"
    bad.write_text("plc: {name: x, unit_id: 999}\nregisters: {}\n")
    return str(bad)


def _write_bad_map(tmp: Path) -> str:
    bad = tmp / "bad-map.yaml"
    bad.write_text("name: broken\nlayout: 42\n")
    return str(bad)


# (case id, mutation, env, field, fragment of the message)
BAD: list[tuple[str, Any, dict[str, str], str, str]] = [
    ("unknown adapter", _set("fleets.0.adapter", "agv-magic"), {}, "fleets[0].adapter", "one of"),
    ("missing name", _set("name", None), {}, "name", "required field is missing"),
    ("missing manufacturer", _set("fleets.0.manufacturer", None), {}, "fleets[0].manufacturer",
     "missing"),
    ("missing version", _set("plant", None), {}, "plant", "missing"),
    ("wrong version", _set("plant", 2), {}, "plant", "format version 1"),
    ("fleets not a list", _set("fleets", {"a": 1}), {}, "fleets", "expected a list"),
    ("count not int", lambda d: d["fleets"].append(
        {"name": "sim", "adapter": "simulated", "count": "many"}), {}, "fleets[1].count",
     "expected an integer 0..100000, got 'many'"),
    ("bad url scheme", _set("fleets.0.broker", "http://127.0.0.1:1883"), {}, "fleets[0].broker",
     "mqtt:// or mqtts://"),
    ("url without host", _set("fleets.0.broker", "mqtt://:1883"), {}, "fleets[0].broker",
     "no host"),
    ("vda 3.1", _set("fleets.0.version", "3.1"), {}, "fleets[0].version", "expected 2.0, 2.1 or 3.0"),
    ("port out of range", _set("plcs.0.port", 70000), {}, "plcs[0].port",
     "expected an integer 1..65535, got 70000"),
    ("port from env not a number", _set("plcs.0.port", "${P}"), {"P": "abc"}, "plcs[0].port",
     "expected an integer 1..65535, got 'abc'"),
    ("endpoint port not a number", _set("cranes.0.endpoint", "127.0.0.1:abc"), {},
     "cranes[0].endpoint", "expected an integer 1..65535, got 'abc'"),
    ("endpoint without port", _set("cranes.0.endpoint", "127.0.0.1"), {}, "cranes[0].endpoint",
     "HOST:PORT"),
    ("unit id", _set("plcs.0.unit_id", 300), {}, "plcs[0].unit_id", "0..247"),
    ("unset env var", _set("fleets.0.broker", "${WCS_NO_SUCH_BROKER}"), {}, "fleets[0].broker",
     "environment variable WCS_NO_SUCH_BROKER is not set"),
    ("bad substitution", _set("name", "${1X}"), {}, "name", "bad substitution"),
    ("unknown aisle", _set("cranes.0.aisle", "AS9"), {}, "cranes[0].aisle",
     "unknown AS/RS aisle 'AS9'"),
    ("unknown station", _set("stations", {"ST99": {"confirm": "api"}}), {}, "stations.ST99",
     "unknown station 'ST99'"),
    ("bad confirm mode", _set("stations", {"default": {"confirm": "telepathy"}}), {},
     "stations.default.confirm", "simulated_operator"),
    ("missing register map", _set("plcs.0.register_map", "nowhere/sorter.yaml"), {},
     "plcs[0].register_map", "not found"),
    ("register map fails to load", lambda d, tmp: _set("plcs.0.register_map", _write_bad_plc(tmp))(d),
     {}, "plcs[0].register_map", "plc.unit_id"),
    ("sorter map without sorter blocks", _set("plcs.0.register_map", str(CRANE_MAP)), {},
     "plcs[0].register_map", "needs block divert"),
    ("crane map without crane blocks", _set("cranes.0.telegram_map", str(SORTER_MAP)), {},
     "cranes[0].telegram_map", "no block crane_command"),
    ("map fails to load", lambda d, tmp: _set("site.map", _write_bad_map(tmp))(d), {}, "site.map",
     "map does not load"),
    ("missing site", _set("site", None), {}, "site", "missing"),
    ("duplicate fleet", lambda d: d["fleets"].append(dict(d["fleets"][0], serials=["z"])), {},
     "fleets[1].name", "duplicate fleet name 'amrs'"),
    ("duplicate device", _set("cranes.0.name", "sorter"), {}, "cranes[0].name",
     "duplicate device name 'sorter'"),
    ("duplicate vehicle", lambda d: d["fleets"].append(dict(d["fleets"][0], name="b")), {},
     "fleets[1].serials", "already in fleet amrs"),
    ("unknown key", _set("fleets.0.brokr", "x"), {}, "fleets[0].brokr",
     "unknown field (allowed: accept_any, adapter, broker"),
    ("unknown top key", _set("robots", 3), {}, "robots", "unknown field"),
    ("rtu key on tcp", _set("plcs.0.baudrate", 9600), {}, "plcs[0].baudrate", "unknown field"),
    ("no serials", _set("fleets.0.serials", None), {}, "fleets[0].serials", "accept_any"),
    ("accept_any not bool", _set("fleets.0.accept_any", "maybe"), {}, "fleets[0].accept_any",
     "true or false"),
    ("ca_file on mqtt", _set("fleets.0.ca_file", str(MAP)), {}, "fleets[0].ca_file", "mqtts"),
    ("start cell not on floor", _set("fleets.0.start_nodes", {"a1": [0, 0]}), {},
     "fleets[0].start_nodes.a1", "not a traversable cell"),
    ("start cell unknown serial", _set("fleets.0.start_nodes", {"zz": [1, 1]}), {},
     "fleets[0].start_nodes.zz", "unknown serial"),
    ("clock speed", _set("clock", {"kind": "simulated", "speed": 0}), {}, "clock.speed", "> 0"),
    ("rtu parity", _set("plcs.0", {"name": "sorter", "role": "conveyor",
                                   "transport": "modbus-rtu", "device": "/dev/ttyUSB0",
                                   "parity": "X", "register_map": str(SORTER_MAP)}), {},
     "plcs[0].parity", "N, E, O"),
]  # fmt: skip


def _mutated(mutate: Any, tmp: Path) -> dict[str, Any]:
    doc = copy.deepcopy(_base())
    if mutate.__code__.co_argcount == 2:
        mutate(doc, tmp)
    else:
        mutate(doc)
    return doc


def test_base_plant_is_valid(tmp_path: Path) -> None:
    plant = parse_plant(_base(), "base.yaml", tmp_path, {})
    assert plant.fleets[0].name == "amrs" and plant.plcs[0].link.port == 5020


@pytest.mark.parametrize(
    ("case", "mutate", "env", "field", "fragment"), BAD, ids=[b[0] for b in BAD]
)
def test_bad_plant_names_the_field(
    tmp_path: Path, case: str, mutate: Any, env: dict[str, str], field: str, fragment: str
) -> None:
    path = tmp_path / "plant.yaml"
    path.write_text(yaml.safe_dump(_mutated(mutate, tmp_path)))
    with pytest.raises(PlantError) as info:
        load_plant(path, env=env)
    err = info.value
    fields = [p.field for p in err.problems]
    assert field in fields, f"{case}: {err}"
    line = f"{path}: {field}: "
    matching = [text for text in str(err).splitlines() if text.startswith(line)]
    assert matching and fragment in matching[0], f"{case}: {err}"


def test_rtu_link_parses(tmp_path: Path) -> None:
    doc = _base()
    doc["plcs"][0] = {
        "name": "belt",
        "role": "conveyor",
        "transport": "modbus-rtu",
        "device": "/dev/ttyUSB0",
        "baudrate": "${BAUD:-19200}",
        "parity": "E",
        "stop_bits": 2,
        "unit_id": 7,
        "register_map": str(SORTER_MAP),
    }
    plant = parse_plant(doc, "rtu.yaml", tmp_path, {})
    link = plant.plcs[0].link
    assert link == ModbusRtu("/dev/ttyUSB0", 19200, "E", 2, 7)
    conn = plant.plcs[0].config.connection
    assert (conn.transport, conn.serial_port, conn.baudrate, conn.parity) == (
        "rtu",
        "/dev/ttyUSB0",
        19200,
        "E",
    )
    assert plant.plcs[0].config.unit_id == 7


def test_all_problems_are_collected(tmp_path: Path) -> None:
    doc = _base()
    doc["fleets"][0]["broker"] = "ftp://x"
    doc["plcs"][0]["port"] = 0
    doc["cranes"][0]["aisle"] = "NOPE"
    doc["clock"] = {"kind": "sundial"}
    with pytest.raises(PlantError) as info:
        parse_plant(doc, "many.yaml", tmp_path, {})
    fields = [p.field for p in info.value.problems]
    assert fields == ["clock.kind", "fleets[0].broker", "plcs[0].port", "cranes[0].aisle"]
    assert str(info.value).splitlines()[1].startswith("many.yaml: fleets[0].broker: ")


def test_relative_paths_resolve_against_the_plant_file(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    doc = _base()
    doc["plcs"][0]["register_map"] = "../sorter.yaml"
    (tmp_path / "sorter.yaml").write_text(SORTER_MAP.read_text())
    (tmp_path / "sub" / "p.yaml").write_text(yaml.safe_dump(doc))
    plant = load_plant(tmp_path / "sub" / "p.yaml", env={})
    assert plant.plcs[0].register_map == tmp_path / "sorter.yaml"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("plant: 1\nname: [unclosed\n", "invalid YAML at line 3"),
        ("- plant: 1\n- name: x\n", "top level must be a mapping of plant fields, got a list"),
        ("", "top level must be a mapping of plant fields, got nothing"),
        ("plant: 1\nname: a\nname: b\n", "invalid YAML at line 3, column 1: duplicate key 'name'"),
    ],
)
def test_file_level_problems(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(PlantError) as info:
        load_plant(path, env={})
    assert str(info.value).startswith(f"{path}: file: ") and fragment in str(info.value)


def test_missing_file() -> None:
    with pytest.raises(PlantError, match=r"nope\.yaml: file: not found"):
        load_plant("/nonexistent/nope.yaml", env={})


# --- substitution -----------------------------------------------------------------------------


def test_expand() -> None:
    env = {"A": "x", "EMPTY": ""}
    assert expand("${A}-${B:-dflt}-${EMPTY:-e}-${B:-}", env) == "x-dflt-e-"
    assert expand("cost $$5 and $5 and $A", env) == "cost $5 and $5 and $A"
    assert expand("$${A}", env) == "${A}"
    with pytest.raises(SubstitutionError, match="environment variable B is not set"):
        expand("${B}", env)
    with pytest.raises(SubstitutionError, match="unterminated"):
        expand("${A", env)


def test_keys_are_not_substituted(tmp_path: Path) -> None:
    doc = _base()
    doc["stations"] = {"${ST}": {"confirm": "api"}}
    with pytest.raises(PlantError, match=r"stations\.\$\{ST\}: unknown station"):
        parse_plant(doc, "k.yaml", tmp_path, {"ST": "ST1"})


# --- secrets ----------------------------------------------------------------------------------


def test_secrets_never_in_repr_describe_or_redacted() -> None:
    env = {"WCS_MQTT_PASSWORD": SECRET, "WCS_MQTT_USER": "wcs"}
    plant = load_plant(PLANTS / "loopback.yaml", env=env)
    assert plant.fleets[0].broker.password == SECRET  # the runtime needs it
    for text in (repr(plant), str(plant), plant.describe(), str(plant.redacted())):
        assert SECRET not in text
    assert "***" in plant.describe()
    assert plant.redacted()["fleets"][0]["broker"]["password"] == "***"
    assert plant.redacted()["fleets"][0]["adapter"] == "vda5050"


@pytest.mark.parametrize(
    "bad_password",
    [[SECRET], {"v": SECRET}, f"{SECRET}${{", f"{SECRET}${{1BAD}}"],
    ids=["list", "mapping", "unterminated", "bad-substitution"],
)
def test_bad_password_error_hides_the_value(tmp_path: Path, bad_password: Any) -> None:
    doc = _base()
    doc["fleets"][0]["password"] = bad_password
    doc["fleets"][0]["token_hint"] = SECRET  # unknown key: named, value not shown
    with pytest.raises(PlantError) as info:
        parse_plant(doc, "p.yaml", tmp_path, {})
    assert "fleets[0].password" in [p.field for p in info.value.problems]
    assert SECRET not in str(info.value) and SECRET not in repr(info.value)


def test_secret_fields_are_recognised_by_name() -> None:
    for path in ("fleets[0].password", "api_token", "x.webhook_secret", "DB_PASSWORD"):
        assert show(path, SECRET) == "***"
    assert show("fleets[0].username", "wcs") == "'wcs'"


def test_password_in_broker_url_is_rejected_without_echo(tmp_path: Path) -> None:
    doc = _base()
    doc["fleets"][0]["broker"] = f"mqtt://wcs:{SECRET}@127.0.0.1"
    with pytest.raises(PlantError) as info:
        parse_plant(doc, "p.yaml", tmp_path, {})
    assert "credentials in the URL" in str(info.value) and SECRET not in str(info.value)


def test_yaml_error_does_not_echo_the_line(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(f"plant: 1\nfleets:\n  - password: {SECRET}: [\n")
    with pytest.raises(PlantError) as info:
        load_plant(path, env={})
    assert "line 3" in str(info.value) and SECRET not in str(info.value)


# --- the validate-plant command ---------------------------------------------------------------


def _run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="wcs")
    plant_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_ok(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WCS_MQTT_PASSWORD", SECRET)
    monkeypatch.setenv("WCS_AMR_COUNT", "3")
    assert _run_cli(["validate-plant", str(PLANTS / "loopback.yaml")]) == 0
    out = capsys.readouterr().out
    assert "amrs" in out and "amr-01" in out and "demo-sorter" in out and "CR1" in out
    assert "password ***" in out and SECRET not in out


def test_cli_prints_one_line_per_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = _base()
    doc["fleets"][0]["broker"] = "ftp://x"
    doc["plcs"][0]["port"] = 0
    doc["cranes"][0]["aisle"] = "NOPE"
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(doc))
    assert _run_cli(["validate-plant", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert [line.split(": ")[1] for line in err] == [
        "fleets[0].broker",
        "plcs[0].port",
        "cranes[0].aisle",
    ]
    assert all(line.startswith(f"{path}: ") for line in err)


@pytest.mark.parametrize(
    "text",
    [None, "plant: [1\n", "- a\n- b\n", "plant: 1\nname: x\nsite: {map: nowhere.yaml}\n"],
    ids=["missing-file", "yaml-syntax", "top-level-list", "missing-map"],
)
def test_cli_subprocess_exit_2_without_traceback(tmp_path: Path, text: str | None) -> None:
    path = tmp_path / "p.yaml"
    if text is not None:
        path.write_text(text)
    script = (
        "import argparse, sys\n"
        "from fleet_manager.plant import cli\n"
        "p = argparse.ArgumentParser(prog='wcs'); cli.register(p.add_subparsers())\n"
        "a = p.parse_args(sys.argv[1:]); sys.exit(a.func(a))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, "validate-plant", str(path)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert lines and all(line.startswith(f"{path}: ") for line in lines)
