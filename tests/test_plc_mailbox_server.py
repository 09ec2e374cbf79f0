"""PLC-side mailbox (exactly once, re-ack, persisted across restart) and reconnect backoff."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fleet_manager.child_process import free_loopback_port
from plc_bridge.config import Connection, Timing
from plc_bridge.mailbox import RESULT_OK, next_seq
from plc_bridge.register_map import parse_register_map
from plc_bridge.transport import ModbusTransport
from sim.plc.mailbox import MailboxServer
from sim.plc.memory import RegisterMemory

REGS = parse_register_map(
    {"command": {"address": 0, "args": 2}, "command_ack": {"address": 10, "reply": 1}}
)


def box(log: Path, runs: list) -> tuple[RegisterMemory, MailboxServer]:
    memory = RegisterMemory(REGS)

    def handler(code: int, args: list[int]) -> tuple[int, list[int]]:
        runs.append((code, args))
        return RESULT_OK, [args[0] + 1]

    return memory, MailboxServer(memory, "command", "command_ack", handler, log)


def test_repeat_is_re_acked_not_re_executed_and_survives_restart(tmp_path: Path) -> None:
    log = tmp_path / "commands.jsonl"
    runs: list = []
    memory, server = box(log, runs)
    memory.client_write(0, [1, 6, 41, 0])
    memory.set(10, [0, 0, 0])  # ack wiped (a lost reply, say)
    memory.client_write(0, [1, 6, 41, 0])  # the WCS retries the same sequence number
    assert runs == [(6, [41, 0])] and server.stats.repeats == 1
    assert memory.get(10, 3) == [1, RESULT_OK, 42]
    memory.client_write(0, [2, 6, 7, 0])
    assert len(runs) == 2

    restarted_runs: list = []
    memory2, server2 = box(log, restarted_runs)  # a restarted PLC reads its command log
    assert server2.last_seq == 2 and memory2.get(10, 3) == [2, RESULT_OK, 8]
    memory2.client_write(0, [2, 6, 7, 0])  # a retry after the restart: still not re-run
    assert restarted_runs == [] and server2.stats.repeats == 1
    memory2.client_write(0, [3, 6, 9, 0])
    assert restarted_runs == [(6, [9, 0])]


def test_torn_last_log_line_is_ignored(tmp_path: Path) -> None:
    log = tmp_path / "commands.jsonl"
    memory, _ = box(log, [])
    memory.client_write(0, [5, 6, 1, 0])
    with log.open("a") as fh:
        fh.write('{"block": "command", "seq": 6, "co')  # power cut mid-write
    _, server = box(log, [])
    assert server.last_seq == 5


def test_sequence_numbers_wrap_and_skip_zero() -> None:
    assert next_seq(0) == 1 and next_seq(1) == 2 and next_seq(65535) == 1


def test_reconnect_backs_off_without_busy_loop() -> None:
    timing = Timing(timeout_s=0.1, reconnect_initial_s=0.05, reconnect_max_s=0.4)
    transport = ModbusTransport(Connection(port=free_loopback_port()), 1, timing)

    async def run() -> None:
        await transport.start()
        await asyncio.sleep(1.2)  # nothing listens: attempts at ~0, .05, .15, .35, .75 s
        await transport.stop()

    asyncio.run(run())
    assert 2 <= transport.connect_attempts <= 8 and transport.connects == 0
