"""Modbus transport: one pymodbus async client, one request in flight, own bounded reconnect."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from plc_bridge.config import Connection, Timing
from plc_bridge.register_map import MAX_READ_WORDS, MAX_WRITE_WORDS, check_word
from plc_bridge.tasks import cancel_and_wait

EXCEPTION_NAMES = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "server device failure",
    5: "acknowledge",
    6: "server device busy",
    8: "memory parity error",
    10: "gateway path unavailable",
    11: "gateway target failed to respond",
}


def quiet_pymodbus_logs() -> None:
    """pymodbus logs every timeout with a frame dump at ERROR; the bridge raises alarms instead."""
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)


class PlcUnavailable(ConnectionError):
    """No usable connection: not connected, timed out, or lost; the request may not have run."""


class PlcExceptionResponse(RuntimeError):
    """The PLC answered with a Modbus exception; names the register(s) of the request."""

    def __init__(self, register: str, function_code: int, exception_code: int):
        self.register = register
        self.function_code = function_code
        self.exception_code = exception_code
        name = EXCEPTION_NAMES.get(exception_code, "unknown")
        super().__init__(
            f"PLC exception {exception_code} ({name}) on function {function_code} at {register}"
        )


ConnectionListener = Callable[[bool, str], None]  # (connected, reason)


class ModbusTransport:
    """Serialises every request on one connection and reconnects with bounded backoff.

    pymodbus's async client does not multiplex concurrent requests safely, so a lock keeps one
    request in flight. A timed-out request poisons the connection (a late reply could be taken
    for the next request's, RTU has no transaction id), so the connection is closed and reopened.
    pymodbus's own reconnect is cut short by closing the client; this class owns reconnection.
    """

    def __init__(
        self,
        connection: Connection,
        unit_id: int,
        timing: Timing,
        register_name: Callable[[int, int], str] | None = None,
        rtt_window: int = 20000,
        probe: tuple[int, int] = (0, 1),
    ) -> None:
        self.connection = connection
        self.probe = probe  # (address, count) read after connecting: the link is up on a reply
        self.unit_id = unit_id
        self.timing = timing
        self._name = register_name or (lambda a, c: f"address {a} (+{c - 1})")
        self._client: AsyncModbusTcpClient | AsyncModbusSerialClient | None = None
        self._lock = asyncio.Lock()
        self._connected = asyncio.Event()
        self._lost = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._listeners: list[ConnectionListener] = []
        self.rtt_ms: deque[float] = deque(maxlen=rtt_window)
        self.requests = 0
        self.failures = 0
        self.connects = 0
        self.connect_attempts = 0
        self.probe_failures = 0  # connections opened that never answered (a hung PLC)
        self.last_error = ""
        self.mismatched = 0  # replies that did not fit their request (late replies on RTU)
        self._quiet_until = 0.0

    # ---- lifecycle -------------------------------------------------------------------------
    def add_listener(self, listener: ConnectionListener) -> None:
        self._listeners.append(listener)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def start(self) -> None:
        quiet_pymodbus_logs()
        if self._task is None:
            self._task = asyncio.create_task(self._supervise(), name="modbus-connect")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        self._drop("stopped", notify=False)

    async def wait_connected(self, timeout_s: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), timeout_s)
        return self.connected

    async def _supervise(self) -> None:
        """Connect, wait until lost, back off (doubling, bounded), connect again. Never spins."""
        delay_s = self.timing.reconnect_initial_s
        first_attempt_after_loss = True
        while True:
            if not first_attempt_after_loss:
                await asyncio.sleep(delay_s)
                delay_s = min(2 * delay_s, self.timing.reconnect_max_s)
            first_attempt_after_loss = False
            # RTU has no transaction id: let late replies of the failed request die out first.
            quiet_s = self._quiet_until - time.monotonic()
            if quiet_s > 0:
                await asyncio.sleep(quiet_s)
            if not await self._open() or not await self._probe():
                continue
            delay_s = self.timing.reconnect_initial_s
            self._lost.clear()
            self._connected.set()
            self.connects += 1
            self._notify(True, f"connected to {self.connection.describe()}")
            await self._lost.wait()
            # One immediate retry after a connection that worked; backoff from then on.
            first_attempt_after_loss = True

    async def _open(self) -> bool:
        self.connect_attempts += 1
        c = self.connection
        common: dict[str, Any] = {
            "timeout": self.timing.timeout_s,
            # retries belong to the handshake layer, which knows what is idempotent
            "retries": 0,
            "reconnect_delay": self.timing.reconnect_initial_s,  # never 0 (pymodbus #1794)
            "reconnect_delay_max": self.timing.reconnect_max_s,
            "trace_connect": self._on_trace_connect,
        }
        if c.transport == "tcp":
            client = AsyncModbusTcpClient(c.host, port=c.port, **common)
        else:
            client = AsyncModbusSerialClient(
                c.serial_port,
                baudrate=c.baudrate,
                bytesize=c.bytesize,
                parity=c.parity,
                stopbits=c.stop_bits,
                **common,
            )
        try:
            ok = await client.connect()
        except (OSError, ModbusException) as exc:
            self.last_error = f"connect failed: {exc}"
            ok = False
        if not ok:
            client.close()
            return False
        if c.transport == "rtu":
            serial_port = getattr(client.ctx.transport, "sync_serial", None)
            if serial_port is not None:
                serial_port.reset_input_buffer()  # drop bytes of replies nobody waits for
        self._client = client
        return True

    async def _probe(self) -> bool:
        """One read on the fresh connection. A hung PLC whose TCP stack still accepts
        connections never answers it, so only a Modbus reply (data or an exception: either
        proves a running PLC program) makes the link `connected`."""
        client = self._client
        assert client is not None
        address, count = self.probe
        try:
            await asyncio.wait_for(
                client.read_holding_registers(address, count=count, device_id=self.unit_id),
                self.timing.timeout_s * 2 + 0.5,
            )
        except (TimeoutError, ModbusException, OSError) as exc:
            self.probe_failures += 1
            self._drop(f"no Modbus reply after connecting: {exc or 'timeout'}", notify=False)
            return False
        return True

    def _on_trace_connect(self, connected: bool) -> None:
        if not connected and self._connected.is_set():
            self._drop("connection closed by peer")

    def _drop(self, reason: str, notify: bool = True) -> None:
        """Close the client (cancelling pymodbus's own reconnect task) and mark the link down."""
        client, self._client = self._client, None
        if client is not None:
            client.close()
        was_connected = self._connected.is_set()
        if self.connection.transport == "rtu":
            self._quiet_until = time.monotonic() + self.timing.timeout_s
        self._connected.clear()
        self._lost.set()
        self.last_error = reason
        if was_connected and notify:
            self._notify(False, reason)

    def _notify(self, connected: bool, reason: str) -> None:
        for listener in list(self._listeners):
            listener(connected, reason)

    # ---- requests --------------------------------------------------------------------------
    async def read(self, address: int, count: int) -> list[int]:
        """Read holding registers (FC3) at a zero-based request address."""
        if not 1 <= count <= MAX_READ_WORDS:
            raise ValueError(
                f"read of {count} words at {self._name(address, count)}: 1..125 allowed"
            )
        response = await self._request(
            address,
            count,
            lambda cl: cl.read_holding_registers(address, count=count, device_id=self.unit_id),
            lambda r: r.function_code == 3 and len(r.registers) == count,
        )
        return list(response.registers)

    async def write(self, address: int, values: Sequence[int]) -> None:
        """Write holding registers (FC16) in one request; values are checked for 16 bits first."""
        if not 1 <= len(values) <= MAX_WRITE_WORDS:
            raise ValueError(f"write of {len(values)} words at {self._name(address, len(values))}")
        words = [check_word(self._name(address + i, 1), v) for i, v in enumerate(values)]
        await self._request(
            address,
            len(words),
            lambda cl: cl.write_registers(address, words, device_id=self.unit_id),
            lambda r: r.function_code == 16 and r.address == address and r.count == len(words),
        )

    async def _request(
        self, address: int, count: int, call: Callable, fits: Callable[[Any], bool]
    ) -> Any:
        async with self._lock:
            client = self._client
            if client is None or not self._connected.is_set():
                raise PlcUnavailable(f"not connected to {self.connection.describe()}")
            self.requests += 1
            started = time.perf_counter()
            try:
                # The client's own timeout applies; the outer bound is a safety net.
                response = await asyncio.wait_for(call(client), self.timing.timeout_s * 2 + 0.5)
            except (TimeoutError, ModbusException, OSError) as exc:
                self.failures += 1
                self._drop(f"request at {self._name(address, count)} failed: {exc or 'timeout'}")
                raise PlcUnavailable(self.last_error) from None
            if not response.isError() and not fits(response):
                # A reply to another request (late reply on RTU): the link is out of step.
                self.failures += 1
                self.mismatched += 1
                self._drop(f"request at {self._name(address, count)}: reply did not match")
                raise PlcUnavailable(self.last_error)
            self.rtt_ms.append((time.perf_counter() - started) * 1000.0)
        if response.isError():
            fc = response.function_code & 0x7F
            raise PlcExceptionResponse(self._name(address, count), fc, response.exception_code)
        return response
