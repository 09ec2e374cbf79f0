"""Simulated stacker crane: accepts telegrams, moves with the AS/RS kinematics, faults on purpose."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from fleet_manager.asrs.kinematics import CraneKinematics
from fleet_manager.site.model import CraneModel
from plc_bridge.crane_telegram import (
    CMD_RESET,
    FAULT_NONE,
    LOC_CRANE,
    LOC_IO,
    LOC_SLOT,
    MOVE_CODES,
    STATE_BUSY,
    STATE_FAULT,
    STATE_IDLE,
    CraneStatus,
    CraneTelegram,
    Location,
)
from plc_bridge.mailbox import (
    RESULT_BAD_ARGUMENT,
    RESULT_OK,
    RESULT_REFUSED,
    RESULT_UNKNOWN_COMMAND,
)


class Phase(StrEnum):
    TO_SOURCE = "to_source"
    PICK = "pick"
    TO_TARGET = "to_target"
    PLACE = "place"


@dataclass(frozen=True)
class RackGeometry:
    """What the crane controller knows of its rack (same conventions as fleet_manager.asrs.rack)."""

    bays: int
    levels: int
    sides: int
    depth: int
    bay_pitch_m: float
    level_pitch_m: float

    def position_m(self, loc: Location) -> tuple[float, float] | None:
        if loc.kind == LOC_IO:
            return 0.0, 0.0
        if loc.kind != LOC_SLOT:
            return None
        if not (1 <= loc.side <= self.sides and 1 <= loc.bay <= self.bays
                and 1 <= loc.level <= self.levels and 1 <= loc.depth <= self.depth):
            return None
        return (loc.bay - 0.5) * self.bay_pitch_m, (loc.level - 0.5) * self.level_pitch_m


@dataclass(frozen=True)
class FaultPlan:
    """Fault the `command`-th move (1-based) halfway through `phase` with `code`."""

    command: int
    phase: Phase
    code: int


@dataclass
class _Active:
    seq: int
    telegram: CraneTelegram
    phases: list[tuple[Phase, float, tuple[float, float]]]  # (phase, duration s, end position)
    start_xy: tuple[float, float]
    index: int = 0
    elapsed_s: float = 0.0
    fault: FaultPlan | None = None


@dataclass
class SimCrane:
    """One crane, stepped by `advance(dt_s)`; time is simulated (scale it in the server loop)."""

    geometry: RackGeometry
    model: CraneModel
    faults: list[FaultPlan] = field(default_factory=list)
    x_m: float = 0.0
    y_m: float = 0.0
    state: int = STATE_IDLE
    load_on_forks: bool = False
    load_id: str = ""
    done_seq: int = 0
    active_seq: int = 0
    fault_seq: int = 0
    fault_code: int = FAULT_NONE
    moves_accepted: int = 0
    _active: _Active | None = None

    def __post_init__(self) -> None:
        self.kinematics = CraneKinematics(self.model)

    def accept(self, seq: int, telegram: CraneTelegram) -> int:
        """Mailbox handler body: start a move or reset; returns the mailbox result code."""
        if telegram.code == CMD_RESET:
            if self.state == STATE_FAULT:
                self.state, self.fault_code, self._active = STATE_IDLE, FAULT_NONE, None
            return RESULT_OK
        if telegram.code not in MOVE_CODES:
            return RESULT_UNKNOWN_COMMAND
        if self.state != STATE_IDLE:
            return RESULT_REFUSED
        src, dst = telegram.source, telegram.target
        dst_xy = self.geometry.position_m(dst)
        if src.kind == LOC_CRANE:
            if not self.load_on_forks:
                return RESULT_BAD_ARGUMENT  # nothing on the forks to finish with
            src_xy = (self.x_m, self.y_m)
        else:
            if self.load_on_forks:
                return RESULT_REFUSED  # put the load down first
            src_xy = self.geometry.position_m(src)
        if src_xy is None or dst_xy is None:
            return RESULT_BAD_ARGUMENT
        fork_s = self.model.fork_time_s
        phases: list[tuple[Phase, float, tuple[float, float]]] = []
        if src.kind != LOC_CRANE:
            phases += [(Phase.TO_SOURCE, self._travel_s((self.x_m, self.y_m), src_xy), src_xy),
                       (Phase.PICK, fork_s, src_xy)]
        phases += [(Phase.TO_TARGET, self._travel_s(src_xy, dst_xy), dst_xy),
                   (Phase.PLACE, fork_s, dst_xy)]
        self.moves_accepted += 1
        plan = next((f for f in self.faults if f.command == self.moves_accepted), None)
        self._active = _Active(seq, telegram, phases, (self.x_m, self.y_m), fault=plan)
        self.state, self.active_seq = STATE_BUSY, seq
        if src.kind == LOC_CRANE:
            self.load_id = telegram.tote_id
        return RESULT_OK

    def _travel_s(self, a: tuple[float, float], b: tuple[float, float]) -> float:
        return float(self.kinematics.move_time_s(a[0], a[1], b[0], b[1]))

    def advance(self, dt_s: float) -> None:
        """Move on by dt_s of simulated time; phases complete in order, a planned fault stops it."""
        a = self._active
        while a is not None and self.state == STATE_BUSY and dt_s >= 0.0:
            phase, duration_s, end_xy = a.phases[a.index]
            if a.fault and a.fault.phase == phase and a.elapsed_s + dt_s >= duration_s / 2:
                self._place_along(a, 0.5)
                self.state, self.fault_code, self.fault_seq = STATE_FAULT, a.fault.code, a.seq
                return
            if a.elapsed_s + dt_s < duration_s:
                a.elapsed_s += dt_s
                self._place_along(a, a.elapsed_s / max(duration_s, 1e-9))
                return
            dt_s -= duration_s - a.elapsed_s
            a.elapsed_s = 0.0
            self.x_m, self.y_m = end_xy
            a.start_xy = end_xy
            if phase == Phase.PICK:
                self.load_on_forks, self.load_id = True, a.telegram.tote_id
            elif phase == Phase.PLACE:
                self.load_on_forks, self.load_id = False, ""
            a.index += 1
            if a.index == len(a.phases):
                self.state, self.done_seq, self._active = STATE_IDLE, a.seq, None
                return

    def next_event_s(self) -> float:
        """Simulated time until the current phase ends (or its planned fault); 0 when idle."""
        a = self._active
        if a is None or self.state != STATE_BUSY:
            return 0.0
        phase, duration_s, _ = a.phases[a.index]
        end_s = duration_s / 2 if a.fault and a.fault.phase == phase else duration_s
        return max(end_s - a.elapsed_s, 0.0)

    def _place_along(self, a: _Active, fraction: float) -> None:
        """Linear interpolation of the reported position (the time model is the kinematics)."""
        _, _, end = a.phases[a.index]
        f = min(max(fraction, 0.0), 1.0)
        self.x_m = a.start_xy[0] + (end[0] - a.start_xy[0]) * f
        self.y_m = a.start_xy[1] + (end[1] - a.start_xy[1]) * f

    def status(self) -> CraneStatus:
        return CraneStatus(self.state, self.active_seq, self.done_seq, self.fault_code,
                           self.load_on_forks, max(0, round(self.x_m * 100)), max(0, round(self.y_m * 100)),
                           self.fault_seq, self.moves_accepted)
