"""AS/RS node: one aisle's AsrsController behind a SubmitTask service, with task states out."""

# Requests: kind asrs_store (payload tote_id?, sku, quantity?, lot?, slot_id?) and
# asrs_retrieve (payload sku, quantity?, tote_id?, station_id?, order_id?); aisle_id defaults
# to the aisle this node serves. fleet_manager.requests checks every request (the validator
# the API uses too) before the controller reserves anything, and the service answers at once:
# the crane runs afterwards in time, and completion arrives on task_states.
#
# Time: the crane is the simulated one on the node's ROS clock (wall time, or /clock with
# use_sim_time), so a cycle takes its kinematic time. A steady timer steps the controller's
# coroutine whenever the crane's next phase end has come; everything runs on the executor
# thread, one call at a time (the controller is not thread safe). A retrieve to a station
# leaves a queued conveyor transfer task for whoever runs the conveyor (not this node).

from __future__ import annotations

import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from wcs_interfaces.msg import Alarm, TaskState
from wcs_interfaces.srv import SubmitTask

from fleet_manager.asrs.pacing import WaitUntil
from fleet_manager.asrs.records import ToteNotFound
from fleet_manager.domain import IdFactory, TaskKind
from fleet_manager.events import Event, EventBus
from fleet_manager.requests import check_asrs_task
from wcs_ros.convert import alarm_to_ros, parse_payload, task_event_to_ros
from wcs_ros.params import ASRS_PARAMS, checker, declare
from wcs_ros.qos import ALARM_QOS, SERVICE_QOS, TASK_STATE_QOS
from wcs_ros.run import run_nodes


