"""Sorter control: scan -> lane decision -> divert write before the deadline; confirmations
reconciled by tracking id (sorted, missorted, recirculated, rejected, lost)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fleet_manager.events import EventBus
from fleet_manager.sortation import LaneAssigner, LaneDecision
from plc_bridge import codes
from plc_bridge.config import SorterSetup
from plc_bridge.mailbox import CommandTimeout, Mailbox
from plc_bridge.register_map import Block, decode_ascii
from plc_bridge.rings import RingReader
from plc_bridge.tasks import cancel_and_wait
from plc_bridge.transport import PlcExceptionResponse


@dataclass
class TrackedItem:
    tracking_id: int
    barcode: str
    decision: LaneDecision
    seen_s: float  # perf_counter when the bridge saw the scan
    written_s: float | None = None  # perf_counter when the divert write was answered
    result: str = "pending"  # pending | ok | too_late | refused | failed | timeout


class SorterController:
    """Owns the scan and confirmation rings and the divert mailbox of one sorter."""

    def __init__(
        self,
        setup: SorterSetup,
        assigner: LaneAssigner,
        divert_box: Mailbox,
        scans: Block,
        confirms: Block,
        bus: EventBus,
        clock: Callable[[], float] = time.time,
        alarm: Callable[..., None] | None = None,
    ) -> None:
        self.setup = setup
        self.assigner = assigner
        self.divert_box = divert_box
        self.bus = bus
        self.clock = clock
        self.alarm = alarm or (lambda kind, **data: bus.emit("alarm", kind, clock(), **data))
        self.barcode_words = scans.params["barcode_words"]
        self.scan_ring = RingReader(scans, 1 + self.barcode_words)
        self.confirm_ring = RingReader(confirms, 2)
        self.lane_numbers = setup.lane_numbers
        self.items: dict[int, TrackedItem] = {}
        self.queue: asyncio.Queue[TrackedItem] = asyncio.Queue()
        self.counters: Counter[str] = Counter()
        self.latency_ms: deque[float] = deque(maxlen=100000)  # scan seen -> divert written
        loop_s = setup.conveyor.length_m / setup.conveyor.speed_mps
        self.lost_after_s = loop_s * 6 + 10.0  # no confirmation for this long: the item is lost
        self._worker: asyncio.Task | None = None

    async def start(self) -> None:
        if self._worker is None:
            self._worker = asyncio.create_task(self._divert_worker(), name="sorter-diverts")

    async def stop(self) -> None:
        await cancel_and_wait(self._worker)
        self._worker = None

    # ---- from the poll -----------------------------------------------------------------------
    def on_poll(self, scans: list[int], confirms: list[int]) -> None:
        """Called with the current words of both rings after every poll."""
        now = time.perf_counter()
        read = self.scan_ring.take(scans)
        self._ring_trouble("scans", read.lost, read.restarted)
        for entry in read.entries:
            self._on_scan(entry[0], decode_ascii(entry[1:]) or codes.NOREAD, now)
        read = self.confirm_ring.take(confirms)
        self._ring_trouble("confirms", read.lost, read.restarted)
        for tracking_id, lane in read.entries:
            self._on_confirm(tracking_id, lane)
        self._sweep_lost(now)

    def tracked_positions(self, now: float | None = None) -> list[dict[str, Any]]:
        """Where each scanned, not yet confirmed item should be on the belt now (metres along
        the conveyor), from its scan time and the belt speed: the WCS's view of the items it
        tracks, not a PLC reading. Items not yet past the scanner are unknown to the WCS."""
        now = time.perf_counter() if now is None else now
        conveyor, scanner_m = self.setup.conveyor, self.setup.sorter.scanner_position_m
        length_m = conveyor.length_m
        out: list[dict[str, Any]] = []
        for item in list(self.items.values()):  # the bridge's thread may be adding items
            position_m = scanner_m + conveyor.speed_mps * max(0.0, now - item.seen_s)
            if conveyor.loop and length_m > 0:
                position_m %= length_m
            elif position_m > length_m:
                continue  # past the end of a straight belt: no longer on it
            out.append(
                {
                    "conveyor_id": conveyor.id,
                    "position_m": round(position_m, 2),
                    "tracking_id": item.tracking_id,
                    "lane": item.decision.lane,
                }
            )
        return out

    def _ring_trouble(self, ring: str, lost: int, restarted: bool) -> None:
        if lost:
            self.counters[f"{ring}_lost"] += lost
            self.alarm(
                "plc_ring_overrun",
                ring=ring,
                lost=lost,
                register=self.scan_ring.block.field_name(0)
                if ring == "scans"
                else self.confirm_ring.block.field_name(0),
            )
        if restarted:
            self.counters[f"{ring}_ring_restarts"] += 1

    def _on_scan(self, tracking_id: int, barcode: str, now: float) -> None:
        previous = self.items.pop(tracking_id, None)
        if previous is not None:
            # A recirculated item comes past the scanner again: it was counted as in flight
            # to its old lane, which it never reached.
            self.assigner.confirmed(previous.decision.lane, None, previous.decision.order_id)
        decision = self.assigner.decide(barcode)
        item = TrackedItem(tracking_id, barcode, decision, now)
        self.items[tracking_id] = item
        self.counters["scanned"] += 1
        self.bus.emit(
            "sort",
            "scanned",
            self.clock(),
            tracking_id=tracking_id,
            barcode=barcode,
            lane=decision.lane,
            reason=decision.reason,
            order_id=decision.order_id,
        )
        self.queue.put_nowait(item)

    def _on_confirm(self, tracking_id: int, lane_number: int) -> None:
        item = self.items.get(tracking_id)
        actual = self.setup.lane_by_number(lane_number)
        actual_id = actual.id if actual else None
        if lane_number and actual is None:
            self.counters["unknown_lane_number"] += 1
            self.alarm(
                "plc_unknown_lane",
                lane_number=lane_number,
                tracking_id=tracking_id,
                register=self.confirm_ring.block.field_name(0),
            )
            return
        if item is None:
            self.counters["unknown_confirm"] += 1
            self.bus.emit(
                "sort",
                "unknown_confirmation",
                self.clock(),
                tracking_id=tracking_id,
                lane=actual_id,
            )
            return
        decided = item.decision.lane
        if actual_id is None:
            if self.setup.conveyor.loop:
                outcome = "recirculated"  # stays tracked: it will be scanned again
            else:
                outcome = "rejected"
                del self.items[tracking_id]
                self.assigner.confirmed(decided, None, item.decision.order_id)
        else:
            del self.items[tracking_id]
            self.assigner.confirmed(decided, actual_id, item.decision.order_id)
            if actual_id == decided:
                outcome = "sorted"
            elif actual.role == "reject":
                outcome = "rejected"  # the PLC sent it to reject by itself (e.g. too many laps)
            else:
                outcome = "missorted"
                self.alarm(
                    "missort",
                    tracking_id=tracking_id,
                    barcode=item.barcode,
                    decided=decided,
                    actual=actual_id,
                )
        self.counters[outcome] += 1
        if actual is not None and actual.role == "reject" and outcome == "sorted":
            self.counters["rejected"] += 1
        self.bus.emit(
            "sort",
            outcome,
            self.clock(),
            tracking_id=tracking_id,
            barcode=item.barcode,
            decided=decided,
            actual=actual_id,
            divert_result=item.result,
        )

    def _sweep_lost(self, now: float) -> None:
        for tracking_id, item in list(self.items.items()):
            if now - item.seen_s > self.lost_after_s:
                del self.items[tracking_id]
                self.assigner.confirmed(item.decision.lane, None, item.decision.order_id)
                self.counters["lost"] += 1
                self.alarm(
                    "item_lost",
                    tracking_id=tracking_id,
                    barcode=item.barcode,
                    lane=item.decision.lane,
                )

    # ---- divert writes -----------------------------------------------------------------------
    async def _divert_worker(self) -> None:
        while True:
            item = await self.queue.get()
            if self.items.get(item.tracking_id) is not item:
                continue  # re-scanned (or lost) meanwhile: a newer decision supersedes
            try:
                await self._write_divert(item)
            except Exception as exc:  # noqa: BLE001 - one bad item must not stop the sorter
                item.result = "failed"
                self.counters["divert_failed"] += 1
                self.alarm("divert_error", tracking_id=item.tracking_id, message=repr(exc))

    async def _write_divert(self, item: TrackedItem) -> None:
        lane_no = self.lane_numbers[item.decision.lane]
        budget_s = self.setup.divert_deadline_s(item.decision.lane)
        remaining_s = budget_s - (time.perf_counter() - item.seen_s)
        if remaining_s <= 0:
            item.result = "too_late"
            self.counters["divert_too_late"] += 1
            self.alarm(
                "divert_deadline_missed", tracking_id=item.tracking_id, lane=item.decision.lane
            )
            return
        try:
            result = await self.divert_box.send(
                codes.DIVERT, [item.tracking_id, lane_no], deadline_s=remaining_s
            )
        except CommandTimeout:
            item.result = "timeout"
            self.counters["divert_timeout"] += 1
            self.alarm("divert_timeout", tracking_id=item.tracking_id, lane=item.decision.lane)
            return
        except PlcExceptionResponse as exc:
            item.result = "failed"
            self.counters["divert_failed"] += 1
            self.alarm(
                "plc_exception",
                register=exc.register,
                exception_code=exc.exception_code,
                message=str(exc),
                tracking_id=item.tracking_id,
            )
            return
        item.written_s = result.written_at_s or time.perf_counter()
        self.latency_ms.append((item.written_s - item.seen_s) * 1000.0)
        item.result = {1: "ok", 5: "too_late", 4: "refused"}.get(result.result, "failed")
        self.counters[f"divert_{item.result}"] += 1
        self.bus.emit(
            "sort",
            "divert_written",
            self.clock(),
            tracking_id=item.tracking_id,
            lane=item.decision.lane,
            result=result.result_name,
            latency_ms=round(self.latency_ms[-1], 3),
        )
