"""Modbus TCP/RTU server of the simulated PLC (pymodbus), with fault injection for tests."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from pymodbus.constants import ExcCodes
from pymodbus.datastore import ModbusServerContext
from pymodbus.framer import FramerType
from pymodbus.server import ModbusSerialServer, ModbusTcpServer

from plc_bridge.config import Connection
from plc_bridge.transport import quiet_pymodbus_logs
from sim.plc.memory import RegisterMemory


@dataclass
class FaultInjection:
    """Misbehaviour on purpose: late replies, replies never sent (after acting), exceptions."""

    delay_s: float = 0.0  # added before the reply of a delayed request
    delay_rate: float = 0.0  # share of requests delayed
    drop_rate: float = 0.0  # share of requests executed but never answered
    exceptions: dict[int, int] = field(default_factory=dict)  # address -> Modbus exception code
    seed: int = 0
    blocks: tuple[str, ...] = ()  # delay/drop only requests inside these blocks (empty: all)

    @property
    def active(self) -> bool:
        return bool(self.delay_rate or self.drop_rate or self.exceptions)


@dataclass
class ServerStats:
    reads: int = 0
    writes: int = 0
    delayed: int = 0
    dropped: int = 0
    exceptions: int = 0


class _PlcContext(ModbusServerContext):
    """Datastore seen by pymodbus: the PLC's RegisterMemory, with faults injected per request.

    Subclasses the (old-style) server context because it lets one async hook see every request;
    the parent constructor is skipped on purpose (it wants datastore blocks we do not use)."""

    def __init__(self, memory: RegisterMemory, faults: FaultInjection) -> None:
        self.old_simulator = True  # pymodbus then calls async_getValues/async_setValues directly
        self.simdevices = []
        self._devices = {}
        self.memory = memory
        self.faults = faults
        self.rng = np.random.default_rng(faults.seed)
        self.stats = ServerStats()
        self.drop_pending = False
        regs = memory.registers
        self.fault_spans = [(regs.block(b).address, regs.block(b).end) for b in faults.blocks]

    def device_ids(self) -> list[int]:
        return [0]

    def _exception(self, address: int, count: int) -> ExcCodes | None:
        if not self.memory.valid(address, count):
            return ExcCodes.ILLEGAL_ADDRESS
        for reg, code in self.faults.exceptions.items():
            if address <= reg < address + count:
                self.stats.exceptions += 1
                return ExcCodes(code)
        return None

    async def _after_action(self, address: int, count: int) -> None:
        f = self.faults
        # With blocks named, only requests that lie inside one of them misbehave (so a poll that
        # spans many blocks is left alone, the mailbox's own writes and ack reads are not).
        if self.fault_spans and not any(
            start <= address and address + count <= end for start, end in self.fault_spans
        ):
            return
        if f.drop_rate and self.rng.random() < f.drop_rate:
            self.stats.dropped += 1
            self.drop_pending = True
        elif f.delay_rate and self.rng.random() < f.delay_rate:
            self.stats.delayed += 1
            await asyncio.sleep(f.delay_s)

    async def async_getValues(
        self, device_id: int, func_code: int, address: int, count: int = 1
    ) -> list[int] | ExcCodes:
        if func_code not in (3, 4, 23):
            return ExcCodes.ILLEGAL_FUNCTION
        if (exc := self._exception(address, count)) is not None:
            return exc
        self.stats.reads += 1
        values = self.memory.get(address, count)
        if func_code != 23:
            await self._after_action(address, count)
        return values

    async def async_setValues(
        self, device_id: int, func_code: int, address: int, values: Sequence[int]
    ) -> ExcCodes | None:
        if func_code not in (6, 16, 23):
            return ExcCodes.ILLEGAL_FUNCTION
        if (exc := self._exception(address, len(values))) is not None:
            return exc
        self.stats.writes += 1
        self.memory.client_write(address, [int(v) for v in values])
        await self._after_action(address, len(values))
        return None

    def trace_packet(self, sending: bool, data: bytes) -> bytes:
        if sending and self.drop_pending:
            self.drop_pending = False
            return b""  # the action happened; the reply is never sent
        return data


class PlcServer:
    """Serves one RegisterMemory over Modbus TCP or RTU until stopped."""

    def __init__(
        self, memory: RegisterMemory, connection: Connection, faults: FaultInjection | None = None
    ) -> None:
        self.context = _PlcContext(memory, faults or FaultInjection())
        self.connection = connection
        self._server: ModbusTcpServer | ModbusSerialServer | None = None

    @property
    def stats(self) -> ServerStats:
        return self.context.stats

    async def start(self) -> None:
        quiet_pymodbus_logs()
        c = self.connection
        if c.transport == "tcp":
            self._server = ModbusTcpServer(
                self.context, address=(c.host, c.port), trace_packet=self.context.trace_packet
            )
        else:
            self._server = ModbusSerialServer(
                self.context,
                framer=FramerType.RTU,
                port=c.serial_port,
                baudrate=c.baudrate,
                bytesize=c.bytesize,
                parity=c.parity,
                stopbits=c.stop_bits,
                trace_packet=self.context.trace_packet,
            )
        await self._server.serve_forever(background=True)

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.shutdown()
            self._server = None
