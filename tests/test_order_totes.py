"""Order totes: barcodes per picked unit, planned for the sorter, released once all are sorted."""

from __future__ import annotations

import asyncio

from fleet_manager.events import Event
from fleet_manager.runtime.order_totes import OrderTotes, item_barcodes
from fleet_manager.site import default_map_path, load_site
from fleet_manager.sortation import LaneAssigner
from plc_bridge import codes
from plc_bridge.register_map import decode_ascii


def test_barcodes_are_twelve_characters_and_unique_per_item() -> None:
    assert item_barcodes("WO-00000042", 3) == ["WO0000004201", "WO0000004202", "WO0000004203"]
    long = item_barcodes("an order id far longer than ten", 2)
    assert all(len(b) == 12 for b in long) and long[0][:10] == long[1][:10]
    assert item_barcodes("x-1", 0) == []
    assert len(item_barcodes("WO-1", 500)) == 99  # two digits of item number


class _Bridge:
    """The two things OrderTotes asks of the PLC bridge: its lane assigner and its mailbox."""

    def __init__(self) -> None:
        lanes = load_site(default_map_path()).sorters["SRT1"].lanes
        self.assigner = LaneAssigner(lanes)
        self.sent: list[tuple[int, list[int]]] = []

    async def command(self, code: int, args: list[int]):  # type: ignore[no-untyped-def]
        self.sent.append((code, list(args)))
        return type("Ack", (), {"ok": True})()


def test_an_order_is_planned_inducted_and_released_after_its_last_item() -> None:
    bridge = _Bridge()
    reported: list[Event] = []
    loop = asyncio.new_event_loop()
    try:
        totes = OrderTotes(lambda: bridge, lambda: loop, reported.append, induct_point=1)
        barcodes = totes.label("WO-00000007", 2, 12.5)
        loop.call_soon(loop.stop)
        loop.run_forever()  # the plan callback
        loop.run_until_complete(asyncio.sleep(0.01))  # the induct commands
    finally:
        loop.close()
    assert [(e.topic, e.kind, e.data["barcodes"]) for e in reported] == [
        ("order", "labelled", barcodes)]
    assert [bridge.assigner.plan.order_of(b) for b in barcodes] == ["WO-00000007"] * 2
    assert [(c, decode_ascii(a[1:7])) for c, a in bridge.sent] == [
        (codes.CMD_INDUCT, b) for b in barcodes]
    decision = bridge.assigner.decide(barcodes[0])
    assert decision.reason == "order"
    lane = decision.lane
    assert bridge.assigner.decide(barcodes[1]).lane == lane  # one lane per order
    totes.on_sort_event(Event("sort", "sorted", 13.0, {"barcode": barcodes[0]}))
    assert bridge.assigner.order_lane.get("WO-00000007") == lane  # one item still to come
    totes.on_sort_event(Event("sort", "sorted", 14.0, {"barcode": barcodes[1]}))
    assert "WO-00000007" not in bridge.assigner.order_lane  # the lane is free again
    assert bridge.assigner.decide(barcodes[0]).reason == "reject_unknown"  # no live order
