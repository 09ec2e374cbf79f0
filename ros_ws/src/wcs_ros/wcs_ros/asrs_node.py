"""AS/RS node: one aisle's AsrsController behind a SubmitTask service, with task states out."""

# Requests: kind asrs_store (payload tote_id, sku, quantity, lot) and asrs_retrieve (payload
# order_id, sku, station_id, quantity). The controller runs on its own asyncio thread (a crane
# cycle takes minutes on real hardware); every controller call is made there, one at a time.
# The crane is the in-process simulated one (sim.crane.local); a Modbus crane needs a driver
# built from config/plc/demo-crane.yaml.

from __future__ import annotations

import asyncio
import json
import sys
import threading
from pathlib import Path
from typing import Any

from rclpy.node import Node
from wcs_interfaces.msg import Alarm, TaskState
from wcs_interfaces.srv import SubmitTask

from fleet_manager.domain import TaskKind
from fleet_manager.events import Event, EventBus
from wcs_ros.convert import alarm_to_ros, task_event_to_ros
from wcs_ros.params import ASRS_PARAMS, declare
from wcs_ros.qos import ALARM_QOS, TASK_STATE_QOS
from wcs_ros.run import run_nodes

CALL_TIMEOUT_S = 10.0


def build_controller(params: dict[str, Any], bus: EventBus) -> Any:
    """Build the core AsrsController from the node's parameters (imported late: core, not ROS)."""
    from fleet_manager.alarms import AlarmRegistry
    from fleet_manager.asrs.controller import AsrsController
    from fleet_manager.asrs.inventory import AsrsInventory
    from fleet_manager.asrs.inventory_store import InventoryStore
    from fleet_manager.asrs.policies import ClosestOpenSlot
    from fleet_manager.asrs.rack import Rack
    from fleet_manager.site import default_map_path, load_site
    from sim.crane.local import LocalCraneDriver

    site = load_site(params['map_path'] or default_map_path())
    if not site.asrs:
        raise ValueError(f'map {site.source}: has no AS/RS aisle')
    aisle_id = params['aisle_id'] or next(iter(site.asrs))
    if aisle_id not in site.asrs:
        raise ValueError(f'aisle_id: unknown aisle {aisle_id!r} (map has {", ".join(site.asrs)})')
    rack = Rack(site.asrs[aisle_id])
    Path(params['inventory_db']).parent.mkdir(parents=True, exist_ok=True)
    driver = LocalCraneDriver(rack)
    inventory = AsrsInventory(rack, InventoryStore(params['inventory_db']), ClosestOpenSlot(),
                              clock=lambda: driver.now_s)
    return AsrsController(inventory, driver, bus, clock=lambda: driver.now_s,
                          alarms=AlarmRegistry(bus, clock=lambda: driver.now_s))


def _request(controller: Any, kind: str, payload: dict[str, Any]) -> Any:
    """Make the controller call a request names; KeyError names a missing payload field."""
    if kind == TaskKind.ASRS_STORE:
        return controller.request_store(str(payload['tote_id']), str(payload['sku']),
                                        int(payload['quantity']), str(payload.get('lot', '')))
    if kind == TaskKind.ASRS_RETRIEVE:
        return controller.request_retrieve(str(payload['order_id']), str(payload['sku']),
                                           str(payload['station_id']),
                                           int(payload.get('quantity', 1)))
    raise ValueError(f'kind: {kind!r} is not served here (asrs_store, asrs_retrieve)')


class AsrsNode(Node):
    """asrs/submit_task service; task_states and alarms publishers."""

    def __init__(self, **node_kwargs: Any) -> None:
        super().__init__('wcs_asrs', **node_kwargs)
        self.params = declare(self, ASRS_PARAMS)
        self.bus = EventBus()
        self.controller = build_controller(self.params, self.bus)
        self.task_pub = self.create_publisher(TaskState, 'task_states', TASK_STATE_QOS)
        self.alarm_pub = self.create_publisher(Alarm, 'alarms', ALARM_QOS)
        self.bus.subscribe(self._on_event)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name='asrs', daemon=True)
        self._thread.start()
        self._running: asyncio.Future[Any] | None = None
        self.create_service(SubmitTask, 'asrs/submit_task', self._on_submit)

    async def _submit(self, kind: str, payload: dict[str, Any]) -> str:
        task = _request(self.controller, kind, payload)
        if self._running is None or self._running.done():
            self._running = asyncio.ensure_future(self.controller.run())
        return task.id

    def _on_submit(self, request: SubmitTask.Request,
                   response: SubmitTask.Response) -> SubmitTask.Response:
        try:
            payload = json.loads(request.payload_json or '{}')
            if not isinstance(payload, dict):
                raise TypeError('payload_json: must be a JSON object')
            future = asyncio.run_coroutine_threadsafe(
                self._submit(request.kind, payload), self.loop)
            response.task_id = future.result(CALL_TIMEOUT_S)
            response.accepted = True
        except KeyError as exc:
            response.accepted, response.error = False, f'payload_json: missing field {exc}'
        except Exception as exc:  # noqa: B902, BLE001 - an error reply, never a crash
            response.accepted, response.error = False, str(exc) or type(exc).__name__
        return response

    def _on_event(self, event: Event) -> None:
        """Publish a core event (runs on the controller's thread; publishers are thread safe)."""
        if event.topic == 'alarm':
            self.alarm_pub.publish(alarm_to_ros(event))
        elif event.topic == 'task':
            task = self.controller.tasks.get(event.data.get('task_id'))
            if task is not None and task.history:
                self.task_pub.publish(task_event_to_ros(task.history[-1]))

    def destroy_node(self) -> None:
        if self._running is not None:
            self.loop.call_soon_threadsafe(self._running.cancel)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(CALL_TIMEOUT_S)
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    return run_nodes(lambda: [AsrsNode()], args if args is not None else sys.argv)


if __name__ == '__main__':
    sys.exit(main())
