"""Read a plant file: YAML -> `${VAR}` substitution -> validation -> `Plant`, or one PlantError."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from fleet_manager.plant.devices import parse_devices
from fleet_manager.plant.envsubst import substitute
from fleet_manager.plant.errors import PlantError, Problems, show
from fleet_manager.plant.fields import Section, type_name
from fleet_manager.plant.fleets import parse_fleets
from fleet_manager.plant.model import (
    CONFIRM_MODES,
    PLANT_VERSION,
    Clock,
    OrderGenerator,
    Plant,
    StationSetup,
)
from fleet_manager.site import MapError, load_site
from fleet_manager.site.model import Site

TOP_KEYS = {"plant", "name", "site", "clock", "fleets", "plcs", "cranes", "stations", "orders"}
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _StrictLoader(_Loader):  # type: ignore[misc, valid-type]
    """Safe YAML loader that refuses a key written twice in one mapping (PyYAML keeps the last
    silently, which hides a typo such as two `port:` lines)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
                continue
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


def load_plant(path: str | Path, env: Mapping[str, str] | None = None) -> Plant:
    """Read and validate a plant file; `env` (default os.environ) feeds `${VAR}`.
    Raises PlantError listing every problem; never returns a half-checked plant."""
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise PlantError(source, [_problem("file", "not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise PlantError(source, [_problem("file", f"cannot read: {reason}")]) from None
    try:
        raw = yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        # Only the problem and its position: the snippet PyYAML adds could show a secret.
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "cannot parse"
        raise PlantError(source, [_problem("file", f"invalid YAML{where}: {problem}")]) from None
    return parse_plant(raw, source, path.parent, os.environ if env is None else env)


def parse_plant(
    raw: Any, source: str, base_dir: str | Path, env: Mapping[str, str] | None = None
) -> Plant:
    """Validate an already parsed YAML document; relative paths resolve against `base_dir`."""
    problems = Problems()
    base = Path(base_dir)
    if not isinstance(raw, Mapping):
        problems.add(
            "file", f"the top level must be a mapping of plant fields, got {type_name(raw)}"
        )
        raise PlantError(source, problems.items)
    raw = substitute(raw, os.environ if env is None else env, "", problems)
    top = Section(raw, "", problems, TOP_KEYS)
    version = top.get("plant")
    if version is not None and (
        isinstance(version, bool) or str(version).strip() != str(PLANT_VERSION)
    ):
        problems.add(
            "plant", f"expected format version {PLANT_VERSION}, got {show('plant', version)}"
        )
    name = top.text("name")
    map_path, site = _site(top.get("site"), base, problems)
    clock = _clock(top.get("clock", {}), problems)
    fleets = parse_fleets(top.get("fleets", []), problems, base, site)
    plcs, cranes = parse_devices(top.get("plcs", []), top.get("cranes", []), problems, base, site)
    stations = _stations(top.get("stations", {}), site, problems)
    generator = _orders(top.get("orders", {}), problems)
    if problems.items:
        raise PlantError(source, problems.items)
    assert name is not None and map_path is not None and site is not None and clock is not None
    assert stations is not None
    return Plant(
        name=name, source=Path(source), map_path=map_path, clock=clock, fleets=fleets, plcs=plcs,
        cranes=cranes, stations=stations, order_generator=generator, site=site,
    )  # fmt: skip


def _problem(field: str, message: str) -> Any:
    problems = Problems()
    problems.add(field, message)
    return problems.items[0]


def _site(raw: Any, base_dir: Path, problems: Problems) -> tuple[Path | None, Site | None]:
    if raw is None:
        problems.add("site", "required field is missing (expected {map: PATH})")
        return None, None
    s = Section(raw, "site", problems, {"map"})
    path = s.path_of("map", base_dir)
    if path is None:
        return None, None
    try:
        return path, load_site(path)
    except MapError as exc:
        problems.add("site.map", f"map does not load: {str(exc).splitlines()[0]}")
        return None, None


def _clock(raw: Any, problems: Problems) -> Clock | None:
    s = Section(raw, "clock", problems, {"kind", "speed"})
    kind = s.choice("kind", ("wall", "simulated"), "wall")
    if s.has("speed") and kind == "wall":
        problems.add("clock.speed", "only for kind: simulated (wall time runs at speed 1)")
    speed = s.number("speed", 1.0)
    if kind is None or speed is None or not s.ok:
        return None
    return Clock(kind=kind, speed=speed)


def _stations(raw: Any, site: Site | None, problems: Problems) -> tuple[StationSetup, ...] | None:
    s = Section(raw, "stations", problems)
    if not s.ok:
        return None
    modes: dict[str, str] = {}
    for key, value in s.raw.items():
        where = s.field(str(key))
        entry = Section(value, where, problems, {"confirm"})
        mode = entry.choice("confirm", CONFIRM_MODES)
        if site is not None and key != "default" and key not in site.stations:
            known = ", ".join(site.stations) or "none"
            problems.add(where, f"unknown station {key!r} (map has: {known}; or use 'default')")
        if mode is not None:
            modes[str(key)] = mode
    if site is None:
        return None
    default = modes.get("default", "simulated_operator")
    return tuple(StationSetup(sid, modes.get(sid, default)) for sid in site.stations)


def _orders(raw: Any, problems: Problems) -> OrderGenerator | None:
    s = Section(raw, "orders", problems, {"generator"})
    if not s.has("generator"):
        return None
    g = Section(s.raw["generator"], "orders.generator", problems, {"orders_per_h", "seed"})
    rate = g.number("orders_per_h", 600.0)
    seed = g.integer("seed", 0, None, 0)
    if rate is None or seed is None or not g.ok:
        return None
    return OrderGenerator(orders_per_h=rate, seed=seed)
