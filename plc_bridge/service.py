"""PLC bridge service: poll, heartbeat both ways, alarms, auto start, sorter; what the runtime runs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from fleet_manager.events import EventBus
from fleet_manager.sortation import LaneAssigner, LaneError, SortPlan
from plc_bridge import codes
from plc_bridge.config import PlcConfig
from plc_bridge.mailbox import CommandResult, Mailbox
from plc_bridge.register_map import (
    STATE_ESTOP,
    STATE_RUNNING,
    STATE_WCS_WATCHDOG,
    RegisterMap,
)
from plc_bridge.sorter import SorterController
from plc_bridge.tasks import cancel_and_wait
from plc_bridge.transport import ModbusTransport, PlcExceptionResponse, PlcUnavailable

UNKNOWN_STATE: dict[str, Any] = {
    "running": None,
    "estop": None,
    "fault_code": None,
    "zones": None,
    "photo_eyes": None,
    "lane_fill": None,
    "watchdog_tripped": None,
    "items_on_belt": None,
}

FIRST_CONNECT_GRACE_S = 3.0  # a PLC that has not answered this long after start: alarm


class PlcImage:
    """The last words read from the PLC, at their request addresses."""

    def __init__(self, registers: RegisterMap) -> None:
        self.registers = registers
        self.words = [0] * max((b.end for b in registers.blocks.values()), default=0)

    def store(self, address: int, values: Sequence[int]) -> None:
        self.words[address : address + len(values)] = list(values)

    def block(self, name: str) -> list[int]:
        b = self.registers.block(name)
        return self.words[b.address : b.end]


def _percentiles(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p99": None, "max": None}
    arr = np.asarray(values, dtype=float)
    return {
        "p50": round(float(np.percentile(arr, 50)), 3),
        "p99": round(float(np.percentile(arr, 99)), 3),
        "max": round(float(arr.max()), 3),
    }


class PlcBridgeService:
    """One PLC: connection, poll loop, heartbeat/watchdog, command mailbox and (if the register
    map and config have one) the sorter. Events go out on the bus (alarm, conveyor, sort, lane)."""

    def __init__(
        self,
        config: PlcConfig,
        bus: EventBus,
        lane_assigner: LaneAssigner | None = None,
        *,
        auto_start: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.bus = bus
        self.clock = clock
        self.auto_start = auto_start
        regs = config.registers
        self.read_ranges = regs.read_ranges("plc")
        first = self.read_ranges[0] if self.read_ranges else (0, 1)
        self.transport = ModbusTransport(
            config.connection, config.unit_id, config.timing, regs.span_name, probe=(first[0], 1)
        )
        self.transport.add_listener(self._on_connection)
        self.command_box = self._mailbox("command", "command_ack")
        self.divert_box = self._mailbox("divert", "divert_ack")
        self.image = PlcImage(regs)
        self.assigner = lane_assigner
        self.sorter: SorterController | None = None
        if config.sorter and self.divert_box and regs.has("scans") and regs.has("confirms"):
            if self.assigner is None:
                self.assigner = LaneAssigner(config.sorter.sorter.lanes, SortPlan())
            self.sorter = SorterController(
                config.sorter,
                self.assigner,
                self.divert_box,
                regs.block("scans"),
                regs.block("confirms"),
                bus,
                clock,
                self._alarm_from_sorter,
            )
        self.active_alarms: dict[str, dict[str, Any]] = {}
        # What the PLC last said; None while unknown (link down, or not yet read since it
        # came up): the bridge never reports a value it cannot know.
        self.state: dict[str, Any] = dict(UNKNOWN_STATE)
        self.link_up_since_s: float | None = None  # monotonic; None while the link is down
        self._state_read = False  # a poll since the link came up read the status
        self.wcs_heartbeat = 0
        self.plc_heartbeat: int | None = None
        self.plc_heartbeat_changed_s = time.monotonic()
        self.polls = 0
        self._split: set[int] = set()  # read ranges read block by block after an exception
        self._tasks: list[asyncio.Task] = []
        self._start_task: asyncio.Task | None = None
        self._next_start_attempt_s = 0.0
        self._heartbeats_since_connect = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._started_s = time.monotonic()
        self._ever_up = False

    def _mailbox(self, request: str, ack: str) -> Mailbox | None:
        regs = self.config.registers
        if not (regs.has(request) and regs.has(ack)):
            return None
        return Mailbox(self.transport, regs.block(request), regs.block(ack), self.config.timing)

    # ---- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._stopping = False
        self._started_s = time.monotonic()
        await self.transport.start()
        self._tasks = [
            asyncio.create_task(self._poll_loop(), name="plc-poll"),
            asyncio.create_task(self._heartbeat_loop(), name="plc-heartbeat"),
        ]
        if self.sorter:
            await self.sorter.start()

    async def stop(self) -> None:
        self._stopping = True
        for task in [*self._tasks, self._start_task]:
            await cancel_and_wait(task)
        self._tasks = []
        if self.sorter:
            await self.sorter.stop()
        await self.transport.stop()

    # ---- alarms ------------------------------------------------------------------------------
    def _raise(self, code: str, key: str | None = None, **data: Any) -> None:
        """Raise an alarm once per key until it is cleared."""
        key = key or code
        if key in self.active_alarms:
            return
        self.active_alarms[key] = {"code": code, **data}
        self.bus.emit("alarm", "raised", self.clock(), code=code, plc=self.config.name, **data)

    def _clear(self, key: str) -> None:
        alarm = self.active_alarms.pop(key, None)
        if alarm is not None:
            self.bus.emit(
                "alarm", "cleared", self.clock(), code=alarm["code"], plc=self.config.name
            )

    def _alarm_from_sorter(self, code: str, **data: Any) -> None:
        # Per-item alarms are events, not latched conditions.
        self.bus.emit("alarm", "raised", self.clock(), code=code, plc=self.config.name, **data)

    def _on_connection(self, connected: bool, reason: str) -> None:
        """One alarm per outage: raised when the link drops, cleared by the poll loop once the
        link has answered for `link_healthy_s` (a link that flaps keeps the one alarm)."""
        if connected:
            self._heartbeats_since_connect = 0
            self._state_read = False
            self._split.clear()  # maybe a fixed or restarted PLC: try merged reads again
            self.link_up_since_s = time.monotonic()
            self._ever_up = True
            self.plc_heartbeat_changed_s = self.link_up_since_s  # its watchdog starts afresh
        else:
            self.link_up_since_s = None
            self._raise(
                "plc_connection_lost", message=reason, connection=self.config.connection.describe()
            )
            self._forget_state()

    def _forget_state(self) -> None:
        """The link is down: what the PLC shows is unknown from now on, not its last value."""
        if self.state["running"] is not None:
            self.bus.emit("conveyor", "unknown", self.clock(), plc=self.config.name)
        for zone, value in enumerate(self.state["zones"] or []):
            if value is not None:
                self.bus.emit(
                    "conveyor", "zone_state", self.clock(),
                    plc=self.config.name, zone=zone, state=codes.UNKNOWN,
                )
        self.state.update(UNKNOWN_STATE)
        self._state_read = False

    @property
    def known(self) -> bool:
        """Whether the state is from a poll of the live link (else every field is unknown)."""
        return self.transport.connected and self._state_read

    @property
    def conveyors(self) -> str:
        """running | stopped | unknown."""
        if not self.known:
            return codes.UNKNOWN
        return "running" if self.state["running"] else "stopped"

    def _check_link_healthy(self, now: float) -> None:
        up = self.link_up_since_s
        if up is not None and now - up >= self.config.timing.link_healthy_s:
            self._clear("plc_connection_lost")
        elif up is None and not self._ever_up and now - self._started_s > FIRST_CONNECT_GRACE_S:
            # Never answered since the bridge started (wrong address, PLC off): the same one
            # alarm as an outage, so a PLC that is not there is not silent.
            self._raise(
                "plc_connection_lost",
                message=f"no answer since the bridge started {FIRST_CONNECT_GRACE_S:.0f} s ago",
                connection=self.config.connection.describe(),
            )

    # ---- loops -------------------------------------------------------------------------------
    async def _heartbeat_loop(self) -> None:
        regs = self.config.registers
        if not regs.has("wcs_heartbeat"):
            return
        address = regs.block("wcs_heartbeat").address
        while not self._stopping:
            if self.transport.connected:
                self.wcs_heartbeat = (self.wcs_heartbeat + 1) & 0xFFFF
                try:
                    await self.transport.write(address, [self.wcs_heartbeat])
                    self._heartbeats_since_connect += 1
                except PlcUnavailable:
                    pass
                except PlcExceptionResponse as exc:
                    self._exception_alarm(exc)
            await asyncio.sleep(self.config.timing.heartbeat_period_s)

    async def _poll_loop(self) -> None:
        period_s = self.config.timing.poll_period_s
        while not self._stopping:
            started = time.monotonic()
            if self.transport.connected:
                await self._poll_once()
                self._check_plc_heartbeat(time.monotonic())  # a dead link has its own alarm
            self._check_link_healthy(time.monotonic())
            await asyncio.sleep(max(0.0, period_s - (time.monotonic() - started)))

    async def _poll_once(self) -> None:
        fresh: set[str] = set()
        for address, count in self.read_ranges:
            if address in self._split:
                parts = self._blocks_in(address, count)
            else:
                parts = [(address, count, self._names_in(address, count))]
            for start, n, names in parts:
                try:
                    self.image.store(start, await self.transport.read(start, n))
                    self._clear(f"plc_exception@{start}")
                    fresh.update(names)
                except PlcUnavailable:
                    return
                except PlcExceptionResponse as exc:
                    if len(names) > 1 and address not in self._split:
                        # Read this range block by block from now on, so the alarm can name
                        # the block the PLC refuses and every other block stays fresh.
                        self._split.add(address)
                    self._exception_alarm(exc, key=f"plc_exception@{start}")
        self.polls += 1
        self._on_image(fresh)

    def _names_in(self, address: int, count: int) -> list[str]:
        return [
            b.name
            for b in self.config.registers.blocks.values()
            if address <= b.address and b.end <= address + count
        ]

    def _blocks_in(self, address: int, count: int) -> list[tuple[int, int, list[str]]]:
        regs = self.config.registers
        return [
            (regs.block(n).address, regs.block(n).size, [n]) for n in self._names_in(address, count)
        ]

    def _exception_alarm(self, exc: PlcExceptionResponse, key: str | None = None) -> None:
        self._raise(
            "plc_exception",
            key=key or f"plc_exception:{exc.register}",
            register=exc.register,
            exception_code=exc.exception_code,
            message=str(exc),
        )

    def _check_plc_heartbeat(self, now: float) -> None:
        regs = self.config.registers
        if not regs.has("plc_heartbeat"):
            return
        if now - self.plc_heartbeat_changed_s >= self.config.timing.watchdog_s:
            self._raise(
                "plc_heartbeat_stale",
                register=regs.block("plc_heartbeat").field_name(0),
                message=f"PLC heartbeat unchanged for {self.config.timing.watchdog_s} s",
            )

    # ---- what the poll saw -------------------------------------------------------------------
    def _on_image(self, fresh: set[str]) -> None:
        now = time.monotonic()
        if "plc_heartbeat" in fresh:
            value = self.image.block("plc_heartbeat")[0]
            if value != self.plc_heartbeat:
                self.plc_heartbeat, self.plc_heartbeat_changed_s = value, now
                self._clear("plc_heartbeat_stale")
        if "status" in fresh:
            self._on_status(self.image.block("status"))
        if "status" in fresh or not self.config.registers.has("status"):
            self._state_read = True
        if "zones" in fresh:
            self._on_zones(self.image.block("zones"))
        if "photo_eyes" in fresh:
            self.state["photo_eyes"] = self.image.block("photo_eyes")
        if "lanes" in fresh and self.assigner and self.config.sorter:
            self._on_lanes(self.image.block("lanes"))
        if self.sorter and {"scans", "confirms"} <= fresh:
            self.sorter.on_poll(self.image.block("scans"), self.image.block("confirms"))
        self._maybe_autostart(now)

    def _on_status(self, words: list[int]) -> None:
        state, fault, estop = words[0], words[1], bool(words[2])
        running = bool(state & STATE_RUNNING)
        if running != self.state["running"]:  # also the first reading after unknown
            self.bus.emit(
                "conveyor",
                "running" if running else "stopped",
                self.clock(),
                plc=self.config.name,
                fault=codes.FAULT_NAMES.get(fault, str(fault)),
            )
        self.state.update(
            running=running,
            estop=estop or bool(state & STATE_ESTOP),
            fault_code=fault,
            watchdog_tripped=bool(state & STATE_WCS_WATCHDOG),
            items_on_belt=words[3],
        )
        if fault:
            self._raise(
                "plc_fault",
                key=f"plc_fault:{fault}",
                fault_code=fault,
                fault=codes.FAULT_NAMES.get(fault, f"code {fault}"),
                register=self.config.registers.block("status").field_name(1),
            )
        for key in [k for k in self.active_alarms if k.startswith("plc_fault:")]:
            if key != f"plc_fault:{fault}":
                self._clear(key)

    def _on_zones(self, words: list[int]) -> None:
        old = self.state["zones"] or []
        for i, value in enumerate(words):
            if i >= len(old) or old[i] != value:
                self.bus.emit(
                    "conveyor",
                    "zone_state",
                    self.clock(),
                    plc=self.config.name,
                    zone=i,
                    state=codes.ZONE_NAMES.get(value, str(value)),
                )
        self.state["zones"] = words

    def _on_lanes(self, words: list[int]) -> None:
        assert self.assigner is not None and self.config.sorter is not None
        for lane, fill in zip(self.config.sorter.sorter.lanes, words, strict=False):
            was_full = self.assigner.is_full(lane.id)
            self.assigner.set_fill(lane.id, fill)
            full = self.assigner.is_full(lane.id)
            if full != was_full:
                self.bus.emit(
                    "lane",
                    "full" if full else "available",
                    self.clock(),
                    lane_id=lane.id,
                    sorter_id=self.config.sorter.sorter.id,
                    fill_items=fill,
                    capacity_items=lane.capacity_items,
                )
        self.state["lane_fill"] = words

    def _maybe_autostart(self, now: float) -> None:
        if not self.auto_start or self.command_box is None or not self.known:
            return
        if self.state["running"]:
            return
        if self.state["estop"] or (self._start_task and not self._start_task.done()):
            return
        # Our heartbeat must be alive on the PLC first, or START is refused / trips at once.
        if self._heartbeats_since_connect < 2 or now < self._next_start_attempt_s:
            return
        fault = self.state["fault_code"]
        if fault not in (codes.FAULT_NONE, codes.FAULT_WCS_WATCHDOG):
            return  # jams and e-stops need a person
        self._next_start_attempt_s = now + 1.0
        self._start_task = asyncio.create_task(self._start_conveyors(fault))

    async def _start_conveyors(self, fault: int) -> None:
        try:
            if fault == codes.FAULT_WCS_WATCHDOG:
                await self.command(codes.CMD_RESET_FAULT, deadline_s=2.0)
            result = await self.command(codes.CMD_START, deadline_s=2.0)
            if not result.ok:
                self._raise("plc_start_refused", result=result.result_name)
            else:
                self._clear("plc_start_refused")
        except (TimeoutError, PlcExceptionResponse, PlcUnavailable):
            pass  # retried on a later poll

    # ---- runtime-facing API ------------------------------------------------------------------
    async def command(
        self, code: int, args: Sequence[int] = (), deadline_s: float | None = None
    ) -> CommandResult:
        if self.command_box is None:
            raise RuntimeError(f"{self.config.source}: register map has no command mailbox")
        return await self.command_box.send(code, args, deadline_s)

    def apply_lane_enabled(self, lane_id: str, enabled: bool, at_s: float | None = None) -> bool:
        """Enable/disable a lane for the decisions at once (sync); LaneError names an unknown
        lane and changes nothing. Returns whether the flag changed (a lane event went out)."""
        if self.assigner is None or self.config.sorter is None:
            raise LaneError(f"PLC {self.config.name} has no sorter")
        changed = self.assigner.enabled.get(lane_id) != bool(enabled)
        self.assigner.set_enabled(lane_id, enabled)
        if changed:
            self.bus.emit(
                "lane",
                "enabled" if enabled else "disabled",
                self.clock() if at_s is None else at_s,
                lane_id=lane_id,
                sorter_id=self.config.sorter.sorter.id,
                plc=self.config.name,
            )
        return changed

    async def tell_plc_lane_enabled(self, lane_id: str, enabled: bool) -> CommandResult | None:
        """Tell the PLC too (its diverts then refuse the lane even if the WCS slipped)."""
        if self.command_box is None or self.config.sorter is None:
            return None
        number = self.config.sorter.lane_numbers[lane_id]
        return await self.command(
            codes.CMD_SET_LANE_ENABLED, [number, int(enabled)], deadline_s=5.0
        )

    async def set_lane_enabled(self, lane_id: str, enabled: bool) -> None:
        """Enable/disable a sorter lane (LaneError names an unknown lane; nothing is changed)."""
        self.apply_lane_enabled(lane_id, enabled)
        await self.tell_plc_lane_enabled(lane_id, enabled)

    def status(self) -> dict[str, Any]:
        """Link, PLC state and counters. While the state is unknown (link down, or not yet
        read since it came up): `conveyors`, `fault` and every zone are "unknown", `running`,
        `estop`, `plc_heartbeat_ok`, photo-eyes and lane fill are null."""
        rtt = list(self.transport.rtt_ms)
        known, st = self.known, self.state
        zone_count = self.config.registers.block("zones").size if self.config.registers.has(
            "zones") else 0
        fault = st["fault_code"]
        out: dict[str, Any] = {
            "plc": self.config.name,
            "connection": self.config.connection.describe(),
            "connected": self.transport.connected,
            "state_known": known,
            "plc_heartbeat_ok": (
                "plc_heartbeat_stale" not in self.active_alarms if known else None
            ),
            "conveyors": self.conveyors,
            "running": st["running"] if known else None,
            "estop": st["estop"] if known else None,
            "fault": codes.FAULT_NAMES.get(fault, str(fault)) if known else codes.UNKNOWN,
            "zones": (
                [codes.ZONE_NAMES.get(z, str(z)) for z in st["zones"] or []]
                if known
                else [codes.UNKNOWN] * zone_count
            ),
            "photo_eyes": st["photo_eyes"] if known else None,
            "alarms": sorted(self.active_alarms),
            "polls": self.polls,
            "transport": {
                "requests": self.transport.requests,
                "failures": self.transport.failures,
                "connects": self.transport.connects,
                "rtt_ms": _percentiles(rtt),
            },
        }
        if self.assigner:
            out["lanes"] = self.assigner.status()
            if not known:  # the PLC's fill words are unknown; the WCS's own counts are not
                for lane in out["lanes"]["lanes"].values():
                    lane.update(fill=None, full=None)
        if self.sorter:
            out["sorter"] = {
                "counters": dict(self.sorter.counters),
                "tracked_items": len(self.sorter.items),
                "scan_to_divert_written_ms": _percentiles(self.sorter.latency_ms),
            }
        return out
