"""In-process crane driver over SimCrane with a simulated clock (tests, benchmarks, demos)."""

from __future__ import annotations

from fleet_manager.asrs.crane_driver import CraneOutcome, fault_text, telegram_for
from fleet_manager.asrs.rack import Rack
from fleet_manager.asrs.records import MoveRecord
from plc_bridge.crane_telegram import CMD_RESET, LOC_NONE, STATE_FAULT, CraneTelegram, Location
from plc_bridge.mailbox import RESULT_OK
from sim.crane.model import FaultPlan, RackGeometry, SimCrane


class LocalCraneDriver:
    """Same telegrams and crane model as the Modbus sim, without the wire; time is simulated."""

    def __init__(self, rack: Rack, faults: list[FaultPlan] | None = None):
        a = rack.aisle
        geometry = RackGeometry(a.bays, a.levels, a.sides, a.depth, a.bay_pitch_m, a.level_pitch_m)
        self.rack = rack
        self.crane = SimCrane(geometry, a.crane, list(faults or []))
        self.crane_id = a.crane_id
        self.now_s = 0.0
        self._seq = 0

    async def execute(self, move: MoveRecord, from_forks: bool = False) -> CraneOutcome:
        self._seq += 1
        telegram = telegram_for(self.rack, move, from_forks)
        # Through the wire encoding, so what cannot be sent to a real PLC fails here too.
        wire = CraneTelegram.decode(telegram.code, telegram.args())
        result = self.crane.accept(self._seq, wire)
        if result != RESULT_OK:
            return CraneOutcome(False, self.crane.load_on_forks, 0,
                                f"telegram refused (result {result}) for tote {move.tote_id}")
        self._start_move()
        while self.crane.done_seq != self._seq and self.crane.state != STATE_FAULT:
            dt_s = self.crane.next_event_s()  # jump from phase end to phase end: exact times
            await self._phase_end(self.now_s + dt_s)
            self.crane.advance(dt_s)
            self.now_s += dt_s
        c = self.crane
        if c.state == STATE_FAULT:
            return CraneOutcome(False, c.load_on_forks, c.fault_code, fault_text(c.fault_code),
                                (c.x_m, c.y_m))
        return CraneOutcome(True, position_m=(c.x_m, c.y_m))

    def _start_move(self) -> None:
        """Hook before the first phase; local time simply carries on from the last move."""

    async def _phase_end(self, due_s: float) -> None:
        """Hook at each phase end; local time does not wait for anyone."""

    async def reset(self) -> None:
        self._seq += 1
        self.crane.accept(self._seq, CraneTelegram(CMD_RESET, Location(LOC_NONE), Location(LOC_NONE), ""))
