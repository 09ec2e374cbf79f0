"""Simulated crane driven on an external simulated clock: moves take their kinematic time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fleet_manager.asrs.pacing import WaitUntil
from fleet_manager.asrs.rack import Rack
from plc_bridge.crane_telegram import FAULT_TRAVEL_DRIVE
from sim.crane.local import LocalCraneDriver
from sim.crane.model import FaultPlan, Phase


class ClockedCraneDriver(LocalCraneDriver):
    """Same telegrams and SimCrane as the Modbus sim, without the wire. `execute` awaits
    WaitUntil(phase end) for each crane phase, so the runtime's clock paces the crane; `now_s`
    is the crane's own time (the exact end of its last phase)."""

    def __init__(self, rack: Rack, clock: Callable[[], float],
                 faults: list[FaultPlan] | None = None) -> None:
        super().__init__(rack, faults)
        self.clock = clock

    def _start_move(self) -> None:
        self.now_s = max(self.now_s, self.clock())  # an idle crane starts now

    async def _phase_end(self, due_s: float) -> None:
        await WaitUntil(due_s)

    def describe(self) -> dict[str, Any]:
        c = self.crane
        return {"crane_id": self.crane_id, "x_m": round(c.x_m, 3), "y_m": round(c.y_m, 3),
                "state": c.state, "fault_code": c.fault_code, "load_on_forks": c.load_on_forks,
                "load_id": c.load_id, "moves": c.moves_accepted}

    def arm_fault(self, phase: str) -> dict[str, Any]:
        """Fault halfway through `phase` of the next move (ValueError if already armed)."""
        move = self.crane.moves_accepted + 1
        if any(f.command == move for f in self.crane.faults):
            raise ValueError(f"the crane is already armed to fault on move {move}")
        self.crane.faults.append(FaultPlan(move, Phase(phase), FAULT_TRAVEL_DRIVE))
        return {"move": move, "phase": phase, "fault_code": FAULT_TRAVEL_DRIVE}
