"""Command/ack handshake against the simulated PLC process: exactly once under delays and dropped
replies (TCP and RTU over socat), PLC killed and restarted, WCS killed -> conveyors stop."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from fleet_manager.events import EventBus
from plc_bridge import codes
from plc_bridge.config import PlcConfig, load_plc_config
from plc_bridge.mailbox import Mailbox
from plc_bridge.register_map import STATE_RUNNING
from plc_bridge.service import PlcBridgeService
from plc_bridge.transport import ModbusTransport
from sim.plc.process import SimPlcProcess, VirtualSerialPair

pytestmark = pytest.mark.timeout(90)  # a hung peer fails the test, never the session

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "config" / "plc" / "demo-sorter.yaml"
FAST = {
    "timeout_s": 0.15,
    "command_timeout_s": 0.15,
    "reconnect_initial_s": 0.05,
    "reconnect_max_s": 0.4,
    "watchdog_s": 0.5,
    "heartbeat_period_s": 0.05,
    "poll_period_s": 0.02,
    "command_deadline_s": 20.0,
    "link_healthy_s": 0.5,
}


def fast_config(tmp_path: Path, **timing: float) -> Path:
    raw = yaml.safe_load(DEMO.read_text())
    raw["plc"]["timing"].update({**FAST, **timing})
    path = tmp_path / "plc.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def exactly_once(log: list[dict], n: int) -> None:
    echoes = [e for e in log if e["block"] == "command" and e["code"] == codes.CMD_ECHO]
    assert [e["args"][0] for e in echoes] == list(range(n))  # each once, in order, none lost
    seqs = [e["seq"] for e in echoes]
    assert seqs == sorted(set(seqs))


async def send_echoes(cfg: PlcConfig, n: int) -> Mailbox:
    transport = ModbusTransport(cfg.connection, cfg.unit_id, cfg.timing, cfg.registers.span_name)
    await transport.start()
    box = Mailbox(
        transport, cfg.registers.block("command"), cfg.registers.block("command_ack"), cfg.timing
    )
    try:
        for i in range(n):
            result = await box.send(codes.CMD_ECHO, [i])
            assert result.ok and result.reply[0] == i
    finally:
        await transport.stop()
    return box


FAULTS = [
    "--delay-s",
    "0.3",
    "--delay-rate",
    "0.2",
    "--drop-rate",
    "0.2",
    "--fault-blocks",
    "command,command_ack",
    "--fault-seed",
    "3",
]


def test_tcp_commands_acked_exactly_once_under_delay_and_drops(tmp_path: Path) -> None:
    path = fast_config(tmp_path)
    with SimPlcProcess(path, extra=FAULTS, workdir=tmp_path) as plc:
        cfg = load_plc_config(path).with_connection(port=plc.port)
        box = asyncio.run(send_echoes(cfg, 25))
    stats = plc.stats()["server"]
    assert stats["dropped"] > 0 and stats["delayed"] > 0  # the faults really happened
    assert box.stats.rewrites + box.stats.found_executed_on_resync > 0  # and were retried
    exactly_once(plc.command_log(), 25)


def test_rtu_commands_acked_exactly_once_under_delay_and_drops(tmp_path: Path) -> None:
    path = fast_config(tmp_path)
    with VirtualSerialPair() as pair:
        plc_end, wcs_end = pair.ends
        with SimPlcProcess(path, rtu=plc_end, extra=FAULTS, workdir=tmp_path) as plc:
            cfg = load_plc_config(path).with_connection(transport="rtu", serial_port=wcs_end)
            box = asyncio.run(send_echoes(cfg, 20))
    stats = plc.stats()["server"]
    assert stats["dropped"] > 0 and stats["delayed"] > 0
    assert box.stats.rewrites + box.stats.found_executed_on_resync > 0
    exactly_once(plc.command_log(), 20)


def test_plc_killed_and_restarted_alarm_recovery_no_command_lost_or_repeated(
    tmp_path: Path,
) -> None:
    path = fast_config(tmp_path)
    plc = SimPlcProcess(path, workdir=tmp_path).start()
    alarms: list[tuple[str, str]] = []
    total = 40

    async def run() -> None:
        cfg = load_plc_config(path).with_connection(port=plc.port)
        bus = EventBus()
        bus.subscribe(
            lambda e: alarms.append((e.kind, e.data["code"])) if e.topic == "alarm" else None
        )
        service = PlcBridgeService(cfg, bus)
        await service.start()
        try:
            for i in range(total):
                if i == 12:
                    plc.kill()  # mid-run, possibly between a write and its ack
                    await asyncio.sleep(0.3)
                    await asyncio.to_thread(plc.start)
                result = await service.command(codes.CMD_ECHO, [i])
                assert result.ok and result.reply[0] == i
                await asyncio.sleep(0.01)
            for _ in range(200):  # the alarm clears once the link has been healthy a while
                if ("cleared", "plc_connection_lost") in alarms:
                    break
                await asyncio.sleep(0.05)
        finally:
            await service.stop()

    try:
        asyncio.run(run())
    finally:
        plc.stop()
    assert ("raised", "plc_connection_lost") in alarms
    lost_at = alarms.index(("raised", "plc_connection_lost"))
    assert ("cleared", "plc_connection_lost") in alarms[lost_at:]  # recovery
    exactly_once(plc.command_log(), total)
    restarts = [e for e in plc.events() if e["event"] == "plc_started"]
    assert len(restarts) == 2 and restarts[1]["restored_seq"]["command"] > 0


def wait_for_event(plc: SimPlcProcess, name: str, count: int, timeout_s: float) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = [e for e in plc.events() if e["event"] == name]
        if len(found) >= count:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no {count} x {name} in {plc.events()}")


def bridge_process(path: Path, port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "plc_bridge",
            "--config",
            str(path),
            "--port",
            str(port),
            "--status-period-s",
            "0.5",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def read_status(cfg: PlcConfig) -> tuple[list[int], list[int]]:
    transport = ModbusTransport(cfg.connection, cfg.unit_id, cfg.timing)
    await transport.start()
    try:
        assert await transport.wait_connected(5.0)
        status = await transport.read(cfg.registers.block("status").address, 4)
        zones = await transport.read(cfg.registers.block("zones").address, 4)
    finally:
        await transport.stop()
    return status, zones


def test_wcs_killed_plc_stops_conveyors_within_one_watchdog_period(tmp_path: Path) -> None:
    path = fast_config(tmp_path)
    with SimPlcProcess(path, workdir=tmp_path) as plc:
        wcs = bridge_process(path, plc.port)
        try:
            wait_for_event(plc, "conveyors_started", 1, 20.0)
            wcs.kill()
            wcs.wait(5)
            trip = wait_for_event(plc, "watchdog_trip", 1, 5.0)[0]
            # Stopped at the first scan cycle whose heartbeat silence reached one period.
            assert trip["previous_cycle_silent_s"] < trip["watchdog_s"] <= trip["silent_s"]
            cfg = load_plc_config(path).with_connection(port=plc.port)
            status, zones = asyncio.run(read_status(cfg))
            assert not status[0] & STATE_RUNNING and status[1] == codes.FAULT_WCS_WATCHDOG
            assert zones == [codes.ZONE_STOPPED] * 4
            wcs = bridge_process(path, plc.port)  # a new WCS resets the fault and restarts
            wait_for_event(plc, "conveyors_started", 2, 20.0)
        finally:
            wcs.kill()
            wcs.wait(5)
    stops = [e["reason"] for e in plc.events() if e["event"] == "conveyors_stopped"]
    assert stops[0] == "wcs watchdog"
