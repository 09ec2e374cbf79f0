"""Stacker crane telegrams over the PLC command mailbox: codec, status block and async client.

Request (block `crane_command`, written by the WCS): [seq, code, source(3), target(3), tote(8)].
Ack (block `crane_ack`): [seq, result] - the crane accepted (ok) or refused the telegram.
Status (block `crane_status`, polled): [state, active_seq, done_seq, fault_code, load_on_forks,
x_cm, y_cm, fault_seq, moves_accepted]. A move is complete when done_seq == its seq; it faulted when
state == FAULT and fault_seq == its seq (load_on_forks then says where the tote is).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from plc_bridge.mailbox import RESULT_NAMES, CommandResult, Mailbox
from plc_bridge.register_map import (
    BlockSpec,
    RegisterMap,
    decode_ascii,
    encode_ascii,
    register_block_spec,
)
from plc_bridge.transport import ModbusTransport

# Command codes
CMD_STORE = 1  # I/O point -> slot
CMD_RETRIEVE = 2  # slot -> I/O point
CMD_RELOCATE = 3  # slot -> slot
CMD_RESET = 9  # clear a fault; the crane stays where it stopped, a load stays on the forks
MOVE_CODES = (CMD_STORE, CMD_RETRIEVE, CMD_RELOCATE)

# Location kinds (high byte of the first location word)
LOC_NONE = 0
LOC_SLOT = 1
LOC_IO = 2
LOC_CRANE = 3  # "the load already on the forks" (finish a move after a fault)

# status.state
STATE_IDLE = 0
STATE_BUSY = 1
STATE_FAULT = 2

# status.fault_code
FAULT_NONE = 0
FAULT_TRAVEL_DRIVE = 1
FAULT_HOIST_DRIVE = 2
FAULT_FORK = 3
FAULT_SOURCE_EMPTY = 4  # no load found at the source
FAULT_TARGET_OCCUPIED = 5  # the target position already holds a load
FAULT_ESTOP = 6
FAULT_NAMES = {
    FAULT_NONE: "none",
    FAULT_TRAVEL_DRIVE: "travel drive fault",
    FAULT_HOIST_DRIVE: "hoist drive fault",
    FAULT_FORK: "fork fault",
    FAULT_SOURCE_EMPTY: "source empty",
    FAULT_TARGET_OCCUPIED: "target occupied",
    FAULT_ESTOP: "emergency stop",
}

TOTE_WORDS = 8  # 16 ASCII characters
LOCATION_WORDS = 3
COMMAND_ARGS = 2 * LOCATION_WORDS + TOTE_WORDS
STATUS_FIELDS = [
    "state",
    "active_seq",
    "done_seq",
    "fault_code",
    "load_on_forks",
    "x_cm",
    "y_cm",
    "fault_seq",
    "moves_accepted",
]

for _spec in (
    BlockSpec(
        "crane_command",
        "wcs",
        {"args": COMMAND_ARGS},
        lambda p: 2 + p["args"],
        lambda p: (
            [
                "seq",
                "code",
                "source.kind_side_depth",
                "source.bay",
                "source.level",
                "target.kind_side_depth",
                "target.bay",
                "target.level",
            ]
            + [f"tote[{i}]" for i in range(p["args"] - 2 * LOCATION_WORDS)]
        ),
        "crane telegram: seq, code, source, target, tote id (ASCII)",
    ),
    BlockSpec(
        "crane_ack",
        "plc",
        {"reply": 0},
        lambda p: 2 + p["reply"],
        lambda p: ["seq", "result"] + [f"reply[{i}]" for i in range(p["reply"])],
        "crane telegram acknowledgement: echoed seq, result",
    ),
    BlockSpec(
        "crane_status",
        "plc",
        {},
        lambda p: len(STATUS_FIELDS),
        lambda p: list(STATUS_FIELDS),
        "crane state, active/done/fault sequence numbers, fault code, load, position",
    ),
):
    register_block_spec(_spec)


@dataclass(frozen=True)
class Location:
    """A crane position: a rack slot (side, bay, level, depth), the I/O point, or the forks."""

    kind: int
    side: int = 0
    bay: int = 0
    level: int = 0
    depth: int = 0

    def encode(self) -> list[int]:
        for name, v, hi in (
            ("side", self.side, 15),
            ("depth", self.depth, 15),
            ("bay", self.bay, 0xFFFF),
            ("level", self.level, 0xFFFF),
            ("kind", self.kind, 255),
        ):
            if not 0 <= v <= hi:
                raise ValueError(f"crane location {self}: {name}={v} out of range 0..{hi}")
        return [(self.kind << 8) | (self.side << 4) | self.depth, self.bay, self.level]

    @classmethod
    def decode(cls, words: Sequence[int]) -> Location:
        w0, bay, level = words[:3]
        return cls(w0 >> 8, (w0 >> 4) & 0xF, bay, level, w0 & 0xF)

    def __str__(self) -> str:
        if self.kind == LOC_SLOT:
            return f"slot(side {self.side}, bay {self.bay}, level {self.level}, depth {self.depth})"
        return {LOC_IO: "io", LOC_CRANE: "forks", LOC_NONE: "none"}.get(
            self.kind, f"kind {self.kind}"
        )


@dataclass(frozen=True)
class CraneTelegram:
    code: int
    source: Location
    target: Location
    tote_id: str

    def args(self) -> list[int]:
        if len(self.tote_id) > 2 * TOTE_WORDS or not self.tote_id.isascii():
            raise ValueError(f"tote id {self.tote_id!r}: at most {2 * TOTE_WORDS} ASCII characters")
        return self.source.encode() + self.target.encode() + encode_ascii(self.tote_id, TOTE_WORDS)

    @classmethod
    def decode(cls, code: int, args: Sequence[int]) -> CraneTelegram:
        return cls(
            code,
            Location.decode(args[0:3]),
            Location.decode(args[3:6]),
            decode_ascii(args[6 : 6 + TOTE_WORDS]),
        )


@dataclass(frozen=True)
class CraneStatus:
    state: int
    active_seq: int
    done_seq: int
    fault_code: int
    load_on_forks: bool
    x_cm: int
    y_cm: int
    fault_seq: int
    moves_accepted: int = 0  # move telegrams started since power-on (mod 65536)

    @classmethod
    def decode(cls, words: Sequence[int]) -> CraneStatus:
        s = list(words[: len(STATUS_FIELDS)])
        return cls(s[0], s[1], s[2], s[3], bool(s[4]), s[5], s[6], s[7], s[8])

    def encode(self) -> list[int]:
        return [
            self.state,
            self.active_seq,
            self.done_seq,
            self.fault_code,
            int(self.load_on_forks),
            self.x_cm,
            self.y_cm,
            self.fault_seq,
            self.moves_accepted & 0xFFFF,
        ]

    @property
    def fault_name(self) -> str:
        return FAULT_NAMES.get(self.fault_code, f"fault code {self.fault_code}")


class CraneRefused(RuntimeError):
    """The crane acknowledged the telegram with a non-ok result (busy, faulted, bad slot)."""


class CraneTimeout(TimeoutError):
    """The move did not complete or fault within its deadline; the crane's state is unknown."""


