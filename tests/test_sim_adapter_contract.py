"""The dispatcher drives any RobotAdapter: a minimal hand-written robot completes an order."""

from __future__ import annotations

from pathlib import Path

from fleet_manager.alarms import AlarmRegistry
from fleet_manager.dispatch import Dispatcher
from fleet_manager.domain import Order, OrderLine, OrderState
from fleet_manager.events import EventBus
from fleet_manager.robots.adapter import CommandRejected, RobotAdapter, RobotStatus
from fleet_manager.site.loader import load_site

MAPS = Path(__file__).resolve().parents[1] / "maps"


class MinimalRobot:
    """Moves instantly along edges, never busy, full battery: only the protocol, nothing else."""

    def __init__(self, robot_id: str, node: int, edges: set[tuple[int, int]]):
        self._id, self.node, self.edges = robot_id, node, edges
        self.pod: str | None = None
        self.paused = False
        self.log: list[str] = []

    @property
    def id(self) -> str:
        return self._id

    def status(self) -> RobotStatus:
        return RobotStatus(self._id, self.node, 0.0, 1.0, False, self.pod, paused=self.paused)

    def move_to(self, node: int) -> None:
        if node != self.node and (self.node, node) not in self.edges:
            raise CommandRejected(f"robot {self._id}: {node} is not next to {self.node}")
        self.node = node

    def lift_pod(self, pod_id: str) -> None:
        self.pod = pod_id
        self.log.append(f"lift {pod_id}")

    def set_down_pod(self) -> None:
        self.log.append(f"down {self.pod}")
        self.pod = None

    def start_charging(self) -> None:
        self.log.append("charge")

    def stop_charging(self) -> None:
        self.log.append("stop")

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False


def test_dispatcher_completes_an_order_through_the_protocol_only() -> None:
    site = load_site(MAPS / "tiny.yaml")
    edges = set(site.graph.edges())
    robots = [MinimalRobot(r.id, r.start, edges) for r in site.robots]
    assert all(isinstance(r, RobotAdapter) for r in robots)
    d = Dispatcher(site, list(robots), bus=EventBus(), alarms=AlarmRegistry(), tick_s=1.0)
    d.submit_order(Order("O1", [OrderLine("SKU-A", 2), OrderLine("SKU-B", 1)], 0.0))
    t = 0.0
    while d.orders["O1"].state != OrderState.DONE and t < 600.0:
        d.tick(t)
        t += 1.0
    assert d.orders["O1"].state == OrderState.DONE
    for _ in range(200):  # let the pods go back to storage
        d.tick(t)
        t += 1.0
    assert d.kpi.conflicts == 0
    assert all(r.pod is None for r in robots) and not any(p.carried_by for p in d.pods.values())
    lifts = [e for r in robots for e in r.log if e.startswith("lift")]
    downs = [e for r in robots for e in r.log if e.startswith("down")]
    assert lifts and sorted(x.split()[1] for x in lifts) == sorted(x.split()[1] for x in downs)
