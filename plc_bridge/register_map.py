"""Register layout of one PLC: named blocks of holding registers at zero-based request addresses."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

WORD_MAX = 0xFFFF
ADDRESS_MAX = 0xFFFF
MAX_READ_WORDS = 125  # Modbus FC3 limit per request
MAX_WRITE_WORDS = 123  # Modbus FC16 limit per request


class RegisterMapError(ValueError):
    """A register map is malformed; str() names the file, the block and the fault in one line."""

    def __init__(self, source: str, block: str, message: str):
        self.source = source
        self.block = block
        self.message = message
        super().__init__(
            f"{source}: registers.{block}: {message}" if block else f"{source}: {message}"
        )


class RegisterValueError(ValueError):
    """A value does not fit the 16-bit register it is meant for; names the register."""

    def __init__(self, register: str, value: object):
        self.register = register
        self.value = value
        super().__init__(
            f"register {register}: value {value!r} is out of the 16-bit range 0..65535"
        )


@dataclass(frozen=True)
class BlockSpec:
    """A kind of block: who writes it, its parameters with defaults, and its size from them."""

    name: str
    writer: str  # "wcs" | "plc"
    params: Mapping[str, int]  # parameter -> default
    size: Callable[[Mapping[str, int]], int]
    field_names: Callable[[Mapping[str, int]], list[str]] | None = None
    description: str = ""


def _mailbox_fields(prefix: str) -> Callable[[Mapping[str, int]], list[str]]:
    def names(p: Mapping[str, int]) -> list[str]:
        extra = p.get("args", p.get("reply", 0))
        return ["seq", "code" if prefix == "arg" else "result"] + [
            f"{prefix}[{i}]" for i in range(extra)
        ]

    return names


def _ring_fields(entry: Callable[[Mapping[str, int]], list[str]]) -> Callable:
    def names(p: Mapping[str, int]) -> list[str]:
        out = ["write_index"]
        for slot in range(p["slots"]):
            out += [f"slot[{slot}].{n}" for n in entry(p)]
        return out

    return names


def _scan_entry(p: Mapping[str, int]) -> list[str]:
    return ["tracking_id"] + [f"barcode[{i}]" for i in range(p["barcode_words"])]


def _indexed(label: str) -> Callable[[Mapping[str, int]], list[str]]:
    return lambda p: [f"{label}[{i}]" for i in range(p["count"])]


STATUS_FIELDS = ["state", "fault_code", "estop", "items_on_belt"]
# Bits of status.state
STATE_RUNNING = 0x1
STATE_ESTOP = 0x2
STATE_WCS_WATCHDOG = 0x4  # the PLC stopped because the WCS heartbeat stopped changing
STATE_FAULT = 0x8

BLOCK_SPECS: dict[str, BlockSpec] = {}


def register_block_spec(spec: BlockSpec) -> None:
    """Add a block kind (e.g. a crane status block); its name becomes a legal block name."""
    if spec.writer not in ("wcs", "plc"):
        raise ValueError(f"block spec {spec.name}: writer must be 'wcs' or 'plc'")
    BLOCK_SPECS[spec.name] = spec


for _spec in (
    BlockSpec(
        "wcs_heartbeat",
        "wcs",
        {},
        lambda p: 1,
        lambda p: ["counter"],
        "WCS increments it every heartbeat period",
    ),
    BlockSpec(
        "plc_heartbeat",
        "plc",
        {},
        lambda p: 1,
        lambda p: ["counter"],
        "PLC increments it every scan cycle",
    ),
    BlockSpec(
        "command",
        "wcs",
        {"args": 4},
        lambda p: 2 + p["args"],
        _mailbox_fields("arg"),
        "general command mailbox: seq, code, args",
    ),
    BlockSpec(
        "command_ack",
        "plc",
        {"reply": 0},
        lambda p: 2 + p["reply"],
        _mailbox_fields("reply"),
        "acknowledgement: echoed seq, result code, reply words",
    ),
    BlockSpec(
        "divert",
        "wcs",
        {"args": 2},
        lambda p: 2 + p["args"],
        _mailbox_fields("arg"),
        "divert mailbox: seq, code 1, tracking id, lane number",
    ),
    BlockSpec(
        "divert_ack",
        "plc",
        {"reply": 0},
        lambda p: 2 + p["reply"],
        _mailbox_fields("reply"),
        "divert acknowledgement: echoed seq, result code",
    ),
    BlockSpec(
        "status",
        "plc",
        {},
        lambda p: len(STATUS_FIELDS),
        lambda p: list(STATUS_FIELDS),
        "state bits, fault code, e-stop, items on the belt",
    ),
    BlockSpec(
        "zones",
        "plc",
        {"count": 4},
        lambda p: p["count"],
        _indexed("zone"),
        "one word per conveyor zone: 0 stopped, 1 running, 2 jammed, 3 full",
    ),
    BlockSpec(
        "photo_eyes",
        "plc",
        {"count": 4},
        lambda p: p["count"],
        _indexed("eye"),
        "one word per photo-eye: 1 blocked, 0 clear",
    ),
    BlockSpec(
        "scans",
        "plc",
        {"slots": 16, "barcode_words": 6},
        lambda p: 1 + p["slots"] * (1 + p["barcode_words"]),
        _ring_fields(_scan_entry),
        "scanner ring: write index, slots of (tracking id, barcode ASCII)",
    ),
    BlockSpec(
        "confirms",
        "plc",
        {"slots": 16},
        lambda p: 1 + 2 * p["slots"],
        _ring_fields(lambda p: ["tracking_id", "lane"]),
        "divert confirmation ring: write index, slots of (tracking id, actual lane)",
    ),
    BlockSpec(
        "lanes",
        "plc",
        {"count": 20},
        lambda p: p["count"],
        _indexed("fill"),
        "one word per sorter lane: items in the lane",
    ),
):
    register_block_spec(_spec)


@dataclass(frozen=True)
class Block:
    """One named block at a zero-based request address."""

    name: str
    address: int
    size: int
    writer: str
    params: Mapping[str, int] = field(default_factory=dict)

    @property
    def end(self) -> int:
        return self.address + self.size

    def field_name(self, offset: int) -> str:
        spec = BLOCK_SPECS.get(self.name)
        names = spec.field_names(self.params) if spec and spec.field_names else []
        label = names[offset] if 0 <= offset < len(names) else f"+{offset}"
        return f"{self.name}.{label} (address {self.address + offset})"


@dataclass(frozen=True)
class RegisterMap:
    """All blocks of one PLC; addresses never overlap (checked at load)."""

    blocks: Mapping[str, Block]
    source: str = ""

    def block(self, name: str) -> Block:
        try:
            return self.blocks[name]
        except KeyError:
            raise KeyError(f"{self.source}: register map has no block {name!r}") from None

    def has(self, name: str) -> bool:
        return name in self.blocks

    def register_name(self, address: int) -> str:
        """Name the register at an address, for alarms (e.g. 'command.seq (address 10)')."""
        for block in self.blocks.values():
            if block.address <= address < block.end:
                return block.field_name(address - block.address)
        return f"unmapped register (address {address})"

    def span_name(self, address: int, count: int) -> str:
        first = self.register_name(address)
        return first if count <= 1 else f"{first} .. +{count - 1}"

    def read_ranges(self, writer: str = "plc", max_gap: int = 0) -> list[tuple[int, int]]:
        """(address, count) requests covering every block of one writer, merged and split.
        Only adjacent blocks merge by default: a real PLC answers a read that touches an
        address outside its documented blocks with exception 2 (illegal data address)."""
        spans = sorted((b.address, b.end) for b in self.blocks.values() if b.writer == writer)
        merged: list[list[int]] = []
        for start, end in spans:
            if (
                merged
                and start - merged[-1][1] <= max_gap
                and end - merged[-1][0] <= MAX_READ_WORDS
            ):
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        out: list[tuple[int, int]] = []
        for start, end in merged:
            for a in range(start, end, MAX_READ_WORDS):
                out.append((a, min(MAX_READ_WORDS, end - a)))
        return out


def check_word(register: str, value: object) -> int:
    """Return value as an int if it fits a 16-bit register, else raise RegisterValueError."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= WORD_MAX:
        raise RegisterValueError(register, value)
    return value


