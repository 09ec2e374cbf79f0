"""PLC bridge lifecycle node: runs the core PlcBridgeService and publishes its bus events."""

# configure loads the PLC config and site and builds the service; activate starts it (its own
# asyncio loop in a thread: the service is asyncio code); deactivate stops it. A transition
# invalid from the current state is refused (GuardedLifecycleNode), never a crash. The
# connection parameters are read at configure: they may change only while unconfigured, so a
# change is never accepted and then silently ignored.

from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path
from typing import Any

from rcl_interfaces.msg import SetParametersResult
from rclpy.lifecycle import LifecycleState, TransitionCallbackReturn
from rclpy.node import Node
from rclpy.parameter import Parameter
from wcs_interfaces.msg import Alarm, ConveyorZone, SortEvent

from fleet_manager.events import Event, EventBus
from wcs_ros.convert import alarm_to_ros, conveyor_zone_to_ros, sort_event_to_ros
from wcs_ros.lifecycle import GuardedLifecycleNode
from wcs_ros.params import PLC_BRIDGE_PARAMS, declare
from wcs_ros.qos import ALARM_QOS, CONVEYOR_ZONE_QOS, SORT_EVENT_QOS
from wcs_ros.run import run_nodes

STOP_TIMEOUT_S = 10.0


def _repo_root() -> Path:
    import fleet_manager

    return Path(fleet_manager.__file__).resolve().parents[1]


def build_service(params: dict[str, Any], bus: EventBus) -> Any:
    """Build the core PlcBridgeService from the parameters (sorter geometry: the site)."""
    from fleet_manager.site import default_map_path, load_site
    from fleet_manager.sortation import LaneAssigner
    from plc_bridge.config import apply_site, load_plc_config
    from plc_bridge.service import PlcBridgeService

    path = params['plc_config'] or _repo_root() / 'config' / 'plc' / 'demo-sorter.yaml'
    config = load_plc_config(path)
    changes: dict[str, Any] = {}
    if params['plc_host']:
        changes['host'] = params['plc_host']
    if int(params['plc_port']):
        changes['port'] = int(params['plc_port'])
    if changes:
        config = config.with_connection(**changes)
    if config.sorter is not None:
        config = apply_site(config, load_site(params['map_path'] or default_map_path()))
    assigner = LaneAssigner(config.sorter.sorter.lanes) if config.sorter is not None else None
    return PlcBridgeService(config, bus, assigner)


CONNECTION_PARAMS = ('plc_config', 'map_path', 'plc_host', 'plc_port')


class PlcBridgeNode(GuardedLifecycleNode):
    """Lifecycle wrapper; publishes alarms, conveyor_zones and sort_events while active."""

    def __init__(self, **node_kwargs: Any) -> None:
        super().__init__('wcs_plc_bridge', **node_kwargs)
        self.params = declare(self, PLC_BRIDGE_PARAMS)
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.bus = EventBus()
        self.bus.subscribe(self._on_event)
        self.service: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pubs: dict[str, Any] = {}

    # --- lifecycle ------------------------------------------------------------------------
    def _on_set_parameters(self, changes: list[Parameter]) -> SetParametersResult:
        """Refuse connection changes unless unconfigured: they take effect at configure."""
        touched = [c.name for c in changes if c.name in CONNECTION_PARAMS]
        if touched and self.lifecycle_state != 'unconfigured':
            return SetParametersResult(successful=False, reason=(
                f'{", ".join(touched)}: read at configure; the node is {self.lifecycle_state}, '
                'so deactivate and clean up first'))
        return SetParametersResult(successful=True)

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        # The current values, not those at start: a changed plc_port applies here.
        self.params = {p.name: self.get_parameter(p.name).value for p in PLC_BRIDGE_PARAMS}
        try:
            self.service = build_service(self.params, self.bus)
        except Exception as exc:  # noqa: B902, BLE001 - fails the transition only
            self.get_logger().error(f'configure failed: {exc}')
            return TransitionCallbackReturn.FAILURE
        self._pubs = {
            'alarm': self.create_lifecycle_publisher(Alarm, 'alarms', ALARM_QOS),
            'conveyor': self.create_lifecycle_publisher(
                ConveyorZone, 'conveyor_zones', CONVEYOR_ZONE_QOS),
            'sort': self.create_lifecycle_publisher(SortEvent, 'sort_events', SORT_EVENT_QOS),
        }
        self.get_logger().info(f'configured for PLC {self.service.config.name} at '
                               f'{self.service.config.connection.describe()}')
        return super().on_configure(state)

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        result = super().on_activate(state)  # activates the lifecycle publishers
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name='plc-bridge', daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.service.start(), loop).result(STOP_TIMEOUT_S)
        return result

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop_service()
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        for pub in self._pubs.values():
            self.destroy_lifecycle_publisher(pub)
        self._pubs, self.service = {}, None
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop_service()
        return TransitionCallbackReturn.SUCCESS

    def _stop_service(self) -> None:
        loop, self._loop = self._loop, None
        if loop is None:
            return
        asyncio.run_coroutine_threadsafe(self.service.stop(), loop).result(STOP_TIMEOUT_S)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT_S)
        loop.close()

    # --- core events (called on the service's asyncio thread) ------------------------------
    def _on_event(self, event: Event) -> None:
        pub = self._pubs.get(event.topic)
        if pub is None:
            return
        if event.topic == 'alarm':
            pub.publish(alarm_to_ros(event))
        elif event.topic == 'conveyor':
            pub.publish(conveyor_zone_to_ros(event))
        else:
            pub.publish(sort_event_to_ros(event))

    def destroy_node(self) -> None:
        self._stop_service()
        super().destroy_node()


def make_nodes() -> list[Node]:
    node = PlcBridgeNode()
    if node.params['autostart'] and node.trigger('configure') == TransitionCallbackReturn.SUCCESS:
        node.trigger('activate')
    return [node]


def main(args: list[str] | None = None) -> int:
    return run_nodes(make_nodes, args if args is not None else sys.argv)


if __name__ == '__main__':
    sys.exit(main())
