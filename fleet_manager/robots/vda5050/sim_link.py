"""Lockstep glue between a tick-based fleet (Simulation, Dispatcher) and VDA 5050 vehicles."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from fleet_manager.robots.vda5050.adapter import Vda5050RobotAdapter
from fleet_manager.robots.vda5050.master import Vda5050Master


def await_arrivals(
    master: Vda5050Master, robots: Sequence[Vda5050RobotAdapter], timeout_s: float
) -> bool:
    """Block until no online VDA 5050 robot is still driving to a released node (False: timeout)."""
    deadline = time.monotonic() + timeout_s
    master.pump()
    while any(r.moving and r.online for r in robots):
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        master.wait(left)
    return True


@dataclass
class Vda5050Lockstep:
    """`Simulation(..., before_tick=link.before_tick, after_moves=link.after_moves)`.

    Before a tick every queued message is handled (states, connection changes); after the move
    commands the tick waits until every online vehicle stands on the node it was sent to, so the
    discrete plan (one cell per tick) holds for real vehicles too. A vehicle that drops off the
    broker stops the wait at once (it is offline); one that is merely slow ends the wait after
    `arrival_timeout_s` and is counted, the next tick then sees it still busy on its node.
    """

    master: Vda5050Master
    robots: list[Vda5050RobotAdapter]
    arrival_timeout_s: float = 5.0
    arrival_timeouts: int = 0
    stopped: bool = False  # shutting down: never block the caller again

    def before_tick(self, _now_s: float) -> None:
        self.master.pump()

    def after_moves(self, _now_s: float) -> None:
        if self.stopped:
            return
        if not await_arrivals(self.master, self.robots, self.arrival_timeout_s):
            self.arrival_timeouts += 1