def check_words(block: Block, values: Sequence[int], offset: int = 0) -> list[int]:
    return [check_word(block.field_name(offset + i), v) for i, v in enumerate(values)]


def parse_register_map(raw: Any, source: str = "<register map>") -> RegisterMap:
    """Build a RegisterMap from the `registers:` mapping; raise RegisterMapError naming the block."""
    if not isinstance(raw, Mapping) or not raw:
        raise RegisterMapError(source, "", "'registers' must be a non-empty mapping of blocks")
    blocks: dict[str, Block] = {}
    for name, body in raw.items():
        spec = BLOCK_SPECS.get(str(name))
        if spec is None:
            known = ", ".join(sorted(BLOCK_SPECS))
            raise RegisterMapError(source, str(name), f"unknown block name (known: {known})")
        if not isinstance(body, Mapping):
            raise RegisterMapError(source, name, "must be a mapping with at least 'address'")
        unknown = set(body) - {"address", *spec.params}
        if unknown:
            raise RegisterMapError(source, name, f"unknown field(s) {sorted(unknown)}")
        if "address" not in body:
            raise RegisterMapError(source, name, "missing 'address'")
        address = _int_field(source, name, "address", body["address"], 0, ADDRESS_MAX)
        params = {
            key: _int_field(source, name, key, body.get(key, default), 0, WORD_MAX)
            for key, default in spec.params.items()
        }
        for key in ("slots", "count", "barcode_words"):
            if key in params and params[key] < 1:
                raise RegisterMapError(source, name, f"{key} must be at least 1")
        size = spec.size(params)
        if address + size - 1 > ADDRESS_MAX:
            raise RegisterMapError(
                source, name, f"block of {size} words at {address} runs past address 65535"
            )
        if spec.writer == "wcs" and size > MAX_WRITE_WORDS:
            raise RegisterMapError(
                source, name, f"{size} words exceed one write ({MAX_WRITE_WORDS})"
            )
        blocks[name] = Block(name, address, size, spec.writer, params)
    _check_overlaps(source, blocks.values())
    return RegisterMap(blocks, source)


def _int_field(source: str, block: str, key: str, value: object, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise RegisterMapError(source, block, f"{key}={value!r} must be an integer in {lo}..{hi}")
    return value


def _check_overlaps(source: str, blocks: Iterable[Block]) -> None:
    ordered = sorted(blocks, key=lambda b: b.address)
    for prev, cur in itertools.pairwise(ordered):
        if cur.address < prev.end:
            raise RegisterMapError(
                source,
                cur.name,
                f"addresses {cur.address}..{cur.end - 1} overlap block {prev.name!r} "
                f"({prev.address}..{prev.end - 1}) at register {prev.field_name(cur.address - prev.address)}",
            )


def encode_ascii(text: str, words: int) -> list[int]:
    """Pack ASCII into registers, two characters per word, high byte first, NUL padded."""
    data = text.encode("ascii", errors="replace")[: 2 * words].ljust(2 * words, b"\0")
    return [(data[2 * i] << 8) | data[2 * i + 1] for i in range(words)]


def decode_ascii(values: Sequence[int]) -> str:
    raw = b"".join(bytes(((v >> 8) & 0xFF, v & 0xFF)) for v in values)
    return raw.split(b"\0", 1)[0].decode("ascii", errors="replace")