@dataclass(frozen=True)
class MoveResult:
    """How a crane move ended, as read from the crane's status block."""

    seq: int
    ok: bool
    status: CraneStatus
    ack: CommandResult


class CraneClient:
    """One crane on one PLC connection: send a telegram (exactly once), wait for its completion."""

    def __init__(
        self,
        transport: ModbusTransport,
        registers: RegisterMap,
        mailbox: Mailbox,
        poll_s: float = 0.005,
    ) -> None:
        self.transport = transport
        self.status_block = registers.block("crane_status")
        self.mailbox = mailbox
        self.poll_s = poll_s

    @classmethod
    def create(
        cls, transport: ModbusTransport, registers: RegisterMap, timing: object
    ) -> CraneClient:
        mailbox = Mailbox(
            transport, registers.block("crane_command"), registers.block("crane_ack"), timing
        )  # type: ignore[arg-type]
        return cls(transport, registers, mailbox)

    async def status(self) -> CraneStatus:
        return CraneStatus.decode(
            await self.transport.read(self.status_block.address, self.status_block.size)
        )

    async def send(self, telegram: CraneTelegram, deadline_s: float | None = None) -> CommandResult:
        """Write the telegram through the mailbox; raise CraneRefused naming the tote if not ok."""
        ack = await self.mailbox.send(telegram.code, telegram.args(), deadline_s)
        if not ack.ok:
            raise CraneRefused(
                f"crane refused {telegram.tote_id or 'command'} "
                f"{telegram.source} -> {telegram.target}: "
                f"{RESULT_NAMES.get(ack.result, ack.result)} (seq {ack.seq})"
            )
        return ack

    async def move(self, telegram: CraneTelegram, timeout_s: float) -> MoveResult:
        """Send one move and poll until it is done or faulted."""
        ack = await self.send(telegram)
        end = time.monotonic() + timeout_s
        while True:
            try:
                st = await self.status()
            except ConnectionError:
                st = None  # the transport reconnects; the crane keeps moving meanwhile
            if st is not None:
                if st.done_seq == ack.seq:
                    return MoveResult(ack.seq, True, st, ack)
                if st.state == STATE_FAULT and st.fault_seq == ack.seq:
                    return MoveResult(ack.seq, False, st, ack)
            if time.monotonic() > end:
                raise CraneTimeout(
                    f"crane move seq {ack.seq} tote {telegram.tote_id}: no completion "
                    f"within {timeout_s:.1f} s"
                )
            await asyncio.sleep(self.poll_s)

    async def reset(self) -> CommandResult:
        return await self.send(CraneTelegram(CMD_RESET, Location(LOC_NONE), Location(LOC_NONE), ""))
