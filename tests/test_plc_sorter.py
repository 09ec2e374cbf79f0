"""Sorter over Modbus TCP against the simulated PLC process: scan -> lane -> divert -> confirm,
lane disable, the demo map's sorter, and a PLC answering with exception codes."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from fleet_manager.events import Event, EventBus
from fleet_manager.site import load_site
from fleet_manager.sortation import LaneAssigner, LaneError, SortPlan, demo_orders
from plc_bridge import codes
from plc_bridge.config import PlcConfig, apply_site, load_plc_config
from plc_bridge.service import PlcBridgeService
from sim.plc.process import SimPlcProcess

pytestmark = pytest.mark.timeout(90)  # a hung peer fails the test, never the session

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "config" / "plc" / "demo-sorter.yaml"
DEMO_MAP = REPO / "maps" / "demo.yaml"


def config_file(tmp_path: Path, **sim: object) -> Path:
    raw = yaml.safe_load(DEMO.read_text())
    raw["plc"]["timing"].update({"watchdog_s": 1.0, "reconnect_max_s": 0.4})
    raw["sim"].update(sim)
    path = tmp_path / "plc.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


async def run_bridge(
    cfg: PlcConfig, seconds: float, during=None
) -> tuple[PlcBridgeService, list[Event]]:
    bus = EventBus()
    events: list[Event] = []
    bus.subscribe(events.append)
    plan = SortPlan.from_orders(
        demo_orders(int(cfg.sim.get("orders", 400)), int(cfg.sim.get("seed", 0)))
    )
    service = PlcBridgeService(cfg, bus, LaneAssigner(cfg.sorter.sorter.lanes, plan))
    await service.start()
    try:
        if during:
            await during(service)
        await asyncio.sleep(seconds)
    finally:
        await service.stop()
    return service, events


def test_sorter_run_sorts_every_order_into_one_lane_without_missorts(tmp_path: Path) -> None:
    path = config_file(tmp_path, noread_rate=0.05, unknown_rate=0.05)

    async def disable_l01(service: PlcBridgeService) -> None:
        await asyncio.sleep(1.0)
        with pytest.raises(LaneError, match="unknown lane 'L99'"):
            await service.set_lane_enabled("L99", False)
        await service.set_lane_enabled("L01", False)

    with SimPlcProcess(path, workdir=tmp_path, extra=["--time-scale", "4"]) as plc:
        cfg = load_plc_config(path).with_connection(port=plc.port)
        service, events = asyncio.run(run_bridge(cfg, 5.0, disable_l01))
    counters = service.sorter.counters
    assert counters["sorted"] > 30 and counters["missorted"] == 0
    assert counters["divert_ok"] > 30
    # Lane decisions against the plan: NOREAD/unknown -> reject, an order's items share a lane.
    scans = [e.data for e in events if e.topic == "sort" and e.kind == "scanned"]
    assert any(s["reason"] == "reject_noread" for s in scans)
    assert all(s["lane"] == "REJECT" for s in scans if s["reason"].startswith("reject"))
    lanes_of_order = defaultdict(set)
    for s in scans:
        if s["reason"] == "order":
            lanes_of_order[s["order_id"]].add(s["lane"])
    assert lanes_of_order and all(len(v) == 1 for v in lanes_of_order.values())
    disabled_at = next(
        i for i, e in enumerate(events) if e.topic == "lane" and e.kind == "disabled"
    )
    later = [
        e.data["lane"] for e in events[disabled_at:] if e.topic == "sort" and e.kind == "scanned"
    ]
    assert later and "L01" not in later
    # The PLC's own record agrees: every diverted item went to the lane the WCS wrote.
    records = plc.stats()["sorter"]["records"]
    decided = {}
    for s in scans:
        decided[s["tracking_id"]] = s["lane"]
    lane_ids = [lane.id for lane in cfg.sorter.sorter.lanes]
    assert records and all(lane_ids[lane - 1] == decided[tid] for tid, _b, lane, _ms in records)


@pytest.mark.skipif(not DEMO_MAP.exists(), reason="maps/demo.yaml not present")
def test_demo_map_sorter_geometry_is_used(tmp_path: Path) -> None:
    path = config_file(tmp_path)
    extra = ["--map", str(DEMO_MAP), "--time-scale", "10"]  # its 67 m loop at 1.5 m/s
    with SimPlcProcess(path, workdir=tmp_path, extra=extra) as plc:
        cfg = apply_site(load_plc_config(path), load_site(DEMO_MAP)).with_connection(port=plc.port)
        assert cfg.sorter.sorter.id == "SRT1"
        service, _ = asyncio.run(run_bridge(cfg, 5.0))
    assert service.sorter.counters["sorted"] > 5 and service.sorter.counters["missorted"] == 0
    assert plc.stats()["sorter"]["diverted"] > 5


def test_plc_exception_codes_raise_alarms_naming_the_register_and_bridge_keeps_running(
    tmp_path: Path,
) -> None:
    path = config_file(tmp_path)
    extra = ["--exception", "108:2", "--exception", "20:4", "--time-scale", "4"]
    async def start_by_hand(service: PlcBridgeService) -> None:
        # The status block is refused, so the conveyors' state is unknown and the bridge does
        # not start them by itself: an operator's explicit start does.
        assert await service.transport.wait_connected(5.0)
        await asyncio.sleep(0.3)
        assert service.status()["conveyors"] == "unknown"
        assert (await service.command(codes.CMD_START, deadline_s=5.0)).ok

    with SimPlcProcess(path, workdir=tmp_path, extra=extra) as plc:
        cfg = load_plc_config(path).with_connection(port=plc.port)
        service, events = asyncio.run(run_bridge(cfg, 3.0, start_by_hand))
    raised = [
        e.data
        for e in events
        if e.topic == "alarm" and e.kind == "raised" and e.data["code"] == "plc_exception"
    ]
    registers = {a["register"] for a in raised}
    assert any(r.startswith("status.state (address 108)") for r in registers), registers
    assert any(r.startswith("divert.seq (address 20)") for r in registers), registers
    assert service.polls > 20 and service.sorter.counters["scanned"] > 0
    assert service.sorter.counters["divert_failed"] > 0
    assert service.status()["connected"] is False  # stopped; it ran connected until then
    assert plc.stats()["server"]["exceptions"] > 0


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sim.plc.cli", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (lambda raw: raw["registers"]["divert"].update(address=12), "registers.divert"),
        (lambda raw: raw["registers"].update(barcodes={"address": 900}), "registers.barcodes"),
        (lambda raw: raw["registers"]["lanes"].update(count=70000), "count=70000"),
        (lambda raw: raw["sorter"]["lanes"][0].update(role="chute"), "sorter.lanes[L01]"),
    ],
)
def test_sim_plc_cli_bad_config_one_line_exit_2(tmp_path: Path, edit, needle: str) -> None:
    raw = yaml.safe_load(DEMO.read_text())
    edit(raw)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw))
    done = run_cli("--config", str(path), "--port", "1")
    assert done.returncode == 2
    assert needle in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_sim_plc_cli_bad_fault_options_exit_2() -> None:
    assert "ADDRESS:CODE" in run_cli("--config", str(DEMO), "--exception", "20").stderr
    done = run_cli("--config", str(DEMO), "--fault-blocks", "nope")
    assert done.returncode == 2 and "no block 'nope'" in done.stderr


def test_lane_control_adapter_for_the_runtime(tmp_path: Path) -> None:
    from plc_bridge.lane_control import PlcLaneControl

    path = config_file(tmp_path)
    seen: list = []

    async def during(service: PlcBridgeService) -> None:
        control = PlcLaneControl(service)
        with pytest.raises(KeyError, match="L99"):
            control.set_lane_enabled("L99", False, 1.0)
        lane = control.set_lane_enabled("L02", False, 2.0)
        assert lane["enabled"] is False and lane["sorter_id"] == "SRT1"
        result = await control.pending[0]
        seen.append(result.ok)

    with SimPlcProcess(path, workdir=tmp_path) as plc:
        cfg = load_plc_config(path).with_connection(port=plc.port)
        _, events = asyncio.run(run_bridge(cfg, 0.2, during))
    assert seen == [True]
    lane_events = [e for e in events if e.topic == "lane" and e.kind == "disabled"]
    assert [(e.at_s, e.data["lane_id"]) for e in lane_events] == [(2.0, "L02")]
    sets = [e for e in plc.command_log() if e["block"] == "command" and e["code"] == 4]
    assert [e["args"][:2] for e in sets] == [[2, 0]]  # lane number 2, disabled
