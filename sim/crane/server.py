"""Simulated crane PLC process: the sim PLC's Modbus server and mailbox, driving a SimCrane."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import plc_bridge.crane_telegram as ct  # registers the crane blocks before any config is parsed
from fleet_manager.site.model import CraneModel
from plc_bridge.config import PlcConfig
from sim.crane.model import FaultPlan, Phase, RackGeometry, SimCrane
from sim.plc.mailbox import MailboxServer
from sim.plc.memory import RegisterMemory
from sim.plc.server import FaultInjection, PlcServer

_RACK_KEYS = {"bays", "levels", "sides", "depth", "bay_pitch_m", "level_pitch_m"}


class SimCraneConfigError(ValueError):
    """A bad `sim:` section; the message names the field."""


@dataclass
class SimCraneSettings:
    geometry: RackGeometry
    model: CraneModel
    time_scale: float = 1.0  # simulated seconds per wall-clock second
    cycle_s: float = 0.005  # wall-clock period of the crane's control loop
    faults: list[FaultPlan] = field(default_factory=list)


def parse_fault(text: str) -> FaultPlan:
    """'command:phase:code', e.g. '2:to_target:2'."""
    try:
        command, phase, code = text.split(":")
        return FaultPlan(int(command), Phase(phase), int(code))
    except ValueError:
        phases = "|".join(p.value for p in Phase)
        raise SimCraneConfigError(f"fault {text!r}: expected command:{phases}:code") from None


def settings_from_config(cfg: PlcConfig) -> SimCraneSettings:
    sim: Mapping[str, Any] = cfg.sim
    src = cfg.source
    rack = sim.get("rack")
    if not isinstance(rack, Mapping) or set(rack) != _RACK_KEYS:
        raise SimCraneConfigError(f"{src}: sim.rack must have exactly {sorted(_RACK_KEYS)}")
    try:
        geometry = RackGeometry(int(rack["bays"]), int(rack["levels"]), int(rack["sides"]),
                                int(rack["depth"]), float(rack["bay_pitch_m"]),
                                float(rack["level_pitch_m"]))
        model = CraneModel(**{k: float(v) for k, v in (sim.get("crane") or {}).items()})
    except (TypeError, ValueError) as exc:
        raise SimCraneConfigError(f"{src}: sim.rack/sim.crane: {exc}") from None
    faults = [parse_fault(str(f)) for f in sim.get("faults") or []]
    scale = float(sim.get("time_scale", 1.0))
    cycle = float(sim.get("cycle_s", 0.005))
    if scale <= 0 or cycle <= 0:
        raise SimCraneConfigError(f"{src}: sim.time_scale and sim.cycle_s must be positive")
    return SimCraneSettings(geometry, model, scale, cycle, faults)


class SimCranePlc:
    """Register memory + mailbox server + crane loop + Modbus server, in one asyncio task set."""

    def __init__(self, cfg: PlcConfig, settings: SimCraneSettings, log_path: Path | None = None,
                 wire_faults: FaultInjection | None = None):
        self.cfg = cfg
        self.settings = settings
        self.memory = RegisterMemory(cfg.registers)
        self.crane = SimCrane(settings.geometry, settings.model, list(settings.faults))
        self.request = cfg.registers.block("crane_command")
        self.mailbox = MailboxServer(self.memory, "crane_command", "crane_ack", self._handle, log_path)
        self.server = PlcServer(self.memory, cfg.connection, wire_faults)
        self._loop_task: asyncio.Task | None = None
        self._publish()

    def _handle(self, code: int, args: list[int]) -> tuple[int, list[int]]:
        # The mailbox handler is not given the sequence number; it is word 0 of the request block,
        # which MailboxServer.poll has just read, so reading it here gives the same value.
        seq = self.memory.get(self.request.address, 1)[0]
        result = self.crane.accept(seq, ct.CraneTelegram.decode(code, args))
        self._publish()
        return result, []

    def _publish(self) -> None:
        self.memory.set_block("crane_status", self.crane.status().encode())

    async def _run(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(self.settings.cycle_s)
            now = time.monotonic()
            self.crane.advance((now - last) * self.settings.time_scale)
            last = now
            self._publish()

    async def start(self) -> None:
        await self.server.start()
        self._loop_task = asyncio.create_task(self._run(), name="sim-crane")

    async def stop(self) -> None:
        if self._loop_task:
            self._loop_task.cancel()
        await self.server.stop()
