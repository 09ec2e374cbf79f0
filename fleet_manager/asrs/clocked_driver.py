"""Simulated crane driven on an external simulated clock: moves take their kinematic time."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from fleet_manager.asrs.crane_driver import CraneOutcome, fault_text, telegram_for
from fleet_manager.asrs.rack import Rack
from fleet_manager.asrs.records import MoveRecord
from plc_bridge.crane_telegram import CMD_RESET, LOC_NONE, STATE_FAULT, CraneTelegram, Location
from plc_bridge.mailbox import RESULT_OK
from sim.crane.model import FaultPlan, RackGeometry, SimCrane


class WaitUntil:
    """Awaited by the driver: whoever steps the coroutine resumes it once `due_s` has come."""

    def __init__(self, due_s: float) -> None:
        self.due_s = due_s

    def __await__(self) -> Generator[WaitUntil, Any, None]:
        yield self


class ClockedCraneDriver:
    """Same telegrams and SimCrane as the Modbus sim, without the wire. `execute` awaits
    WaitUntil(phase end) for each crane phase, so the runtime's clock paces the crane; `now_s`
    is the crane's own time (the exact end of its last phase)."""

    def __init__(self, rack: Rack, clock: Callable[[], float],
                 faults: list[FaultPlan] | None = None) -> None:
        a = rack.aisle
        geometry = RackGeometry(a.bays, a.levels, a.sides, a.depth, a.bay_pitch_m, a.level_pitch_m)
        self.rack = rack
        self.crane = SimCrane(geometry, a.crane, list(faults or []))
        self.crane_id = a.crane_id
        self.clock = clock
        self.now_s = 0.0
        self._seq = 0

    async def execute(self, move: MoveRecord, from_forks: bool = False) -> CraneOutcome:
        self._seq += 1
        telegram = telegram_for(self.rack, move, from_forks)
        wire = CraneTelegram.decode(telegram.code, telegram.args())  # what a PLC would get
        result = self.crane.accept(self._seq, wire)
        if result != RESULT_OK:
            return CraneOutcome(False, self.crane.load_on_forks, 0,
                                f"telegram refused (result {result}) for tote {move.tote_id}")
        self.now_s = max(self.now_s, self.clock())  # an idle crane starts now
        while self.crane.done_seq != self._seq and self.crane.state != STATE_FAULT:
            dt_s = self.crane.next_event_s()
            await WaitUntil(self.now_s + dt_s)
            self.crane.advance(dt_s)
            self.now_s += dt_s
        c = self.crane
        if c.state == STATE_FAULT:
            return CraneOutcome(False, c.load_on_forks, c.fault_code, fault_text(c.fault_code),
                                (c.x_m, c.y_m))
        return CraneOutcome(True, position_m=(c.x_m, c.y_m))

    async def reset(self) -> None:
        self._seq += 1
        self.crane.accept(self._seq, CraneTelegram(CMD_RESET, Location(LOC_NONE), Location(LOC_NONE), ""))

    def describe(self) -> dict[str, Any]:
        c = self.crane
        return {"crane_id": self.crane_id, "x_m": round(c.x_m, 3), "y_m": round(c.y_m, 3),
                "state": c.state, "fault_code": c.fault_code, "load_on_forks": c.load_on_forks,
                "load_id": c.load_id, "moves": c.moves_accepted}