class AsrsNode(Node):
    """asrs/submit_task service; task_states and alarms publishers; the crane stepped in time."""

    def __init__(self, **node_kwargs: Any) -> None:
        super().__init__('wcs_asrs', **node_kwargs)
        self.params = declare(self, ASRS_PARAMS)
        self.add_on_set_parameters_callback(checker(ASRS_PARAMS))
        self.bus = EventBus()
        self.clock_s = self.ros_now_s()
        self._build(self.params)
        self.tote_ids = IdFactory()
        self._run: Coroutine[Any, Any, int] | None = None
        self._waiting: WaitUntil | None = None
        self.task_pub = self.create_publisher(TaskState, 'task_states', TASK_STATE_QOS)
        self.alarm_pub = self.create_publisher(Alarm, 'alarms', ALARM_QOS)
        self.bus.subscribe(self._on_event)
        self.create_service(SubmitTask, 'asrs/submit_task', self._on_submit,
                            qos_profile=SERVICE_QOS)
        self.crane_timer = self.create_timer(
            float(self.params['crane_poll_period_s']), self.step_crane,
            clock=Clock(clock_type=ClockType.STEADY_TIME))
        self.add_post_set_parameters_callback(self._apply)
        self.get_logger().info(f'serving AS/RS aisle {self.aisle_id} '
                               f'(inventory {self.params["inventory_db"]})')

    def _build(self, params: dict[str, Any]) -> None:
        """Site, aisle, inventory, crane and controller (imported late: core, not ROS)."""
        from fleet_manager.alarms import AlarmRegistry
        from fleet_manager.asrs.controller import AsrsController
        from fleet_manager.asrs.inventory import AsrsInventory
        from fleet_manager.asrs.inventory_store import InventoryStore
        from fleet_manager.asrs.policies import ClosestOpenSlot
        from fleet_manager.asrs.rack import Rack
        from fleet_manager.site import default_map_path, load_site
        from sim.crane.clocked import ClockedCraneDriver

        self.site = load_site(params['map_path'] or default_map_path())
        if not self.site.asrs:
            raise ValueError(f'map {self.site.source}: has no AS/RS aisle')
        self.aisle_id = params['aisle_id'] or next(iter(self.site.asrs))
        if self.aisle_id not in self.site.asrs:
            raise ValueError(f'aisle_id: unknown aisle {self.aisle_id!r} '
                             f'(map has {", ".join(self.site.asrs)})')
        rack = Rack(self.site.asrs[self.aisle_id])
        Path(params['inventory_db']).parent.mkdir(parents=True, exist_ok=True)
        self.driver = ClockedCraneDriver(rack, self.now_s)
        self.inventory = AsrsInventory(rack, InventoryStore(params['inventory_db']),
                                       ClosestOpenSlot(), clock=self.now_s)
        self.controller = AsrsController(self.inventory, self.driver, self.bus, clock=self.now_s,
                                         alarms=AlarmRegistry(self.bus, clock=self.now_s))

    def _apply(self, changes: list[Any]) -> None:
        for change in changes:
            self.params[change.name] = change.value
            if change.name == 'crane_poll_period_s':
                self.crane_timer.timer_period_ns = int(change.value * 1e9)
                self.crane_timer.reset()

    # --- time -----------------------------------------------------------------------------
    def ros_now_s(self) -> float:
        return self.get_clock().now().nanoseconds / 1e9

    def now_s(self) -> float:
        """Return the controller's clock: ROS time, held at a phase end while the crane runs."""
        return self.clock_s

    # --- requests -------------------------------------------------------------------------
    def submit(self, kind: str, payload_json: str) -> str:
        """Check the request, then reserve and queue it; raises an error naming the field."""
        payload = parse_payload(payload_json)
        payload.setdefault('aisle_id', self.aisle_id)
        if payload['aisle_id'] != self.aisle_id:
            raise ValueError(f'payload.aisle_id: this node serves aisle {self.aisle_id}, '
                             f'not {payload["aisle_id"]!r}')
        task_kind = check_asrs_task(self.site, kind, payload, {self.aisle_id: self.inventory})
        self.clock_s = max(self.clock_s, self.ros_now_s())
        ctl = self.controller
        if task_kind == TaskKind.ASRS_STORE:
            tote_id = payload.get('tote_id') or self._new_tote_id()
            task = ctl.request_store(tote_id, payload['sku'], int(payload.get('quantity', 1)),
                                     str(payload.get('lot', '')), slot_id=payload.get('slot_id'))
        elif payload.get('tote_id'):
            task = ctl.request_retrieve_tote(payload.get('order_id'), payload['tote_id'],
                                             payload.get('station_id'))
        else:
            task = ctl.request_retrieve(payload.get('order_id'), payload['sku'],
                                        payload.get('station_id'),
                                        int(payload.get('quantity', 1)))
        return task.id

    def _new_tote_id(self) -> str:
        while True:  # the inventory outlives the node: skip ids an earlier run gave out
            tote_id = self.tote_ids.next('TOTE-ROS')
            try:
                self.inventory.store.tote(tote_id)
            except ToteNotFound:
                return tote_id

    def _on_submit(self, request: SubmitTask.Request,
                   response: SubmitTask.Response) -> SubmitTask.Response:
        try:
            response.task_id = self.submit(request.kind, request.payload_json)
            response.accepted = True
        except Exception as exc:  # noqa: B902, BLE001 - an error reply, never a crash
            response.accepted, response.error = False, str(exc) or type(exc).__name__
        return response

    # --- the crane, in time ---------------------------------------------------------------
    def step_crane(self) -> None:
        """Resume the controller's coroutine for every crane phase end that has come."""
        now_s = self.ros_now_s()
        ctl = self.controller
        while True:
            if self._run is None:
                if ctl.fault is not None or not ctl.pending_jobs:
                    break
                self._run, self._waiting = ctl.run(), None
            elif self._waiting is not None:
                if self._waiting.due_s > now_s:
                    break  # the crane is still in this phase
                self.clock_s = max(self.clock_s, self._waiting.due_s)
            try:
                yielded = self._run.send(None)
            except StopIteration:
                self._run, self._waiting = None, None
                continue
            except Exception as exc:  # noqa: B902, BLE001 - a bug must not stop the node
                self.get_logger().error(f'AS/RS controller failed: {exc!r}')
                self._run, self._waiting = None, None
                break
            self._waiting = yielded if isinstance(yielded, WaitUntil) else WaitUntil(now_s)
        self.clock_s = max(self.clock_s, now_s if self._run is None else self.clock_s)
        ctl.handoffs.clear()  # published as queued transfers; the conveyor's owner runs them

    def _on_event(self, event: Event) -> None:
        """Publish a core event (on the executor thread, inside a request or a crane step)."""
        if event.topic == 'alarm':
            self.alarm_pub.publish(alarm_to_ros(event))
        elif event.topic == 'task':
            task = self.controller.tasks.get(event.data.get('task_id'))
            if task is not None and task.history:
                self.task_pub.publish(task_event_to_ros(task.history[-1]))

    def prepare_shutdown(self) -> None:
        """Queued and running crane moves stay reserved in the inventory for the next start."""
        if self._run is not None:
            self._run.close()
            self._run, self._waiting = None, None

    def destroy_node(self) -> None:
        self.prepare_shutdown()
        self.inventory.store.close()
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    return run_nodes(lambda: [AsrsNode()], args if args is not None else sys.argv)


if __name__ == '__main__':
    sys.exit(main())
