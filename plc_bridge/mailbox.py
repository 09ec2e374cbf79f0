"""Command mailbox, WCS side: sequence-numbered command, PLC ack, retry that never runs twice."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from plc_bridge.config import Timing
from plc_bridge.register_map import Block, check_word
from plc_bridge.transport import ModbusTransport, PlcUnavailable

# Result codes written by the PLC into ack.result
RESULT_PENDING = 0  # never written by a PLC; "no ack yet"
RESULT_OK = 1
RESULT_UNKNOWN_COMMAND = 2
RESULT_BAD_ARGUMENT = 3
RESULT_REFUSED = 4  # e.g. conveyors stopped, e-stop, fault
RESULT_TOO_LATE = 5  # divert: the item already passed the divert's actuation point
RESULT_NAMES = {
    RESULT_PENDING: "pending",
    RESULT_OK: "ok",
    RESULT_UNKNOWN_COMMAND: "unknown command",
    RESULT_BAD_ARGUMENT: "bad argument",
    RESULT_REFUSED: "refused",
    RESULT_TOO_LATE: "too late",
}

SEQ_MAX = 0xFFFF


def next_seq(seq: int) -> int:
    """Sequence numbers run 1..65535 and wrap; 0 means 'no command'."""
    return seq % SEQ_MAX + 1


class CommandTimeout(TimeoutError):
    """No ack before the deadline; the outcome is unknown until the next re-sync reads the ack."""


@dataclass(frozen=True)
class CommandResult:
    seq: int
    code: int
    result: int
    reply: tuple[int, ...] = ()
    writes: int = 1  # how many times the request words were written (retries included)
    latency_s: float = 0.0  # first write to ack seen
    written_at_s: float = 0.0  # perf_counter when the first write was answered by the PLC

    @property
    def ok(self) -> bool:
        return self.result == RESULT_OK

    @property
    def result_name(self) -> str:
        return RESULT_NAMES.get(self.result, f"code {self.result}")


@dataclass
class MailboxStats:
    sent: int = 0
    acked: int = 0
    rewrites: int = 0  # request words written again with the same sequence number
    timeouts: int = 0
    resyncs: int = 0
    found_executed_on_resync: int = 0
    latencies_s: list[float] = field(default_factory=list)


class Mailbox:
    """One command in flight per mailbox. The request block is [seq, code, args...]; the ack block
    is [seq, result, reply...]. The PLC executes a sequence number once and re-acks a repeat, so
    re-writing the same words after a timeout or reconnect is safe. After every (re)connect the
    WCS reads the ack block and continues after the PLC's last executed sequence number."""

    def __init__(
        self,
        transport: ModbusTransport,
        request: Block,
        ack: Block,
        timing: Timing,
        ack_poll_s: float = 0.002,
    ) -> None:
        self.transport = transport
        self.request = request
        self.ack = ack
        self.timing = timing
        self.ack_poll_s = ack_poll_s
        self.args_capacity = request.size - 2
        self.reply_words = ack.size - 2
        self._busy = asyncio.Lock()
        self._next: int | None = None  # None: must re-sync from the PLC's ack first
        self._sync_epoch = -1
        self.stats = MailboxStats()
        transport.add_listener(self._on_connection)

    def _on_connection(self, connected: bool, reason: str) -> None:
        self._next = None  # a new connection (maybe a restarted PLC): read its ack again

    async def _read_ack(self) -> tuple[int, int, tuple[int, ...]]:
        words = await self.transport.read(self.ack.address, self.ack.size)
        return words[0], words[1], tuple(words[2:])

    async def resync(self) -> int:
        """Read the PLC's last executed sequence number; the next command uses the one after."""
        ack_seq, _, _ = await self._read_ack()
        self._next = next_seq(ack_seq)
        self.stats.resyncs += 1
        return ack_seq

    def encode(self, code: int, args: Sequence[int]) -> list[int]:
        if len(args) > self.args_capacity:
            raise ValueError(
                f"{self.request.name}: {len(args)} arguments, the mailbox holds {self.args_capacity}"
            )
        check_word(self.request.field_name(1), code)
        padded = list(args) + [0] * (self.args_capacity - len(args))
        for i, value in enumerate(padded):
            check_word(self.request.field_name(2 + i), value)  # names the register if too big
        return [0, code, *padded]

    async def send(
        self, code: int, args: Sequence[int] = (), deadline_s: float | None = None
    ) -> CommandResult:
        """Write a command and wait for its ack; retry with the same sequence number.

        Raises CommandTimeout when no ack arrives before the deadline (outcome unknown; the next
        command re-syncs first), ValueError/RegisterValueError for bad arguments (nothing written),
        PlcExceptionResponse when the PLC refuses the Modbus request itself.
        """
        words = self.encode(code, args)
        deadline_s = self.timing.command_deadline_s if deadline_s is None else deadline_s
        async with self._busy:
            started = time.perf_counter()
            end = started + deadline_s
            writes = 0
            written_at_s = 0.0
            seq = -1
            self.stats.sent += 1
            while (remaining := end - time.perf_counter()) > 0:
                if not self.transport.connected:
                    await self.transport.wait_connected(remaining)
                    continue
                try:
                    if self._next is None:
                        ack_seq, result, reply = await self._read_ack()
                        if seq > 0 and ack_seq == seq:
                            # Executed before the link dropped: done, without writing again.
                            self.stats.found_executed_on_resync += 1
                            return self._done(
                                seq, code, result, reply, writes, started, written_at_s
                            )
                        self._next = next_seq(ack_seq)
                        self.stats.resyncs += 1
                    if seq < 0 or writes == 0 or self._next != seq:
                        seq = self._next
                    words[0] = seq
                    await self.transport.write(self.request.address, words)
                    if writes == 0:
                        written_at_s = time.perf_counter()
                    writes += 1
                    self.stats.rewrites += writes > 1
                    ack = await self._wait_ack(
                        seq, min(end, time.perf_counter() + self.timing.command_timeout_s)
                    )
                    if ack is not None:
                        return self._done(seq, code, ack[0], ack[1], writes, started, written_at_s)
                except PlcUnavailable:
                    continue
                except Exception:
                    self._next = None  # unknown state: re-read the ack before the next command
                    raise
            self.stats.timeouts += 1
            self._next = None
            raise CommandTimeout(
                f"{self.request.name}: no ack for seq {seq} code {code} within {deadline_s:.2f} s "
                f"({writes} writes) at {self.ack.field_name(0)}"
            )

    async def _wait_ack(self, seq: int, until: float) -> tuple[int, tuple[int, ...]] | None:
        while True:
            ack_seq, result, reply = await self._read_ack()
            if ack_seq == seq and result != RESULT_PENDING:
                return result, reply
            if time.perf_counter() >= until:
                return None
            await asyncio.sleep(self.ack_poll_s)

    def _done(
        self,
        seq: int,
        code: int,
        result: int,
        reply: tuple[int, ...],
        writes: int,
        started: float,
        written_at_s: float,
    ) -> CommandResult:
        self._next = next_seq(seq)
        latency = time.perf_counter() - started
        self.stats.acked += 1
        self.stats.latencies_s.append(latency)
        if len(self.stats.latencies_s) > 50000:
            del self.stats.latencies_s[:25000]
        return CommandResult(seq, code, result, reply, writes, latency, written_at_s)
