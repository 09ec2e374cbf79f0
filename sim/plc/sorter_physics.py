"""Sorter conveyor physics: induction, belt motion, scanner, diverts, lanes filling and emptying."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fleet_manager.sortation import NOREAD, demo_orders
from plc_bridge.config import SorterSetup
from plc_bridge.mailbox import RESULT_BAD_ARGUMENT, RESULT_OK, RESULT_REFUSED, RESULT_TOO_LATE


@dataclass(frozen=True)
class SimParams:
    """Simulated-PLC-only parameters (the `sim:` section of the PLC YAML)."""

    cycle_s: float = 0.005
    induction_rate_per_h: float = 10000.0  # generated stray/demo items; 0: only announced ones
    item_pitch_m: float = 0.6
    item_length_m: float = 0.4
    noread_rate: float = 0.01
    unknown_rate: float = 0.005
    orders: int = 400
    lane_empty_s: float = 20.0
    max_laps: int = 3
    photo_eyes_m: tuple[float, ...] = ()
    seed: int = 0

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> SimParams:
        known = set(cls.__dataclass_fields__)
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"sim: unknown field(s) {sorted(unknown)}")
        values = dict(raw)
        if "photo_eyes_m" in values:
            values["photo_eyes_m"] = tuple(float(v) for v in values["photo_eyes_m"])
        return cls(**values)


@dataclass
class Item:
    tracking_id: int
    barcode: str
    position_m: float
    lane: int = 0  # commanded lane number for this lap, 0 = none
    laps: int = 0
    scan_wall_s: float | None = None
    divert_wall_s: float | None = None


@dataclass
class PhysicsEvent:
    kind: str  # "scan" | "confirm"
    tracking_id: int
    barcode: str = ""
    lane: int = 0  # confirm: actual lane number, 0 = passed every divert


@dataclass
class SortRecord:
    tracking_id: int
    barcode: str
    lane: int
    commanded: int
    scan_to_divert_ms: float | None


@dataclass
class PhysicsStats:
    inducted: int = 0
    scans: int = 0
    diverted: int = 0
    missed: int = 0  # passed every divert (recirculates on a loop)
    forced_reject: int = 0  # too many laps: the PLC sent it to its reject lane by itself
    lane_blocked: int = 0  # commanded lane full or disabled at the divert
    records: list[SortRecord] = field(default_factory=list)


class SorterPhysics:
    """One belt (straight or loop) with a scanner and divert lanes, stepped by the PLC cycle."""

    def __init__(self, setup: SorterSetup, params: SimParams, first_tracking_id: int = 1) -> None:
        self.setup = setup
        self.params = params
        self.rng = np.random.default_rng(params.seed)
        self.speed_mps = setup.conveyor.speed_mps
        self.length_m = setup.conveyor.length_m
        self.loop = setup.conveyor.loop
        self.lanes = list(setup.sorter.lanes)
        self.lane_fill = [0] * len(self.lanes)
        self.lane_enabled = [True] * len(self.lanes)
        self.lane_full_since: list[float | None] = [None] * len(self.lanes)
        self.reject_number = next(
            (i + 1 for i, lane in enumerate(self.lanes) if lane.role == "reject"), 0
        )
        self.last_divert_m = max((lane.divert_position_m for lane in self.lanes), default=0.0)
        self.items: list[Item] = []
        self.announced: list[str] = []  # totes the WCS announced (CMD_INDUCT), not yet on the belt
        self.next_tracking_id = first_tracking_id
        self.running = False
        self.sim_time_s = 0.0
        self.next_arrival_s = 0.0
        self.backlog = 0
        orders = demo_orders(params.orders, params.seed)
        self.barcodes = [b for codes in orders.values() for b in codes]
        self.stats = PhysicsStats()

    # ---- commands --------------------------------------------------------------------------
    def announce(self, barcode: str) -> None:
        """A tote put on the belt at the induct point (its transport order came first)."""
        self.announced.append(barcode)

    def lane_number_ok(self, number: int) -> bool:
        return 1 <= number <= len(self.lanes)

    def divert(self, tracking_id: int, lane: int, now_wall_s: float) -> int:
        if lane != 0 and not self.lane_number_ok(lane):
            return RESULT_BAD_ARGUMENT
        item = next((it for it in self.items if it.tracking_id == tracking_id), None)
        if item is None:
            return RESULT_BAD_ARGUMENT
        if not self.running:
            return RESULT_REFUSED
        if lane:
            lead_m = self.speed_mps * self.setup.sorter.divert_time_s
            if item.position_m > self.lanes[lane - 1].divert_position_m - lead_m:
                return RESULT_TOO_LATE
        if item.divert_wall_s is None:
            item.divert_wall_s = now_wall_s
        item.lane = lane
        return RESULT_OK

    # ---- time step -------------------------------------------------------------------------
    def step(self, dt_s: float, now_wall_s: float) -> list[PhysicsEvent]:
        events: list[PhysicsEvent] = []
        self._empty_lanes()
        if not self.running:
            return events
        self.sim_time_s += dt_s
        self._induct()
        move_m = self.speed_mps * dt_s
        scanner = self.setup.sorter.scanner_position_m
        keep: list[Item] = []
        for item in self.items:
            before, after = item.position_m, item.position_m + move_m
            item.position_m = after
            if before < scanner <= after:
                events.append(self._scan(item, now_wall_s))
            if self._divert_crossing(item, before, after, events, now_wall_s):
                continue
            if before < self.last_divert_m <= after:
                self.stats.missed += 1
                events.append(PhysicsEvent("confirm", item.tracking_id, item.barcode, 0))
            if after >= self.length_m:
                if not self.loop:
                    continue  # ran off the end into the end-of-line chute (confirmed 0 above)
                item.position_m -= self.length_m
                item.laps += 1
                if item.laps > self.params.max_laps:
                    self.stats.forced_reject += 1
                    events.append(
                        PhysicsEvent("confirm", item.tracking_id, item.barcode, self.reject_number)
                    )
                    continue
            keep.append(item)
        self.items = keep
        return events

    def _induct(self) -> None:
        rate = self.params.induction_rate_per_h
        while rate > 0 and self.sim_time_s >= self.next_arrival_s:
            self.backlog += 1
            mean_s = 3600.0 / rate
            self.next_arrival_s += mean_s * float(self.rng.uniform(0.85, 1.15))
        last = min((it.position_m for it in self.items), default=None)
        if (self.announced or self.backlog) and (last is None or last >= self.params.item_pitch_m):
            if self.announced:  # announced totes first: they are physically waiting
                barcode = self.announced.pop(0)
            else:
                self.backlog -= 1
                barcode = self._draw_barcode()
            self.items.append(Item(self.next_tracking_id, barcode, 0.0))
            self.next_tracking_id = self.next_tracking_id % 0xFFFF + 1
            self.stats.inducted += 1

    def _draw_barcode(self) -> str:
        if self.rng.random() < self.params.unknown_rate:
            return f"X{int(self.rng.integers(0, 10**6)):06d}"
        return self.barcodes[int(self.rng.integers(0, len(self.barcodes)))]

    def _scan(self, item: Item, now_wall_s: float) -> PhysicsEvent:
        self.stats.scans += 1
        item.lane = 0  # every pass past the scanner needs a fresh decision
        item.scan_wall_s, item.divert_wall_s = now_wall_s, None
        read = NOREAD if self.rng.random() < self.params.noread_rate else item.barcode
        return PhysicsEvent("scan", item.tracking_id, read)

    def _divert_crossing(
        self, item: Item, before: float, after: float, events: list[PhysicsEvent], now: float
    ) -> bool:
        if not item.lane:
            return False
        index = item.lane - 1
        lane = self.lanes[index]
        if not before < lane.divert_position_m <= after:
            return False
        if not self.lane_enabled[index] or self.lane_fill[index] >= lane.capacity_items:
            self.stats.lane_blocked += 1
            return False
        self.lane_fill[index] += 1
        self.stats.diverted += 1
        latency = None
        if item.scan_wall_s is not None and item.divert_wall_s is not None:
            latency = (item.divert_wall_s - item.scan_wall_s) * 1000.0
        self.stats.records.append(
            SortRecord(item.tracking_id, item.barcode, item.lane, item.lane, latency)
        )
        events.append(PhysicsEvent("confirm", item.tracking_id, item.barcode, item.lane))
        return True

    def _empty_lanes(self) -> None:
        for i, lane in enumerate(self.lanes):
            if self.lane_fill[i] >= lane.capacity_items:
                since = self.lane_full_since[i]
                if since is None:
                    self.lane_full_since[i] = self.sim_time_s
                elif self.sim_time_s - since >= self.params.lane_empty_s:
                    self.lane_fill[i] = 0
                    self.lane_full_since[i] = None
            else:
                self.lane_full_since[i] = None

    # ---- sensors ---------------------------------------------------------------------------
    def photo_eyes(self, count: int) -> list[int]:
        half = self.params.item_length_m / 2
        eyes = list(self.params.photo_eyes_m)[:count]
        out = [int(any(abs(it.position_m - eye) <= half for it in self.items)) for eye in eyes]
        return out + [0] * (count - len(out))

    def zone_items(self, count: int) -> list[int]:
        per = [0] * count
        for item in self.items:
            per[min(count - 1, int(item.position_m / self.length_m * count))] += 1
        return per
