"""Crane telegrams: codec, sim crane kinematics, exactly-once moves over a real sim process (TCP)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from conftest import REPO_ROOT, free_port
from hypothesis import given
from hypothesis import strategies as st
from test_asrs_helpers import aisle, inventory

import plc_bridge.crane_telegram as ct
from fleet_manager.asrs.controller import AsrsController
from fleet_manager.asrs.crane_driver import TelegramCraneDriver
from fleet_manager.asrs.rack import Rack, SlotState
from fleet_manager.events import Event, EventBus
from fleet_manager.site.model import CraneModel
from plc_bridge.config import load_plc_config
from plc_bridge.transport import ModbusTransport
from sim.crane.model import RackGeometry, SimCrane

CONFIG = REPO_ROOT / "config" / "plc" / "demo-crane.yaml"
locations = st.builds(ct.Location, st.sampled_from([ct.LOC_SLOT, ct.LOC_IO, ct.LOC_CRANE]),
                      st.integers(0, 15), st.integers(0, 0xFFFF), st.integers(0, 0xFFFF),
                      st.integers(0, 15))


@given(locations, locations, st.text(alphabet="ABCXYZ-0123456789", max_size=16),
       st.sampled_from([ct.CMD_STORE, ct.CMD_RETRIEVE, ct.CMD_RELOCATE]))
def test_telegram_round_trip(src: ct.Location, dst: ct.Location, tote: str, code: int) -> None:
    telegram = ct.CraneTelegram(code, src, dst, tote)
    words = telegram.args()
    assert len(words) == ct.COMMAND_ARGS and all(0 <= w <= 0xFFFF for w in words)
    assert ct.CraneTelegram.decode(code, words) == telegram


def test_telegram_bad_values_name_the_field() -> None:
    with pytest.raises(ValueError, match="TOTE-WITH-A-VERY-LONG-ID"):
        ct.CraneTelegram(1, ct.Location(ct.LOC_IO), ct.Location(ct.LOC_IO), "TOTE-WITH-A-VERY-LONG-ID").args()
    with pytest.raises(ValueError, match="side=16"):
        ct.Location(ct.LOC_SLOT, 16, 1, 1, 1).encode()


def test_sim_crane_moves_with_the_asrs_kinematics() -> None:
    model = CraneModel(4.0, 1.0, 1.5, 1.0, 4.0)
    rack = Rack(aisle(bays=20, levels=8, level_pitch_m=1.0, crane=model))
    crane = SimCrane(RackGeometry(20, 8, 1, 1, 1.0, 1.0), model)
    target = ct.Location(ct.LOC_SLOT, 1, 17, 6, 1)
    assert crane.accept(1, ct.CraneTelegram(ct.CMD_STORE, ct.Location(ct.LOC_IO), target, "T1")) == 1
    expected = float(rack.kinematics.move_time_s(0, 0, *rack.position_m("A1-L017-06-1"))) + 8.0
    crane.advance(expected - 1e-6)
    assert crane.done_seq == 0 and crane.state == ct.STATE_BUSY
    crane.advance(2e-6)
    assert crane.done_seq == 1 and crane.state == ct.STATE_IDLE and not crane.load_on_forks
    assert (crane.x_m, crane.y_m) == pytest.approx(rack.position_m("A1-L017-06-1"))
    busy = ct.CraneTelegram(ct.CMD_RETRIEVE, target, ct.Location(ct.LOC_IO), "T1")
    assert crane.accept(2, ct.CraneTelegram(ct.CMD_STORE, ct.Location(ct.LOC_IO),
                                            ct.Location(ct.LOC_SLOT, 1, 21, 1, 1), "T2")) == 3
    assert crane.accept(3, busy) == 1 and crane.accept(4, busy) == 4  # refused while busy


def _start_sim(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen, int, Path]:
    cfg = yaml.safe_load(CONFIG.read_text())
    cfg["sim"]["rack"] = {"bays": 6, "levels": 3, "sides": 1, "depth": 1, "bay_pitch_m": 1.0,
                          "level_pitch_m": 2.0}
    path = tmp_path / "crane.yaml"
    path.write_text(yaml.safe_dump(cfg))
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim.crane", "--config", str(path), "--port", str(port),
         "--time-scale", "400", *extra],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline() if proc.stdout else ""
    assert "listening" in line, proc.stderr.read() if proc.stderr else line
    return proc, port, path


@pytest.fixture
def sim_procs() -> Iterator[list[subprocess.Popen]]:
    procs: list[subprocess.Popen] = []
    yield procs
    for p in procs:
        p.terminate()
        p.wait(timeout=10)


async def _controller(tmp_path: Path, port: int, path: Path) -> tuple[AsrsController, ModbusTransport,
                                                                       ct.CraneClient, list[Event]]:
    cfg = load_plc_config(path).with_connection(port=port)
    transport = ModbusTransport(cfg.connection, cfg.unit_id, cfg.timing, cfg.registers.span_name)
    await transport.start()
    assert await transport.wait_connected(10.0)
    client = ct.CraneClient.create(transport, cfg.registers, cfg.timing)
    client.poll_s = 0.01
    rack = Rack(aisle(bays=6, levels=3, crane=CraneModel()))
    bus = EventBus()
    events: list[Event] = []
    bus.subscribe(events.append)
    ctl = AsrsController(inventory(tmp_path, rack), TelegramCraneDriver(rack, client, 30.0), bus)
    return ctl, transport, client, events


def test_moves_run_exactly_once_over_tcp_with_lost_replies(tmp_path: Path, sim_procs: list) -> None:
    proc, port, path = _start_sim(tmp_path, "--drop-rate", "0.1", "--seed", "2")
    sim_procs.append(proc)

    async def scenario() -> None:
        ctl, transport, client, _ = await _controller(tmp_path, port, path)
        try:
            for i in range(4):
                ctl.request_store(f"T{i}", "SKU-A", 1, f"L{i}", float(i))
            assert await ctl.run() == 4
            ctl.request_retrieve("O1", "SKU-A", "S1")
            ctl.request_store("T9", "SKU-B", 1, "L9", 9.0)
            assert await ctl.run() == 2
            status = await client.status()
            assert status.moves_accepted == 6  # each telegram executed once, retries or not
            # Seed 2 drops the 4th and 8th replies: the retry paths did run.
            assert transport.failures >= 2 and transport.connects >= 3
            # A retry of the last telegram (same sequence number) is re-acked, never re-run.
            block = client.mailbox.request
            words = await transport.read(block.address, block.size)
            await transport.write(block.address, words)
            ack = await transport.read(client.mailbox.ack.address, 2)
            assert ack == [words[0], 1]
            await asyncio.sleep(0.05)
            assert (await client.status()).moves_accepted == 6
            store = ctl.inventory.store
            assert store.tote("T0").location == "io:A1"
            assert all(store.tote(f"T{i}").location.startswith("A1-") for i in (1, 2, 3, 9))
        finally:
            await transport.stop()

    asyncio.run(scenario())


def test_crane_fault_over_tcp_then_finish_from_the_forks(tmp_path: Path, sim_procs: list) -> None:
    proc, port, path = _start_sim(tmp_path, "--fault", "2:to_target:2")
    sim_procs.append(proc)

    async def scenario() -> None:
        ctl, transport, client, events = await _controller(tmp_path, port, path)
        try:
            ctl.request_store("T1", "SKU-A", 1, "L1", 1.0)
            ctl.request_store("T2", "SKU-A", 1, "L2", 2.0)
            assert await ctl.run() == 1
            assert ctl.fault is not None
            target = ctl.fault.move.target
            store = ctl.inventory.store
            assert store.tote("T2").location == "crane:C1"
            assert store.slot(target).state == SlotState.RESERVED
            status = await client.status()
            assert status.state == ct.STATE_FAULT and status.load_on_forks
            alarm = next(e for e in events if e.topic == "alarm")
            assert "T2" in alarm.data["message"] and target in alarm.data["message"]
            await ctl.reset_fault()
            assert await ctl.run() == 1
            assert store.tote("T2").location == target
            assert (await client.status()).state == ct.STATE_IDLE
        finally:
            await transport.stop()

    asyncio.run(scenario())


def test_sim_crane_cli_bad_config_is_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    cfg = yaml.safe_load(CONFIG.read_text())
    del cfg["sim"]["rack"]
    bad.write_text(yaml.safe_dump(cfg))
    for args, needle in (([str(tmp_path / "missing.yaml")], "missing.yaml"), ([str(bad)], "sim.rack")):
        run = subprocess.run([sys.executable, "-m", "sim.crane", "--config", *args], check=False,
                             cwd=REPO_ROOT,
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 2
        assert len(run.stderr.strip().splitlines()) == 1 and needle in run.stderr
