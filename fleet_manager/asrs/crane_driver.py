"""How the controller drives a crane: one protocol, implemented over PLC telegrams (or in-process sim)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from fleet_manager.asrs.rack import Rack, parse_slot_id
from fleet_manager.asrs.records import MoveKind, MoveRecord
from plc_bridge.crane_telegram import (
    CMD_RELOCATE,
    CMD_RETRIEVE,
    CMD_STORE,
    FAULT_NAMES,
    LOC_CRANE,
    LOC_IO,
    LOC_SLOT,
    CraneClient,
    CraneTelegram,
    Location,
)

MOVE_CODE = {MoveKind.STORE: CMD_STORE, MoveKind.RETRIEVE: CMD_RETRIEVE,
             MoveKind.RELOCATE: CMD_RELOCATE}


@dataclass(frozen=True)
class CraneOutcome:
    """How one move ended. On a fault, load_on_forks says whether the tote left its source."""

    ok: bool
    load_on_forks: bool = False
    fault_code: int = 0
    detail: str = ""
    position_m: tuple[float, float] = (0.0, 0.0)


class CraneDriver(Protocol):
    crane_id: str

    async def execute(self, move: MoveRecord, from_forks: bool = False) -> CraneOutcome:
        """Run one move to completion or fault; from_forks finishes a move whose tote is on the forks."""
        ...

    async def reset(self) -> None:
        """Clear a crane fault (an operator has checked the crane)."""
        ...


def location_of(rack: Rack, location: str) -> Location:
    """A move's source/target as a telegram location (slot address, or the I/O point)."""
    if location in rack.index:
        a = parse_slot_id(location)
        return Location(LOC_SLOT, a.side, a.bay, a.level, a.depth)
    return Location(LOC_IO)


def telegram_for(rack: Rack, move: MoveRecord, from_forks: bool = False) -> CraneTelegram:
    source = Location(LOC_CRANE) if from_forks else location_of(rack, move.source)
    return CraneTelegram(MOVE_CODE[move.kind], source, location_of(rack, move.target), move.tote_id)


def fault_text(fault_code: int) -> str:
    return FAULT_NAMES.get(fault_code, f"fault code {fault_code}")


class TelegramCraneDriver:
    """A crane behind a PLC: each move is one telegram (exactly once via the mailbox)."""

    def __init__(self, rack: Rack, client: CraneClient, move_timeout_s: float = 600.0) -> None:
        self.rack = rack
        self.client = client
        self.crane_id = rack.aisle.crane_id
        self.move_timeout_s = move_timeout_s

    async def execute(self, move: MoveRecord, from_forks: bool = False) -> CraneOutcome:
        result = await self.client.move(telegram_for(self.rack, move, from_forks), self.move_timeout_s)
        st = result.status
        pos = (st.x_cm / 100.0, st.y_cm / 100.0)
        if result.ok:
            return CraneOutcome(True, position_m=pos)
        return CraneOutcome(False, st.load_on_forks, st.fault_code,
                            f"{fault_text(st.fault_code)} (seq {result.seq})", pos)

    async def reset(self) -> None:
        await self.client.reset()
