"""Register map and PLC YAML validation: overlaps, unknown blocks, 16-bit ranges, ASCII, rings."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from plc_bridge.config import PlcConfigError, load_plc_config, parse_plc_config
from plc_bridge.register_map import (
    RegisterMapError,
    RegisterValueError,
    check_word,
    decode_ascii,
    encode_ascii,
    parse_register_map,
)
from plc_bridge.rings import RingReader

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "config" / "plc" / "demo-sorter.yaml"


@pytest.fixture
def demo_raw() -> dict:
    return yaml.safe_load(DEMO.read_text())


def test_demo_config_loads_with_sorter_and_reads_fit_one_request() -> None:
    cfg = load_plc_config(DEMO)
    assert cfg.connection.transport == "tcp"
    assert len(cfg.sorter.sorter.lanes) == 20
    for _address, count in cfg.registers.read_ranges("plc"):
        assert 1 <= count <= 125
    covered = {a + i for a, c in cfg.registers.read_ranges("plc") for i in range(c)}
    for block in cfg.registers.blocks.values():
        if block.writer == "plc":
            assert set(range(block.address, block.end)) <= covered, block.name


def test_overlapping_blocks_name_both_and_the_register(demo_raw: dict) -> None:
    demo_raw["registers"]["divert"]["address"] = 14  # inside command (10..15)
    with pytest.raises(RegisterMapError) as err:
        parse_plc_config(demo_raw, "demo.yaml")
    text = str(err.value)
    assert "registers.divert" in text and "'command'" in text and "command.arg[2]" in text


def test_unknown_block_name_is_named(demo_raw: dict) -> None:
    demo_raw["registers"]["photoeyes"] = {"address": 900}
    with pytest.raises(RegisterMapError, match=r"registers\.photoeyes: unknown block name"):
        parse_plc_config(demo_raw, "demo.yaml")


@pytest.mark.parametrize(
    ("block", "body", "needle"),
    [
        ("zones", {"address": 70000}, "address=70000"),
        ("zones", {"address": 112, "count": 65536}, "count=65536"),
        ("lanes", {"address": 65530, "count": 20}, "runs past address 65535"),
        ("command", {"address": 10, "args": 200}, "exceed one write"),
        ("zones", {"address": 112, "bogus": 1}, "unknown field"),
        ("zones", {"count": 4}, "missing 'address'"),
    ],
)
def test_bad_block_values_are_named(demo_raw: dict, block: str, body: dict, needle: str) -> None:
    demo_raw["registers"][block] = body
    with pytest.raises(RegisterMapError) as err:
        parse_plc_config(demo_raw, "demo.yaml")
    assert f"registers.{block}" in str(err.value) and needle in str(err.value)


@pytest.mark.parametrize(
    ("path", "value", "needle"),
    [
        (("plc", "connection", "transport"), "udp", "plc.connection.transport"),
        (("plc", "connection", "parity"), "X", "plc.connection.parity"),
        (("plc", "timing", "poll_period_s"), 0, "plc.timing.poll_period_s"),
        (("plc", "unit_id"), 300, "plc.unit_id"),
        (("plc", "colour"), "red", "plc.colour"),
    ],
)
def test_bad_plc_fields_are_named(demo_raw: dict, path: tuple, value: object, needle: str) -> None:
    raw = copy.deepcopy(demo_raw)
    node = raw
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(PlcConfigError, match=needle.replace(".", r"\.")):
        parse_plc_config(raw, "demo.yaml")


def test_bad_lane_in_sorter_is_named(demo_raw: dict) -> None:
    demo_raw["sorter"]["lanes"][3]["divert_position_m"] = 500.0
    with pytest.raises(PlcConfigError, match=r"sorter\.lanes\[L04\]"):
        parse_plc_config(demo_raw, "demo.yaml")


def test_value_out_of_16_bit_range_names_register() -> None:
    regs = parse_register_map({"command": {"address": 10, "args": 2}})
    block = regs.block("command")
    with pytest.raises(RegisterValueError, match=r"command\.arg\[1\] \(address 13\).*70000"):
        check_word(block.field_name(3), 70000)
    with pytest.raises(RegisterValueError):
        check_word("x", -1)
    assert regs.register_name(12) == "command.arg[0] (address 12)"


@given(st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=12))
def test_ascii_round_trip(text: str) -> None:
    words = encode_ascii(text, 6)
    assert len(words) == 6 and all(0 <= w <= 0xFFFF for w in words)
    assert decode_ascii(words) == text


def _ring_words(write_index: int, entries: dict[int, list[int]], slots: int, width: int) -> list:
    words = [write_index] + [0] * (slots * width)
    for index, entry in entries.items():
        start = 1 + (index % slots) * width
        words[start : start + width] = entry
    return words


def test_ring_reader_new_entries_restart_overrun_and_stale() -> None:
    regs = parse_register_map({"confirms": {"address": 0, "slots": 4}})
    ring = RingReader(regs.block("confirms"), 2)
    assert ring.take(_ring_words(10, {}, 4, 2)).entries == []  # first read skips history
    got = ring.take(_ring_words(12, {10: [5, 1], 11: [6, 2]}, 4, 2))
    assert got.entries == [[5, 1], [6, 2]] and not got.lost
    stale = ring.take(_ring_words(11, {}, 4, 2))  # an older snapshot: nothing, index kept
    assert stale.entries == [] and ring.read_index == 12
    over = ring.take(_ring_words(19, {15: [1, 1], 16: [2, 2], 17: [3, 3], 18: [4, 4]}, 4, 2))
    assert over.lost == 3 and len(over.entries) == 4
    restarted = ring.take(_ring_words(2, {0: [7, 7], 1: [8, 8]}, 4, 2))
    assert restarted.restarted and restarted.entries == [[7, 7], [8, 8]]
