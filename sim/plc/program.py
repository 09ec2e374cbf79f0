"""The simulated PLC's program: scan cycle, heartbeat watchdog, mailboxes, rings, sorter physics."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from plc_bridge import codes
from plc_bridge.config import PlcConfig, SorterSetup
from plc_bridge.mailbox import (
    RESULT_BAD_ARGUMENT,
    RESULT_OK,
    RESULT_REFUSED,
    RESULT_UNKNOWN_COMMAND,
)
from plc_bridge.register_map import (
    STATE_ESTOP,
    STATE_FAULT,
    STATE_RUNNING,
    STATE_WCS_WATCHDOG,
    decode_ascii,
    encode_ascii,
)
from sim.plc.mailbox import MailboxServer
from sim.plc.memory import RegisterMemory
from sim.plc.sorter_physics import SimParams, SorterPhysics

TRACKING_ID_MARGIN = 1000  # ids possibly handed out after the last state save, skipped at restart


class PlcProgram:
    """Everything a real PLC would run; the Modbus server only moves words in and out."""

    def __init__(
        self,
        config: PlcConfig,
        sorter: SorterSetup | None,
        params: SimParams,
        state_dir: Path | None = None,
        event_log: Path | None = None,
        time_scale: float = 1.0,
        fsync: bool = False,
    ) -> None:
        self.config = config
        self.params = params
        self.time_scale = time_scale
        self.memory = RegisterMemory(config.registers)
        self.has = config.registers.has
        self.state_path = state_dir / f"{config.name}-state.json" if state_dir else None
        self.event_log = event_log
        log = state_dir / f"{config.name}-commands.jsonl" if state_dir else None
        self.command_box = (
            MailboxServer(self.memory, "command", "command_ack", self._on_command, log, fsync)
            if self.has("command") and self.has("command_ack")
            else None
        )
        self.divert_box = (
            MailboxServer(self.memory, "divert", "divert_ack", self._on_divert, log, fsync)
            if self.has("divert") and self.has("divert_ack")
            else None
        )
        self.physics = (
            SorterPhysics(sorter, params, self._restore_tracking_id()) if sorter else None
        )
        self.running = False
        self.fault_code = codes.FAULT_NONE
        self.estop = False
        self.watchdog_tripped = False
        self.wcs_heartbeat: int | None = None
        self.wcs_heartbeat_changed_s = time.monotonic()
        self.plc_heartbeat = 0
        self.scan_index = 0
        self.confirm_index = 0
        self.last_cycle_s = time.monotonic()
        self.previous_silent_s = 0.0  # WCS heartbeat silence seen at the previous scan cycle
        self.last_save_s = 0.0
        self._log_event("plc_started", restored_seq=self._restored_seqs())

    # ---- persistence and logs --------------------------------------------------------------
    def _restore_tracking_id(self) -> int:
        if self.state_path and self.state_path.exists():
            saved = json.loads(self.state_path.read_text())
            return (int(saved.get("next_tracking_id", 1)) + TRACKING_ID_MARGIN - 1) % 0xFFFF + 1
        return 1

    def _save_state(self) -> None:
        if self.state_path and self.physics:
            tmp = self.state_path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"next_tracking_id": self.physics.next_tracking_id}))
            tmp.replace(self.state_path)

    def _restored_seqs(self) -> dict[str, int]:
        return {
            box.request.name: box.last_seq for box in (self.command_box, self.divert_box) if box
        }

    def _log_event(self, event: str, **data: Any) -> None:
        if self.event_log:
            with self.event_log.open("a") as fh:
                fh.write(json.dumps({"t": time.time(), "event": event, **data}) + "\n")

    # ---- mailbox handlers ------------------------------------------------------------------
    def _heartbeat_alive(self, now_s: float) -> bool:
        return (
            self.wcs_heartbeat is not None
            and now_s - self.wcs_heartbeat_changed_s < self.config.timing.watchdog_s
        )

    def _set_running(self, running: bool, reason: str) -> None:
        if running != self.running:
            self._log_event("conveyors_started" if running else "conveyors_stopped", reason=reason)
        self.running = running
        if self.physics:
            self.physics.running = running

    def _on_command(self, code: int, args: list[int]) -> tuple[int, list[int]]:
        now = time.monotonic()
        if code == codes.CMD_START:
            if self.estop or self.fault_code != codes.FAULT_NONE or not self._heartbeat_alive(now):
                return RESULT_REFUSED, [self.fault_code]
            self._set_running(True, "start command")
        elif code == codes.CMD_STOP:
            self._set_running(False, "stop command")
        elif code == codes.CMD_RESET_FAULT:
            if self.estop:
                return RESULT_REFUSED, [codes.FAULT_ESTOP]
            self.fault_code = codes.FAULT_NONE
            self.watchdog_tripped = False
        elif code in (codes.CMD_SET_LANE_ENABLED, codes.CMD_LANE_EMPTIED):
            if not self.physics or not self.physics.lane_number_ok(args[0]):
                return RESULT_BAD_ARGUMENT, []
            if code == codes.CMD_SET_LANE_ENABLED:
                self.physics.lane_enabled[args[0] - 1] = bool(args[1])
            else:
                self.physics.lane_fill[args[0] - 1] = 0
        elif code == codes.CMD_INDUCT:
            # The transport order for a tote put on the belt at an induct point (a station's
            # outfeed): the simulated floor places it there; a real PLC tracks it the same way.
            barcode = decode_ascii(args[1 : 1 + codes.INDUCT_BARCODE_WORDS]).strip()
            if not self.physics or len(args) < 1 + codes.INDUCT_BARCODE_WORDS or not barcode:
                return RESULT_BAD_ARGUMENT, []
            self.physics.announce(barcode)
            self._log_event("inducted", barcode=barcode, point=args[0])
        elif code == codes.CMD_ECHO:
            return RESULT_OK, [args[0] if args else 0]
        elif code == codes.CMD_ESTOP:
            self.estop = bool(args[0]) if args else True
            if self.estop:
                self.fault_code = codes.FAULT_ESTOP
                self._set_running(False, "e-stop")
        else:
            return RESULT_UNKNOWN_COMMAND, []
        return RESULT_OK, []

    def _on_divert(self, code: int, args: list[int]) -> tuple[int, list[int]]:
        if code != codes.DIVERT:
            return RESULT_UNKNOWN_COMMAND, []
        if not self.physics:
            return RESULT_REFUSED, []
        return self.physics.divert(args[0], args[1], time.perf_counter()), []

    # ---- scan cycle ------------------------------------------------------------------------
    def cycle(self) -> None:
        now = time.monotonic()
        dt_s, self.last_cycle_s = now - self.last_cycle_s, now
        self.plc_heartbeat = (self.plc_heartbeat + 1) & 0xFFFF
        if self.has("plc_heartbeat"):
            self.memory.set_block("plc_heartbeat", [self.plc_heartbeat])
        self._watchdog(now)
        if self.physics:
            for event in self.physics.step(dt_s * self.time_scale, time.perf_counter()):
                self._post(event)
        self._write_status()
        if now - self.last_save_s >= 1.0:
            self.last_save_s = now
            self._save_state()

    def _watchdog(self, now: float) -> None:
        if not self.has("wcs_heartbeat"):
            return
        value = self.memory.block("wcs_heartbeat")[0]
        if value != self.wcs_heartbeat:
            self.wcs_heartbeat, self.wcs_heartbeat_changed_s = value, now
            self.previous_silent_s = 0.0
            return
        silent_s = now - self.wcs_heartbeat_changed_s
        previous_s, self.previous_silent_s = self.previous_silent_s, silent_s
        if self.running and silent_s >= self.config.timing.watchdog_s:
            self.watchdog_tripped = True
            self.fault_code = codes.FAULT_WCS_WATCHDOG
            self._set_running(False, "wcs watchdog")
            self._log_event(
                "watchdog_trip",
                silent_s=silent_s,
                previous_cycle_silent_s=previous_s,
                watchdog_s=self.config.timing.watchdog_s,
            )

    def _post(self, event: Any) -> None:
        if event.kind == "scan" and self.has("scans"):
            block = self.config.registers.block("scans")
            slots, words = block.params["slots"], block.params["barcode_words"]
            slot = self.scan_index % slots
            entry = [event.tracking_id, *encode_ascii(event.barcode, words)]
            self.memory.set_block("scans", entry, 1 + slot * (1 + words))
            self.scan_index = (self.scan_index + 1) & 0xFFFF
            self.memory.set_block("scans", [self.scan_index])
        elif event.kind == "confirm" and self.has("confirms"):
            slots = self.config.registers.block("confirms").params["slots"]
            slot = self.confirm_index % slots
            self.memory.set_block("confirms", [event.tracking_id, event.lane], 1 + 2 * slot)
            # Where the item physically went (lane number, 0 = none): the floor's truth.
            self._log_event("item_confirmed", tracking_id=event.tracking_id,
                            barcode=event.barcode, lane=event.lane)
            self.confirm_index = (self.confirm_index + 1) & 0xFFFF
            self.memory.set_block("confirms", [self.confirm_index])

    def _write_status(self) -> None:
        state = (
            (STATE_RUNNING if self.running else 0)
            | (STATE_ESTOP if self.estop else 0)
            | (STATE_WCS_WATCHDOG if self.watchdog_tripped else 0)
            | (STATE_FAULT if self.fault_code else 0)
        )
        items = len(self.physics.items) if self.physics else 0
        if self.has("status"):
            self.memory.set_block("status", [state, self.fault_code, int(self.estop), items])
        if self.has("zones"):
            count = self.config.registers.block("zones").params["count"]
            zone = codes.ZONE_RUNNING if self.running else codes.ZONE_STOPPED
            per = self.physics.zone_items(count) if self.physics else [0] * count
            capacity = (
                self.physics.length_m / count / self.params.item_pitch_m if self.physics else 1.0
            )
            self.memory.set_block(
                "zones", [codes.ZONE_FULL if n >= 0.95 * capacity else zone for n in per]
            )
        if self.has("photo_eyes") and self.physics:
            count = self.config.registers.block("photo_eyes").params["count"]
            self.memory.set_block("photo_eyes", self.physics.photo_eyes(count))
        if self.has("lanes") and self.physics:
            count = self.config.registers.block("lanes").params["count"]
            fill = (self.physics.lane_fill + [0] * count)[:count]
            self.memory.set_block("lanes", fill)

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "running": self.running,
            "fault_code": self.fault_code,
            "mailboxes": {
                box.request.name: {
                    "executed": box.stats.executed,
                    "repeats": box.stats.repeats,
                    "last_seq": box.last_seq,
                }
                for box in (self.command_box, self.divert_box)
                if box
            },
        }
        if self.physics:
            s = self.physics.stats
            out["sorter"] = {
                "inducted": s.inducted,
                "scans": s.scans,
                "diverted": s.diverted,
                "missed": s.missed,
                "forced_reject": s.forced_reject,
                "lane_blocked": s.lane_blocked,
                "backlog": self.physics.backlog,
                "records": [
                    [r.tracking_id, r.barcode, r.lane, r.scan_to_divert_ms] for r in s.records
                ],
            }
        return out
