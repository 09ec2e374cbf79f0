"""RemoteCraneDriver: a crane behind its own PLC, driven from the runtime's tick-stepped AS/RS.

The AS/RS component steps controller coroutines on the control thread and resumes them when the
`WaitUntil` they yield is due. A real crane answers over Modbus, so this driver keeps the
telegram client on its own asyncio loop ("wcs-crane-<id>") and, while a telegram is in flight,
yields `WaitUntil(now + poll)` each tick: the control loop never blocks on the crane.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

from fleet_manager.asrs.crane_driver import CraneOutcome, TelegramCraneDriver
from fleet_manager.asrs.pacing import WaitUntil
from fleet_manager.asrs.rack import Rack
from fleet_manager.asrs.records import MoveRecord
from plc_bridge.config import PlcConfig
from plc_bridge.crane_telegram import STATE_BUSY, STATE_FAULT, STATE_IDLE, CraneClient
from plc_bridge.transport import ModbusTransport

T = TypeVar("T")
POLL_S = 0.05  # control-loop time between looks at an in-flight telegram
LINK_GRACE_S = 3.0  # a first connect may take this long before the link counts as down


class RemoteCraneDriver:
    """CraneDriver over the PLC link; `describe()` reports link and last known crane state."""

    def __init__(
        self, rack: Rack, config: PlcConfig, clock: Callable[[], float],
        *, move_timeout_s: float = 600.0,
    ) -> None:
        self.rack = rack
        self.config = config
        self.clock = clock
        self.crane_id = rack.aisle.crane_id
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=f"wcs-crane-{self.crane_id}", daemon=True
        )
        self._thread.start()
        self.transport = ModbusTransport(
            config.connection, config.unit_id, config.timing, config.registers.span_name
        )
        self._run(self.transport.start()).result(10)
        self._started_at = time.monotonic()
        client = CraneClient.create(self.transport, config.registers, config.timing)
        client.poll_s = 0.02
        self.telegrams = TelegramCraneDriver(rack, client, move_timeout_s)
        self.last_position_m: tuple[float, float] | None = None
        self.state = STATE_IDLE  # as the crane's status word says (last known)

    def _run(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    async def _await(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the crane's loop; hand control back to the runtime until it is done."""
        future = self._run(coro)
        while not future.done():
            await WaitUntil(self.clock() + POLL_S)
        return future.result()

    async def execute(self, move: MoveRecord, from_forks: bool = False) -> CraneOutcome:
        self.state = STATE_BUSY
        try:
            outcome = await self._await(self.telegrams.execute(move, from_forks))
        except (ConnectionError, TimeoutError, RuntimeError) as exc:
            # Lost link, refused or timed-out telegram: a crane fault the operator resets.
            self.state = STATE_FAULT
            return CraneOutcome(False, False, 0, f"crane {self.crane_id}: {exc}")
        self.state = STATE_IDLE if outcome.ok else STATE_FAULT
        self.last_position_m = outcome.position_m
        return outcome

    async def reset(self) -> None:
        await self._await(self.telegrams.reset())
        self.state = STATE_IDLE

    @property
    def link_up(self) -> bool:
        """The PLC link answers now; checked after a grace period from start (first connect)."""
        return self.transport.connected or time.monotonic() - self._started_at < LINK_GRACE_S

    def describe(self) -> dict[str, Any]:
        x, y = self.last_position_m or (0.0, 0.0)
        return {
            "crane_id": self.crane_id,
            "x_m": round(x, 3),
            "y_m": round(y, 3),
            "state": self.state,
            "link": "up" if self.transport.connected else "down",
            "plc": self.config.connection.describe(),
        }

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing anyway
            self._run(self.transport.stop()).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
