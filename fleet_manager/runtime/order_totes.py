"""Order totes: items of a completed order get barcodes, the sort plan, and an induct order.

When an order is complete at its station, each picked unit becomes an item with a barcode the
WCS assigns (`item_barcodes`) and reports to the WMS (`order` event `labelled`). The sorter
bridge plans them (barcode -> order -> lane) and sends the PLC one induct transport order per
item; when every item of the order has reached its lane, the lane is free for the next order.
Runs on the bridge's event loop, except `label` (control thread).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Callable
from typing import Any

from fleet_manager.events import Event
from fleet_manager.sortation import LaneAssigner
from plc_bridge import codes
from plc_bridge.register_map import encode_ascii

log = logging.getLogger(__name__)
BARCODE_CHARS = 2 * codes.INDUCT_BARCODE_WORDS  # 12
MAX_ITEMS = 99  # two digits of item number


def item_barcodes(order_id: str, units: int) -> list[str]:
    """`units` barcodes of 12 characters: the order id's letters and digits (or a digest of
    them when longer than 10) and a two-digit item number."""
    stem = re.sub(r"[^A-Za-z0-9]", "", order_id).upper()
    if len(stem) > BARCODE_CHARS - 2 or not stem:
        stem = hashlib.blake2s(order_id.encode(), digest_size=8).hexdigest()[:10].upper()
    return [f"{stem}{k:02d}" for k in range(1, min(units, MAX_ITEMS) + 1)]


class OrderTotes:
    """`label(order_id, units)` on the control thread; the rest on the bridge loop.

    `service()` gives the bridge (its assigner and command mailbox), `report(event)` hands an
    event to the control thread, `induct_point` is the station outfeed's induct point number.
    """

    def __init__(
        self,
        service: Callable[[], Any],
        loop: Callable[[], asyncio.AbstractEventLoop | None],
        report: Callable[[Event], None],
        induct_point: int = 1,
    ) -> None:
        self.service = service
        self.loop = loop
        self.report = report
        self.induct_point = induct_point
        self.expected: dict[str, int] = {}  # order -> items planned, until all are in a lane
        self.labelled = 0
        # barcode -> (sort task, lane asked for): WMS sort tasks the PLC runs
        self.task_of: dict[str, tuple[str, str | None]] = {}

    def label(self, order_id: str, units: int, now_s: float) -> list[str]:
        """An order is complete at its station: barcode its items and send them on."""
        barcodes = item_barcodes(order_id, units)
        loop = self.loop()
        if not barcodes or loop is None:
            return []
        self.labelled += 1
        self.report(Event("order", "labelled", now_s, {"order_id": order_id,
                                                        "barcodes": barcodes}))
        loop.call_soon_threadsafe(self._plan, order_id, barcodes)
        return barcodes

    def sort_task(self, task_id: str, barcode: str, lane_id: str | None) -> None:
        """A WMS sort task for one item (control thread): plan it (to `lane_id` if given),
        announce it; its sort event completes the task."""
        loop = self.loop()
        if loop is not None:
            loop.call_soon_threadsafe(self._plan_task, task_id, barcode, lane_id)

    # ---- bridge loop ----------------------------------------------------------------------
    def _plan_task(self, task_id: str, barcode: str, lane_id: str | None) -> None:
        assigner: LaneAssigner | None = getattr(self.service(), "assigner", None)
        if assigner is None:
            return
        if lane_id is not None:
            assigner.order_lane[task_id] = lane_id  # the WMS chose the lane
        self.task_of[barcode] = (task_id, lane_id)
        self._plan(task_id, [barcode])

    def _plan(self, order_id: str, barcodes: list[str]) -> None:
        service = self.service()
        assigner: LaneAssigner | None = getattr(service, "assigner", None)
        if assigner is None:
            return
        for barcode in barcodes:
            try:
                assigner.plan.add(barcode, order_id)
            except ValueError as exc:  # a barcode of a live order: that tote is not inducted
                self.report(Event("alarm", "raised", 0.0, {"code": "sort_plan_clash",
                                                           "message": str(exc)}))
                continue
            self.expected[order_id] = self.expected.get(order_id, 0) + 1
            asyncio.ensure_future(self._induct(service, barcode))

    async def _induct(self, service: Any, barcode: str) -> None:
        args = [self.induct_point, *encode_ascii(barcode, codes.INDUCT_BARCODE_WORDS)]
        try:
            result = await service.command(codes.CMD_INDUCT, args)
        except Exception as exc:  # noqa: BLE001 - the item is reported, the bridge goes on
            result = None
            log.warning("induct of %s failed: %s", barcode, exc)
        if result is None or not result.ok:
            self.report(Event("alarm", "raised", 0.0, {
                "code": "induct_refused", "barcode": barcode,
                "message": f"the PLC did not take the transport order for item {barcode}"}))

    def on_sort_event(self, event: Event) -> None:
        """A sort outcome (bridge loop): once every item of an order is in a lane, release it."""
        if event.topic != "sort" or event.kind not in ("sorted", "rejected", "missorted"):
            return
        service = self.service()
        assigner: LaneAssigner | None = getattr(service, "assigner", None)
        barcode = str(event.data.get("barcode", ""))
        sort_task = self.task_of.pop(barcode, None)
        if sort_task is not None:  # a WMS sort task: its outcome is the task's
            task_id, asked = sort_task
            actual = event.data.get("actual")
            ok = event.kind == "sorted" and asked in (None, actual)
            self.report(Event("task", "device_outcome", 0.0, {
                "task_id": task_id, "ok": ok,
                "reason": f"item {barcode} {event.kind} to lane {actual}"}))
        order_id = assigner.plan.order_of(barcode) if assigner is not None else None
        if order_id is None or order_id not in self.expected:
            return
        assigner.plan.items.pop(barcode, None)
        self.expected[order_id] -= 1
        if self.expected[order_id] <= 0:
            del self.expected[order_id]
            assigner.release_order(order_id)
