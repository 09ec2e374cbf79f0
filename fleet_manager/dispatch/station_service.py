"""Station service: pile-on reservations on arrival, scan-confirmed picks, restocks, exceptions."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from fleet_manager.dispatch.events import Events
from fleet_manager.dispatch.present import is_presentation
from fleet_manager.dispatch.records import CommandRejected, Phase, RobotRecord
from fleet_manager.dispatch.state import FloorState
from fleet_manager.domain import NodeId, OrderState, PodId, SlotId, TaskKind, TaskState
from fleet_manager.inventory import ScanEvent

Scanner = Callable[[dict[str, Any], str, str, float], ScanEvent]  # pick, pod, station, now
SIMULATED_OPERATOR = "simulated_operator"
CONFIRM_MODES = (SIMULATED_OPERATOR, "api", "scanner")


def perfect_scanner(pick: dict[str, Any], pod: str, station: str, now_s: float) -> ScanEvent:
    """A picker who always takes exactly what was asked."""
    return ScanEvent(pick["sku"], pick["qty"], pod, station, now_s)


class StationService:
    """What happens while a robot's pod stands at a station's pick cell.

    `restock_on_visit(rec, payload)` may add a refill to the visit; `return_slot(pod, node)`
    reserves the slot the pod goes back to (both from the G2P planner).
    """

    def __init__(
        self,
        floor: FloorState,
        events: Events,
        *,
        scanner: Scanner,
        restock_s_per_unit: float,
        restock_on_visit: Callable[[RobotRecord, dict[str, Any]], None],
        return_slot: Callable[[PodId, NodeId], SlotId],
    ):
        self.floor = floor
        self.events = events
        self.scanner = scanner
        self.restock_s_per_unit = restock_s_per_unit
        self.restock_on_visit = restock_on_visit
        self.return_slot = return_slot

    def begin(self, rec: RobotRecord) -> None:
        f = self.floor
        task = f.tasks[rec.task_id]
        station = f.stations[rec.station_id]
        pod = f.pods[rec.pod_id]
        if not is_presentation(task):  # a presentation holds the pod untouched (cycle count)
            self._pile_on(task.payload, station.id, pod.id)
            self.restock_on_visit(rec, task.payload)
        units = sum(p["qty"] for p in task.payload["picks"])
        restock = sum(task.payload.get("restock", {}).values())
        rec.service_left_s = (
            units * station.spec.pick_time_s_per_unit
            + restock * self.restock_s_per_unit
            + float(task.payload.get("hold_s", 0.0))
        )
        if station.confirm != SIMULATED_OPERATOR:
            rec.service_left_s = math.inf  # the visit ends when someone confirms it
        rec.phase = Phase.SERVICE
        station.serving_robot = rec.id
        pod.visits += 1
        f.kpi.on_visit()
        f.bus.emit(
            "station",
            "pod_arrived",
            f.now_s,
            station_id=station.id,
            robot_id=rec.id,
            pod_id=pod.id,
            units=units,
            confirm=station.confirm,
        )

    def confirm(self, station_id: str, pod_id: str) -> dict[str, Any]:
        """The operator (WMS, terminal, scanner) confirms the visit of the pod presented now:
        its picks are booked as planned and the pod leaves. CommandRejected names what is
        wrong when this pod is not the one presented, or not yet standing still."""
        f = self.floor
        station = f.stations[station_id]
        rec = f.robots.get(station.serving_robot) if station.serving_robot else None
        presented = rec.pod_id if rec is not None and rec.phase == Phase.SERVICE else None
        if presented != pod_id:
            raise CommandRejected(
                f"station {station_id}: pod {pod_id} is not presented "
                f"(presented now: {presented or 'none'})"
            )
        assert rec is not None and rec.task_id is not None
        if rec.status.busy:
            raise CommandRejected(f"station {station_id}: pod {pod_id} is still being set down")
        task = f.tasks[rec.task_id]
        picks = [dict(p) for p in task.payload["picks"]]
        self.finish(rec)
        return {"station_id": station_id, "pod_id": pod_id, "task_id": task.id, "picks": picks}

    def _pile_on(self, payload: dict[str, Any], station_id: str, pod_id: str) -> None:
        """Serve every other open, unreserved line of the station's orders this pod can."""
        f = self.floor
        inv = f.inventory
        for oid in f.stations[station_id].order_ids:
            order = f.orders[oid]
            for i, line in enumerate(order.lines):
                free = line.open_quantity - f.line_reserved.get((oid, i), 0)
                qty = min(free, inv.available(pod_id, line.sku))
                if qty > 0:
                    inv.reserve(pod_id, line.sku, qty)
                    f.line_reserved[(oid, i)] = f.line_reserved.get((oid, i), 0) + qty
                    payload["picks"].append({"order": oid, "line": i, "sku": line.sku, "qty": qty})

    def finish(self, rec: RobotRecord) -> None:
        f = self.floor
        task = f.tasks[rec.task_id]
        station = f.stations[rec.station_id]
        pod_id = rec.pod_id
        touched: set[str] = set()
        for pick in task.payload["picks"]:
            self._confirm(pick, pod_id, station.id)
            touched.add(pick["order"])
        for sku, qty in task.payload.get("restock", {}).items():
            f.inventory.add_stock(pod_id, sku, qty)
        for rid in task.payload.pop("replenish_tasks", []):
            self.events.transition(f.tasks[rid], TaskState.DONE, "restocked", rec.id)
        task.payload["picks_done"] = True
        for oid in sorted(touched):
            self._maybe_done(oid)
        station.serving_robot = None
        station.inbound.discard(task.id)
        station.dirty = True
        rec.slot_id = self.return_slot(pod_id, station.spec.node)
        rec.phase, rec.goal = Phase.TO_SLOT, f.site.slots[rec.slot_id].node
        f.bus.emit(
            "station", "pod_left", f.now_s, station_id=station.id, robot_id=rec.id, pod_id=pod_id
        )

    def _confirm(self, pick: dict[str, Any], pod_id: str, station_id: str) -> None:
        f = self.floor
        oid, i, sku, qty = pick["order"], pick["line"], pick["sku"], pick["qty"]
        key = (oid, i)
        f.line_reserved[key] = f.line_reserved.get(key, 0) - qty
        order = f.orders.get(oid)
        if order is None or order.state in (
            OrderState.CANCELLED,
            OrderState.DONE,
            OrderState.FAILED,
        ):
            f.inventory.release(pod_id, sku, qty)
            return
        scan = self.scanner(pick, pod_id, station_id, f.now_s)
        result = f.inventory.confirm_pick(pod_id, sku, qty, scan)
        line = order.lines[i]
        line.picked += result.picked
        f.kpi.on_units(station_id, result.picked)
        data = {
            "order_id": oid,
            "line": i,
            "sku": sku,
            "expected": qty,
            "picked": result.picked,
            "scanned_sku": scan.sku,
            "scanned_qty": scan.quantity,
            "pod_id": pod_id,
            "station_id": station_id,
        }
        if result.mismatch is None:
            f.bus.emit("pick", "confirmed", f.now_s, **data)
            return
        f.kpi.mismatches += 1
        f.bus.emit("pick", result.mismatch, f.now_s, **data)
        self.events.new_task(
            TaskKind.EXCEPTION, {"reason": result.mismatch, **data}, priority=5, order_id=oid
        )
        f.alarms.raise_alarm(
            f"station:{station_id}",
            result.mismatch,
            "warning",
            f"{result.mismatch} at station {station_id}: order {oid} line {i} "
            f"expected {qty} x {sku} from pod {pod_id}, scanned {scan.quantity} x {scan.sku}",
        )

    def _maybe_done(self, oid: str) -> None:
        f = self.floor
        order = f.orders[oid]
        if order.state not in (OrderState.OPEN, OrderState.IN_PROGRESS):
            return
        if order.open_units > 0:
            self.events.order_event(order, "progress")
            return
        order.state, order.done_s = OrderState.DONE, f.now_s
        if order.station_id and oid in f.stations[order.station_id].order_ids:
            f.stations[order.station_id].order_ids.remove(oid)
        f.kpi.on_order_done(order, f.now_s)
        self.events.order_event(order, "done")
