"""Dispatcher commands: order intake and changes, manual tasks, robot commands (all-or-nothing)."""

from __future__ import annotations

from typing import Any

from fleet_manager.dispatch.events import Events
from fleet_manager.dispatch.execute import Executor
from fleet_manager.dispatch.g2p import G2PPlanner
from fleet_manager.dispatch.present import Presentations, is_presentation
from fleet_manager.dispatch.records import CommandRejected, Phase, RobotRecord, UnknownResource
from fleet_manager.dispatch.recovery import LIFTED, PodRecovery
from fleet_manager.dispatch.state import FloorState
from fleet_manager.dispatch.station_service import CONFIRM_MODES
from fleet_manager.domain import Order, OrderState, Task, TaskKind, TaskState
from fleet_manager.inventory import IntakeError
from fleet_manager.traffic.graph import UNREACHABLE

ROBOT_COMMANDS = (
    "pause", "resume", "charge", "park", "out_of_service", "in_service", "clear_fault",
    "confirm_check",
)
MANUAL_KINDS = (TaskKind.PARK, TaskKind.CHARGE, TaskKind.EXCEPTION, TaskKind.POD_FETCH)
_CLOSED = (OrderState.DONE, OrderState.CANCELLED, OrderState.FAILED)


class Commands:
    """Commands from outside (API, operator): each validates fully before it changes anything."""

    def __init__(
        self,
        floor: FloorState,
        events: Events,
        planner: G2PPlanner,
        present: Presentations,
        executor: Executor,
        recovery: PodRecovery,
    ):
        self.floor = floor
        self.events = events
        self.g2p = planner
        self.present = present
        self.exec = executor
        self.recovery = recovery

    # ---- orders ---------------------------------------------------------------------------------
    def submit_order(self, order: Order) -> None:
        if not isinstance(order.id, str) or not order.id:
            raise IntakeError("id", "an order needs a non-empty string id")
        if order.id in self.floor.orders:
            raise IntakeError("id", f"order {order.id!r} already exists")
        if not isinstance(order.priority, int):
            raise IntakeError("priority", f"must be an integer, got {order.priority!r}")
        if any(line.picked != 0 for line in order.lines):
            raise IntakeError("lines", "a new order cannot have picked units")
        seen: dict[str, int] = {}
        for i, line in enumerate(order.lines):
            if line.sku in seen:
                raise IntakeError(
                    f"lines[{i}].sku",
                    f"SKU {line.sku} is already on line {seen[line.sku]}: "
                    "one line per SKU, with the whole quantity",
                )
            seen[line.sku] = i
        self.floor.inventory.check_order(order)
        if order.station_id is not None:
            self._check_station(order)
        order.state = OrderState.OPEN
        self.floor.orders[order.id] = order
        self.floor.inventory.commit_demand(order)
        self.g2p.pending.append(order.id)
        self.events.order_event(
            order,
            "accepted",
            lines=[{"sku": ln.sku, "quantity": ln.quantity} for ln in order.lines],
        )

    def _check_station(self, order: Order) -> None:
        """The station an order names must exist and reach a pod holding each SKU."""
        f = self.floor
        station = f.stations.get(order.station_id or "")
        if station is None:
            raise IntakeError("station_id", f"unknown pick station {order.station_id!r}")
        dist = f.graph.distances_to(station.spec.node)
        for i, line in enumerate(order.lines):
            pods = f.inventory.pods_with(line.sku)
            homes = [f.site.slots[f.pods[p].home].node for p in pods if p in f.pods]
            if not any(dist[node] < UNREACHABLE for node in homes):
                raise IntakeError(
                    f"lines[{i}].sku",
                    f"station {station.id} cannot reach any pod holding {line.sku}",
                )

    def _order(self, order_id: str) -> Order:
        order = self.floor.orders.get(order_id)
        if order is None:
            raise UnknownResource(f"unknown order id {order_id!r}")
        return order

    def cancel_order(self, order_id: str) -> None:
        order = self._order(order_id)
        if order.state in _CLOSED:
            raise CommandRejected(
                f"order {order_id}: cannot cancel, it is already {order.state.value}"
            )
        order.state = OrderState.CANCELLED
        if order_id in self.g2p.pending:
            self.g2p.pending.remove(order_id)
        if order.station_id and order_id in self.floor.stations[order.station_id].order_ids:
            self.floor.stations[order.station_id].order_ids.remove(order_id)
            self.floor.stations[order.station_id].dirty = True
        for line in order.lines:
            self.floor.inventory.release_demand(line.sku, line.open_quantity)
        for task in list(self.floor.tasks.values()):
            if (
                task.kind == TaskKind.POD_FETCH
                and not task.is_terminal
                and not task.payload.get("picks_done")
                and not is_presentation(task)  # holds no order lines: not the order's trip
            ):
                self._drop_picks(task, order_id)
        self.events.order_event(order, "cancelled")

    def _drop_picks(self, task: Task, order_id: str) -> None:
        """Release a cancelled order's reservations from a fetch that has not been picked yet."""
        rec = self.floor.robots.get(task.resource_id) if task.resource_id else None
        if rec is not None and rec.phase == Phase.SERVICE:
            return  # being picked now: the service skips cancelled orders' lines
        keep = []
        for p in task.payload["picks"]:
            if p["order"] == order_id:
                self.floor.inventory.release(task.payload["pod"], p["sku"], p["qty"])
                self.floor.line_reserved[(p["order"], p["line"])] -= p["qty"]
            else:
                keep.append(p)
        task.payload["picks"] = keep
        if not keep and not task.payload.get("restock"):
            self.cancel_task(task.id)  # after the lift too: the pod goes straight home

    def set_order_priority(self, order_id: str, priority: int) -> None:
        order = self._order(order_id)
        if not isinstance(priority, int) or isinstance(priority, bool):
            raise IntakeError("priority", f"must be an integer, got {priority!r}")
        if order.state in _CLOSED:
            raise CommandRejected(
                f"order {order_id}: cannot change priority, it is {order.state.value}"
            )
        order.priority = priority
        for task in self.floor.tasks.values():
            if not task.is_terminal and any(
                p.get("order") == order_id for p in task.payload.get("picks", [])
            ):
                task.priority = max(task.priority, priority)
        self.events.order_event(order, "priority")

    # ---- tasks ----------------------------------------------------------------------------------
    def submit_task(self, task: Task) -> None:
        if task.id in self.floor.tasks:
            raise IntakeError("id", f"task {task.id!r} already exists")
        if task.kind not in MANUAL_KINDS:
            raise IntakeError(
                "kind",
                f"{task.kind.value} tasks are created by the dispatcher; "
                f"submit one of {', '.join(k.value for k in MANUAL_KINDS)}",
            )
        if task.state != TaskState.QUEUED:
            raise IntakeError("state", "a submitted task must be queued")
        robot = task.payload.get("robot")
        if robot is not None and robot not in self.floor.robots:
            raise IntakeError("payload.robot", f"unknown robot id {robot!r}")
        spot = task.payload.get("spot")
        if spot is not None and spot not in self.floor.site.parking:
            raise IntakeError("payload.spot", f"unknown parking spot {spot!r}")
        if task.kind == TaskKind.CHARGE and not self.floor.site.chargers:
            raise IntakeError("kind", "the site has no chargers")
        if task.kind == TaskKind.PARK and not self.floor.site.parking:
            raise IntakeError("kind", "the site has no parking spots")
        if task.kind == TaskKind.POD_FETCH:
            self.present.accept(task)  # checks pod, station, hold_s first; then claims the pod
        self.events.add_task(task)

    def cancel_task(self, task_id: str) -> None:
        task = self.floor.tasks.get(task_id)
        if task is None:
            raise UnknownResource(f"unknown task id {task_id!r}")
        if task.is_terminal:
            raise CommandRejected(
                f"task {task_id}: cannot cancel, it is already {task.state.value}"
            )
        rec = self.floor.robots.get(task.resource_id) if task.resource_id else None
        pod = self.floor.pods.get(task.payload.get("pod", ""))
        if (
            task.kind in (TaskKind.POD_FETCH, TaskKind.REPLENISH)
            and pod is not None
            and pod.carried_by
        ):
            if rec is None or rec.task_id != task_id or rec.phase not in LIFTED:
                raise CommandRejected(
                    f"task {task_id}: its picks are done; the pod is on its way to storage"
                )
            self.recovery.cancel_lifted(rec, task, "cancelled by request")
            rec.status = rec.adapter.status()
            return
        if task.kind in (TaskKind.POD_FETCH, TaskKind.REPLENISH) and pod is not None:
            for p in task.payload.get("picks", []):
                self.floor.inventory.release(pod.id, p["sku"], p["qty"])
                self.floor.line_reserved[(p["order"], p["line"])] -= p["qty"]
                st = self.floor.stations.get(task.payload["station"])
                if st is not None:
                    st.dirty = True
            task.payload["picks"] = []
            pod.task_id = None
            self.floor.stations[task.payload["station"]].inbound.discard(task.id)
            self.present.withdraw(task)
            self.g2p.pod_released(pod.id)  # a starved station may want this pod now
        self.events.transition(task, TaskState.CANCELLED, "cancelled by request")
        if rec is not None and rec.task_id == task_id:
            if rec.status.charging:
                rec.adapter.stop_charging()
            self.exec.make_idle(rec)
            rec.status = rec.adapter.status()

    # ---- stations -------------------------------------------------------------------------------
    def set_station_confirm(self, station_id: str, mode: str) -> None:
        station = self.floor.stations.get(station_id)
        if station is None:
            raise UnknownResource(f"unknown station id {station_id!r}")
        if mode not in CONFIRM_MODES:
            raise CommandRejected(
                f"station {station_id}: confirm mode {mode!r} is not one of {', '.join(CONFIRM_MODES)}"
            )
        station.confirm = mode

    def confirm_station(self, station_id: str, pod_id: str) -> dict[str, Any]:
        if station_id not in self.floor.stations:
            raise UnknownResource(f"unknown station id {station_id!r}")
        result = self.exec.service.confirm(station_id, pod_id)
        rec = self.floor.robots.get(self.floor.pods[pod_id].carried_by or "")
        if rec is not None:
            rec.status = rec.adapter.status()
        return result

    # ---- robots ---------------------------------------------------------------------------------
    def robot(self, robot_id: str) -> RobotRecord:
        rec = self.floor.robots.get(robot_id)
        if rec is None:
            raise UnknownResource(f"unknown robot id {robot_id!r}")
        return rec

    def _clear_fault(self, rec: RobotRecord) -> None:
        """A technician clears the fault: the robot clears it (a simulated one can; a real one
        must have cleared it itself), its alarm clears, and its stranded pod goes home on the
        next tick (the failed task's lines were re-planned when it stopped)."""
        s = rec.adapter.status()
        if s.error is None and rec.held_fault is None and rec.fault_alarm_id is None:
            raise CommandRejected(f"robot {rec.id}: cannot clear a fault, it has none")
        if s.error is not None:
            clear = getattr(rec.adapter, "clear_fault", None)
            if clear is None:
                raise CommandRejected(
                    f"robot {rec.id}: it still reports fault {s.error!r}; clear it on the robot "
                    "first, then clear it here"
                )
            clear()
            if rec.adapter.status().error is not None:
                raise CommandRejected(f"robot {rec.id}: the robot did not clear fault {s.error!r}")
        rec.held_fault = None
        if rec.fault_alarm_id is not None and rec.adapter.status().online:
            self.floor.alarms.clear(rec.fault_alarm_id)
            rec.fault_alarm_id = None

    def command_robot(self, robot_id: str, command: str) -> None:
        if command not in ROBOT_COMMANDS:
            raise CommandRejected(
                f"robot {robot_id}: unknown command {command!r}; "
                f"use one of {', '.join(ROBOT_COMMANDS)}"
            )
        rec = self.robot(robot_id)
        s = rec.adapter.status()
        if command == "pause":
            rec.adapter.pause()
        elif command == "resume":
            if s.error is not None or rec.held_fault is not None:
                raise CommandRejected(
                    f"robot {robot_id}: cannot resume, it is faulted "
                    f"({s.error or rec.held_fault}); send clear_fault first"
                )
            rec.adapter.resume()
        elif command == "out_of_service":
            rec.out_of_service = True
            self.exec.stopped(rec, f"robot {robot_id} taken out of service")
        elif command == "in_service":
            rec.out_of_service = False
        elif command == "clear_fault":
            self._clear_fault(rec)
        elif command == "confirm_check":
            if rec.needs_check is None:
                raise CommandRejected(f"robot {robot_id}: nothing to confirm, it needs no check")
            rec.needs_check = None
        else:  # charge | park: a robot-bound task it takes as soon as it is free
            if not s.online or s.error is not None:
                raise CommandRejected(
                    f"robot {robot_id}: cannot {command}, robot is offline or faulted"
                )
            if rec.out_of_service:
                raise CommandRejected(
                    f"robot {robot_id}: cannot {command}, robot is out of service"
                )
            kind = TaskKind.CHARGE if command == "charge" else TaskKind.PARK
            if kind == TaskKind.CHARGE and not self.floor.site.chargers:
                raise CommandRejected(f"robot {robot_id}: cannot charge, the site has no chargers")
            if kind == TaskKind.PARK and not self.floor.site.parking:
                raise CommandRejected(
                    f"robot {robot_id}: cannot park, the site has no parking spots"
                )
            self.events.new_task(kind, {"robot": robot_id}, priority=20)
        rec.status = rec.adapter.status()
        self.events.robot_event(rec, command)
