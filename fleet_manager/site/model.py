"""The loaded site: every feature of one map file, plus the networkx floor graph built from it."""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import numpy as np
from shapely.geometry import Polygon

from fleet_manager.domain import (
    ChargerId,
    Coord,
    CraneId,
    LaneId,
    NodeId,
    PodId,
    RobotId,
    Sku,
    SlotId,
    StationId,
)


@dataclass(frozen=True)
class RobotModel:
    """AMR kinematics and battery; defaults follow RAWSim-O (shared/notes/reference-figures.md)."""

    speed_mps: float = 1.5
    accel_mps2: float = 1.0
    turn_time_s: float = 2.5  # full 360 degree turn
    lift_time_s: float = 2.2  # pod lift or set-down
    battery_wh: float = 400.0
    drain_moving_w: float = 150.0
    drain_idle_w: float = 20.0
    charge_w: float = 600.0
    charge_threshold: float = 0.25  # state of charge below which a charge task is inserted
    charge_target: float = 0.9  # state of charge at which charging stops
    reserve_soc: float = 0.10  # never plan a task that would end below this at a charger


@dataclass(frozen=True)
class RobotSpec:
    id: RobotId
    start: NodeId


@dataclass(frozen=True)
class StorageSlot:
    """A floor cell where a pod may stand; only reachable from an aisle cell next to it."""

    id: SlotId
    node: NodeId
    zone: str = ""  # optional turnover class label ("A", "B", "C")


@dataclass
class PodSpec:
    """A shelf with its initial SKU quantities, standing on its home slot."""

    id: PodId
    slot: SlotId
    capacity_units: int
    inventory: dict[Sku, int] = field(default_factory=dict)


@dataclass(frozen=True)
class PickStation:
    """A goods-to-person pick station: the pick cell and its queue cells (farthest first)."""

    id: StationId
    node: NodeId
    queue: tuple[NodeId, ...]
    pick_time_s_per_unit: float = 10.0


@dataclass(frozen=True)
class Charger:
    id: ChargerId
    node: NodeId


@dataclass(frozen=True)
class ParkingSpot:
    id: str
    node: NodeId


@dataclass(frozen=True)
class ConveyorPoint:
    """Where goods enter (induct) or leave (outfeed) a conveyor, on the floor or at the AS/RS."""

    id: str
    kind: str  # "induct" | "outfeed"
    position_m: float  # distance along the conveyor path
    node: NodeId | None = None  # floor cell where an AMR docks, if any


@dataclass(frozen=True)
class Conveyor:
    """A belt path as a metric polyline; a loop when first and last points coincide."""

    id: str
    path_m: tuple[tuple[float, float], ...]
    speed_mps: float
    points: tuple[ConveyorPoint, ...]
    loop: bool = False

    @property
    def length_m(self) -> float:
        pts = np.asarray(self.path_m, dtype=float)
        return float(np.linalg.norm(np.diff(pts, axis=0), axis=1).sum())


@dataclass(frozen=True)
class SorterLane:
    id: LaneId
    divert_position_m: float  # along the sorter's conveyor
    capacity_items: int
    role: str = "order"  # "order" | "overflow" | "reject"
    side: str = "left"  # which side of the belt (seen along travel) the lane leaves on
    length_m: float = 3.0  # accumulation length of the lane chute


@dataclass(frozen=True)
class Sorter:
    id: str
    conveyor: str
    scanner_position_m: float
    divert_time_s: float  # actuation lead time of a divert
    lanes: tuple[SorterLane, ...]

    def lane(self, lane_id: LaneId) -> SorterLane:
        for lane in self.lanes:
            if lane.id == lane_id:
                return lane
        raise KeyError(f"sorter {self.id}: unknown lane {lane_id!r}")


@dataclass(frozen=True)
class CraneModel:
    """Stacker crane kinematics: travel (horizontal) and hoist (vertical) axes, fork time."""

    travel_speed_mps: float = 4.0
    travel_accel_mps2: float = 1.0
    hoist_speed_mps: float = 1.5
    hoist_accel_mps2: float = 1.0
    fork_time_s: float = 4.0


@dataclass(frozen=True)
class AsrsAisle:
    """One AS/RS aisle: rack geometry on both sides, its input/output point and its crane."""

    id: str
    crane_id: CraneId
    bays: int
    levels: int
    depth: int  # 1 single deep, 2 double deep
    sides: int  # 1 or 2 rack faces served by the aisle
    bay_pitch_m: float
    level_pitch_m: float
    io_node: NodeId  # floor cell of the input/output point (AMR or conveyor handoff)
    io_conveyor: str | None
    crane: CraneModel
    footprint: Polygon  # metres, for drawing and overlap checks
    aisle_start_m: tuple[float, float] = (0.0, 0.0)  # aisle centreline at bay 0 (I/O end)
    heading: str = "east"  # direction bays run from the I/O end: east | west | north | south
    aisle_width_m: float = 1.2
    slot_depth_m: float = 0.8  # depth of one storage position (rack depth = depth * this)

    @property
    def length_m(self) -> float:
        return self.bays * self.bay_pitch_m

    @property
    def height_m(self) -> float:
        return self.levels * self.level_pitch_m


@dataclass(frozen=True)
class ForbiddenZone:
    id: str
    polygon: Polygon  # metres


@dataclass(frozen=True)
class SkuSpec:
    id: Sku
    description: str = ""
    turnover_class: str = ""  # "A" | "B" | "C" or empty


@dataclass
class Site:
    """Everything a map file describes. Nodes are compact ints 0..n-1 over traversable cells."""

    name: str
    cell_size_m: float
    width: int
    height: int
    coords: np.ndarray  # (n, 2) int: (x, y) of each node
    graph: nx.DiGraph  # nodes 0..n-1 with attrs x, y, kind; directed edges (one-way lanes)
    robot_model: RobotModel
    robots: list[RobotSpec]
    slots: dict[SlotId, StorageSlot]
    pods: dict[PodId, PodSpec]
    stations: dict[StationId, PickStation]
    chargers: dict[ChargerId, Charger]
    parking: dict[str, ParkingSpot]
    conveyors: dict[str, Conveyor]
    sorters: dict[str, Sorter]
    asrs: dict[str, AsrsAisle]
    forbidden: list[ForbiddenZone]
    skus: dict[Sku, SkuSpec]
    source: str = ""  # path of the map file it came from
    node_at: dict[Coord, NodeId] = field(default_factory=dict)
    layout: tuple[str, ...] = ()  # the map's character rows (legend in docs/map-format.md), if any

    def __post_init__(self) -> None:
        if not self.node_at:
            self.node_at = {(int(x), int(y)): i for i, (x, y) in enumerate(self.coords)}

    @property
    def num_nodes(self) -> int:
        return int(self.coords.shape[0])

    def coord(self, node: NodeId) -> Coord:
        x, y = self.coords[node]
        return int(x), int(y)

    def node_xy_m(self, node: NodeId) -> tuple[float, float]:
        """Centre of a node's cell in metres (x right, y down, origin at the map's corner)."""
        x, y = self.coords[node]
        return (float(x) + 0.5) * self.cell_size_m, (float(y) + 0.5) * self.cell_size_m
