"""FloorState: the mutable floor every dispatch part works on, and the services they share."""

from __future__ import annotations

from dataclasses import dataclass, field

from fleet_manager.alarms import AlarmRegistry
from fleet_manager.dispatch.records import PodState, RobotRecord, StationState
from fleet_manager.domain import (
    IdFactory,
    Order,
    OrderId,
    PodId,
    RobotId,
    SlotId,
    StationId,
    Task,
    TaskId,
)
from fleet_manager.events import EventBus
from fleet_manager.inventory import Inventory
from fleet_manager.kpi import KpiTracker
from fleet_manager.robots.adapter import RobotAdapter
from fleet_manager.site.model import Site
from fleet_manager.traffic.graph import MotionGraph


@dataclass
class FloorState:
    """Orders, tasks, robots, pods and stations as dispatch tracks them, on one clock (`now_s`).

    One object shared by the parts of a Dispatcher, which builds it with `for_site`.
    """

    site: Site
    graph: MotionGraph
    bus: EventBus
    alarms: AlarmRegistry
    inventory: Inventory
    kpi: KpiTracker
    ids: IdFactory = field(default_factory=IdFactory)
    now_s: float = 0.0
    orders: dict[OrderId, Order] = field(default_factory=dict)
    tasks: dict[TaskId, Task] = field(default_factory=dict)
    # Queued robot tasks, oldest first (kept by Events.transition and Presentations.admit).
    queued: dict[TaskId, Task] = field(default_factory=dict)
    line_reserved: dict[tuple[OrderId, int], int] = field(default_factory=dict)
    pods: dict[PodId, PodState] = field(default_factory=dict)
    slot_pod: dict[SlotId, PodId] = field(default_factory=dict)
    slot_reserved: set[SlotId] = field(default_factory=set)
    stations: dict[StationId, StationState] = field(default_factory=dict)
    robots: dict[RobotId, RobotRecord] = field(default_factory=dict)
    robot_order: list[RobotId] = field(default_factory=list)
    charger_user: dict[str, str | None] = field(default_factory=dict)
    park_user: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def for_site(
        cls,
        site: Site,
        robots: list[RobotAdapter],
        *,
        bus: EventBus,
        alarms: AlarmRegistry,
        graph: MotionGraph,
    ) -> FloorState:
        """The floor at start: every pod on its home slot, robots idle, nothing ordered."""
        stations = {s.id: StationState(s) for s in site.stations.values()}
        records = {a.id: RobotRecord(a, a.status()) for a in robots}
        return cls(
            site=site,
            graph=graph,
            bus=bus,
            alarms=alarms,
            inventory=Inventory({p.id: p.inventory for p in site.pods.values()}, site.skus),
            kpi=KpiTracker(
                list(stations), {s.id: s.spec.pick_time_s_per_unit for s in stations.values()}
            ),
            pods={p.id: PodState(p.id, p.slot, p.slot) for p in site.pods.values()},
            slot_pod={p.slot: p.id for p in site.pods.values()},
            stations=stations,
            robots=records,
            robot_order=list(records),
            charger_user={c: None for c in site.chargers},
            park_user={p: None for p in site.parking},
        )
