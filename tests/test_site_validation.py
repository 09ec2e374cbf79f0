"""Validation: each bad map fails naming its field and location; loading is all-or-nothing."""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

import pytest

from fleet_manager.site import MapError, MapValidationError, load_site, validate_site
from fleet_manager.site.model import SorterLane

REPO = Path(__file__).resolve().parents[1]
BAD = REPO / "tests" / "data" / "maps"

# file -> (field, location or None, words of the message)
CASES = {
    "missing_cell_size.yaml": ("map.cell_size_m", None, "required field is missing"),
    "wrong_type.yaml": ("robot_model.speed_mps", None, "expected a number"),
    "out_of_bounds.yaml": ("chargers[CH1].at", "(30, 1)", "outside the layout"),
    "duplicate_pod_id.yaml": ("pods[POD1].id", None, "duplicate pod id"),
    "overlap_chargers.yaml": ("chargers[CH2].at", "(8, 1)", "overlaps chargers[CH1]"),
    "pod_unknown_slot.yaml": ("pods[POD3].slot", None, "unknown slot 'L-099-099'"),
    "sorter_unknown_conveyor.yaml": ("sorters[SRT1].conveyor", None, "unknown conveyor 'CV9'"),
    "queue_wall.yaml": ("stations[ST1].queue[0]", "(2, 7)", "queue cell is a wall"),
    "charger_unreachable.yaml": ("chargers[CH1]", "(8, 1)", "unreachable"),
    "oneway_trap.yaml": ("conveyors[CV1].points[IN1].cell", "(11, 5)", "unreachable"),
    "charger_forbidden.yaml": ("chargers[CH1].at", "(8, 1)", "inside forbidden zone FZ1"),
    "station_forbidden.yaml": ("stations[ST1].at", "(4, 6)", "inside forbidden zone FZ2"),
    "asrs_overlap.yaml": ("asrs[AS1].footprint", "(7, 2)", "overlaps 13 traversable cell"),
    "sorter_no_reject.yaml": ("sorters[SRT1].lanes", None, "needs one lane with role 'reject'"),
    "lane_beyond_conveyor.yaml": (
        "sorters[SRT1].lanes[L2].divert_position_m",
        None,
        "outside the conveyor",
    ),
    "unknown_char.yaml": ("layout", "(5, 2)", "unknown character 'Z'"),
    "orphan_queue.yaml": ("layout", "(7, 6)", "belongs to no entry of `stations`"),
    "unknown_field.yaml": ("map.robot_modle", None, "unknown field"),
    "bad_yaml.yaml": ("yaml", "line 5", "not valid YAML"),
    "conveyor_over_floor.yaml": ("conveyors[CV1].path_m", "(5, 2)", "crosses 6 traversable cell"),
    "duplicate_station_id.yaml": ("stations[ST1].id", None, "duplicate station id 'ST1'"),
}


def test_every_bad_map_has_a_case() -> None:
    assert sorted(p.name for p in BAD.glob("*.yaml")) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_map_fails_naming_field_and_location(name: str) -> None:
    field, location, words = CASES[name]
    path = BAD / name
    with pytest.raises(MapError) as info:
        load_site(path)
    errors = getattr(info.value, "errors", [info.value])
    hits = [e for e in errors if e.field == field and words in e.message]
    assert hits, "\n".join(map(str, errors))
    assert hits[0].location == location or (location and location in (hits[0].location or ""))
    text = str(hits[0])
    assert text.startswith(f"{path}: {field}") and words in text
    if location:
        assert f" at {location}" in text


def test_all_faults_are_collected(tmp_path: Path) -> None:
    text = (REPO / "maps" / "tiny.yaml").read_text()
    text = text.replace("queue: [[2, 6], [3, 6]]", "queue: [[2, 7], [3, 6]]")
    text = text.replace("    conveyor: CV1\n", "    conveyor: CV9\n")
    text = text.replace("robot_model: {speed_mps: 1.5,", "robot_model: {speed_mps: -1,")
    path = tmp_path / "many.yaml"
    path.write_text(text)
    with pytest.raises(MapValidationError) as info:
        load_site(path)
    fields = {e.field for e in info.value.errors}
    assert {"stations[ST1].queue[0]", "sorters[SRT1].conveyor", "robot_model.speed_mps"} <= fields
    assert len(str(info.value).splitlines()) == len(info.value.errors)


def test_validate_site_checks_sites_built_in_code() -> None:
    site = load_site(REPO / "maps" / "tiny.yaml")
    assert validate_site(site) == []
    broken = copy.copy(site)
    sorter = site.sorters["SRT1"]
    lanes = tuple(replace(lane, role="order") for lane in sorter.lanes) + (
        SorterLane("L9", 0.5, 3, "order"),
    )
    broken.sorters = {"SRT1": replace(sorter, lanes=lanes)}
    broken.chargers = {**site.chargers, "CH2": replace(site.chargers["CH1"], id="CH2")}
    msgs = [str(e) for e in validate_site(broken)]
    assert any("sorters[SRT1].lanes: needs one lane with role 'reject'" in m for m in msgs)
    assert any("lanes[L9].divert_position_m" in m and "after the scanner" in m for m in msgs)
    assert any("chargers[CH2] at (8, 1): overlaps chargers[CH1]" in m for m in msgs)


def test_unsupported_extension_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MapError, match="unsupported map type"):
        load_site(tmp_path / "x.json")
    with pytest.raises(MapError, match="cannot read"):
        load_site(tmp_path / "absent.yaml")
