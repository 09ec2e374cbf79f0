"""Station service: pile-on reservations on arrival, scan-confirmed picks, restocks, exceptions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fleet_manager.dispatch_present import is_presentation
from fleet_manager.dispatch_state import Phase, RobotRecord
from fleet_manager.domain import OrderState, TaskKind, TaskState

if TYPE_CHECKING:
    from fleet_manager.dispatch import Dispatcher


class StationService:
    """What happens while a robot's pod stands at a station's pick cell."""

    def __init__(self, d: Dispatcher):
        self.d = d

    def begin(self, rec: RobotRecord) -> None:
        d = self.d
        task = d.tasks[rec.task_id]
        station = d.stations[rec.station_id]
        pod = d.pods[rec.pod_id]
        if not is_presentation(task):  # a presentation holds the pod untouched (cycle count)
            self._pile_on(task.payload, station.id, pod.id)
            d.g2p.restock_on_visit(rec, task.payload)
        units = sum(p["qty"] for p in task.payload["picks"])
        restock = sum(task.payload.get("restock", {}).values())
        rec.service_left_s = (
            units * station.spec.pick_time_s_per_unit
            + restock * d.config.restock_s_per_unit
            + float(task.payload.get("hold_s", 0.0))
        )
        rec.phase = Phase.SERVICE
        station.serving_robot = rec.id
        pod.visits += 1
        d.kpi.on_visit()
        d.bus.emit(
            "station",
            "pod_arrived",
            d.now_s,
            station_id=station.id,
            robot_id=rec.id,
            pod_id=pod.id,
            units=units,
        )

    def _pile_on(self, payload: dict[str, Any], station_id: str, pod_id: str) -> None:
        """Serve every other open, unreserved line of the station's orders this pod can."""
        d = self.d
        inv = d.inventory
        for oid in d.stations[station_id].order_ids:
            order = d.orders[oid]
            for i, line in enumerate(order.lines):
                free = line.open_quantity - d.line_reserved.get((oid, i), 0)
                qty = min(free, inv.available(pod_id, line.sku))
                if qty > 0:
                    inv.reserve(pod_id, line.sku, qty)
                    d.line_reserved[(oid, i)] = d.line_reserved.get((oid, i), 0) + qty
                    payload["picks"].append({"order": oid, "line": i, "sku": line.sku, "qty": qty})

    def finish(self, rec: RobotRecord) -> None:
        d = self.d
        task = d.tasks[rec.task_id]
        station = d.stations[rec.station_id]
        pod_id = rec.pod_id
        touched: set[str] = set()
        for pick in task.payload["picks"]:
            self._confirm(pick, pod_id, station.id)
            touched.add(pick["order"])
        for sku, qty in task.payload.get("restock", {}).items():
            d.inventory.add_stock(pod_id, sku, qty)
        for rid in task.payload.pop("replenish_tasks", []):
            d.transition(d.tasks[rid], TaskState.DONE, "restocked", rec.id)
        task.payload["picks_done"] = True
        for oid in sorted(touched):
            self._maybe_done(oid)
        station.serving_robot = None
        station.inbound.discard(task.id)
        station.dirty = True
        rec.slot_id = d.g2p.return_slot(pod_id, station.spec.node)
        rec.phase, rec.goal = Phase.TO_SLOT, d.site.slots[rec.slot_id].node
        d.bus.emit(
            "station", "pod_left", d.now_s, station_id=station.id, robot_id=rec.id, pod_id=pod_id
        )

    def _confirm(self, pick: dict[str, Any], pod_id: str, station_id: str) -> None:
        d = self.d
        oid, i, sku, qty = pick["order"], pick["line"], pick["sku"], pick["qty"]
        key = (oid, i)
        d.line_reserved[key] = d.line_reserved.get(key, 0) - qty
        order = d.orders.get(oid)
        if order is None or order.state in (
            OrderState.CANCELLED,
            OrderState.DONE,
            OrderState.FAILED,
        ):
            d.inventory.release(pod_id, sku, qty)
            return
        scan = d.scanner(pick, pod_id, station_id, d.now_s)
        result = d.inventory.confirm_pick(pod_id, sku, qty, scan)
        line = order.lines[i]
        line.picked += result.picked
        d.kpi.on_units(station_id, result.picked)
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
            d.bus.emit("pick", "confirmed", d.now_s, **data)
            return
        d.kpi.mismatches += 1
        d.bus.emit("pick", result.mismatch, d.now_s, **data)
        d.new_task(
            TaskKind.EXCEPTION, {"reason": result.mismatch, **data}, priority=5, order_id=oid
        )
        d.alarms.raise_alarm(
            f"station:{station_id}",
            result.mismatch,
            "warning",
            f"{result.mismatch} at station {station_id}: order {oid} line {i} "
            f"expected {qty} x {sku} from pod {pod_id}, scanned {scan.quantity} x {scan.sku}",
        )

    def _maybe_done(self, oid: str) -> None:
        d = self.d
        order = d.orders[oid]
        if order.state not in (OrderState.OPEN, OrderState.IN_PROGRESS):
            return
        if order.open_units > 0:
            d.order_event(order, "progress")
            return
        order.state, order.done_s = OrderState.DONE, d.now_s
        if order.station_id and oid in d.stations[order.station_id].order_ids:
            d.stations[order.station_id].order_ids.remove(oid)
        d.kpi.on_order_done(order, d.now_s)
        d.order_event(order, "done")
