"""The SDF 1.9 world of one Site: floor, walls, pods, stations, chargers, conveyors, AS/RS, AMRs."""

from __future__ import annotations

import itertools
import math
import re
import xml.etree.ElementTree as ET

from fleet_manager.site.equipment import HEADINGS
from fleet_manager.site.model import AsrsAisle, Site
from sim.gazebo.sdf import WorldFrame, add_box, amr_model, box_link, fmt, static_model, sub

SDF_VERSION = "1.9"  # libsdformat 12 (ign sdf -k here) and Gazebo Harmonic both read 1.9

# Heights and sizes of the static furniture, metres.
POD_HEIGHT_M = 2.0
POD_CLEARANCE_M = 0.4  # the AMR drives under the pod's shelf
POD_LEG_M = 0.06
WALL_HEIGHT_M = 2.5
CONVEYOR_WIDTH_M = 0.6
CONVEYOR_HEIGHT_M = 0.8
MARKER_HEIGHT_M = 0.01

GREY = (0.6, 0.6, 0.6, 1.0)


def model_name(prefix: str, item_id: str) -> str:
    """SDF names must be unique and plain; ids may hold anything."""
    return f"{prefix}_{re.sub(r'[^A-Za-z0-9_]', '_', item_id)}"


def _floor(world: ET.Element, site: Site, frame: WorldFrame) -> None:
    width_m = site.width * site.cell_size_m
    model = static_model(world, "floor", width_m / 2, frame.depth_m / 2)
    box_link(model, "slab", (width_m, frame.depth_m, 0.02), (0, 0, -0.01, 0), (0.8, 0.8, 0.78, 1))


def _walls(world: ET.Element, site: Site, frame: WorldFrame) -> None:
    """Wall cells ('#' in the layout) merged into one box per horizontal run."""
    cs = site.cell_size_m
    runs: list[tuple[int, int, int]] = []  # (row, first column, length)
    for y, row in enumerate(site.layout):
        for match in re.finditer(r"#+", row):
            runs.append((y, match.start(), match.end() - match.start()))
    if not runs:
        return
    # One link with many boxes: far cheaper to load than a link per run.
    link = sub(static_model(world, "walls", 0.0, 0.0), "link", name="walls")
    for i, (y, x0, n) in enumerate(runs):
        cx, cy = frame.xy((x0 + n / 2) * cs, (y + 0.5) * cs)
        add_box(link, f"wall_{i}", (n * cs, cs, WALL_HEIGHT_M), (cx, cy, WALL_HEIGHT_M / 2, 0),
                (0.45, 0.45, 0.5, 1))


def _pods(world: ET.Element, site: Site, frame: WorldFrame) -> None:
    """Pods as shelves on four legs, high enough for an AMR to drive underneath."""
    side_m = site.cell_size_m * 0.9
    shelf_h = POD_HEIGHT_M - POD_CLEARANCE_M
    for pod in site.pods.values():
        x, y = frame.xy(*site.node_xy_m(site.slots[pod.slot].node))
        link = sub(static_model(world, model_name("pod", pod.id), x, y), "link", name="pod")
        add_box(link, "shelf", (side_m, side_m, shelf_h),
                (0, 0, POD_CLEARANCE_M + shelf_h / 2, 0), (0.2, 0.35, 0.7, 1))
        off = side_m / 2 - POD_LEG_M / 2
        for i, (sx, sy) in enumerate(((1, 1), (1, -1), (-1, 1), (-1, -1))):
            add_box(link, f"leg_{i}", (POD_LEG_M, POD_LEG_M, POD_CLEARANCE_M),
                    (sx * off, sy * off, POD_CLEARANCE_M / 2, 0), GREY)


def _markers(world: ET.Element, site: Site, frame: WorldFrame) -> None:
    """Stations (with their queue cells), chargers and parking as floor plates; no collision."""
    cs = site.cell_size_m
    plate = (cs * 0.9, cs * 0.9, MARKER_HEIGHT_M)
    z = MARKER_HEIGHT_M / 2
    for station in site.stations.values():
        model = static_model(world, model_name("station", station.id), *frame.xy(
            *site.node_xy_m(station.node)))
        box_link(model, "pick_cell", plate, (0, 0, z, 0), (0.1, 0.7, 0.2, 1), collide=False)
        # The operator's table sits beside the pick cell; it is furniture, not floor.
        box_link(model, "table", (cs * 0.4, cs * 0.9, 0.9), (cs * 0.7, 0, 0.45, 0), GREY,
                 collide=False)
        sx, sy = frame.xy(*site.node_xy_m(station.node))
        for i, node in enumerate(station.queue):
            qx, qy = frame.xy(*site.node_xy_m(node))
            box_link(model, f"queue_{i}", plate, (qx - sx, qy - sy, z, 0), (0.6, 0.9, 0.6, 1),
                     collide=False)
    for charger in site.chargers.values():
        model = static_model(world, model_name("charger", charger.id), *frame.xy(
            *site.node_xy_m(charger.node)))
        box_link(model, "pad", plate, (0, 0, z, 0), (0.95, 0.85, 0.1, 1), collide=False)
        box_link(model, "post", (0.15, 0.3, 0.6), (cs * 0.4, 0, 0.3, 0), (0.3, 0.3, 0.3, 1))
    for spot in site.parking.values():
        model = static_model(world, model_name("parking", spot.id), *frame.xy(
            *site.node_xy_m(spot.node)))
        box_link(model, "pad", plate, (0, 0, z, 0), (0.5, 0.5, 0.9, 1), collide=False)


def _conveyors(world: ET.Element, site: Site, frame: WorldFrame) -> None:
    """One static belt box per polyline segment."""
    for conveyor in site.conveyors.values():
        model = static_model(world, model_name("conveyor", conveyor.id), 0.0, 0.0)
        points = [frame.xy(x, y) for x, y in conveyor.path_m]
        for i, ((x0, y0), (x1, y1)) in enumerate(itertools.pairwise(points)):
            length = math.hypot(x1 - x0, y1 - y0)
            if length < 1e-6:
                continue
            yaw = math.atan2(y1 - y0, x1 - x0)
            box_link(model, f"segment_{i}", (length, CONVEYOR_WIDTH_M,
                     CONVEYOR_HEIGHT_M), ((x0 + x1) / 2, (y0 + y1) / 2, CONVEYOR_HEIGHT_M / 2,
                     yaw), (0.25, 0.25, 0.25, 1))


def _asrs(world: ET.Element, aisle: AsrsAisle, frame: WorldFrame) -> None:
    """Rack faces either side of the aisle, as tall as all levels, plus the crane mast at I/O."""
    ux, uy = HEADINGS[aisle.heading]
    nx, ny = -uy, ux  # same right-hand normal (site frame) as the map's footprint
    rack_m = aisle.depth * aisle.slot_depth_m
    offsets = [aisle.aisle_width_m / 2 + rack_m / 2]
    if aisle.sides == 2:
        offsets.append(-offsets[0])
    sx, sy = aisle.aisle_start_m
    model = static_model(world, model_name("asrs", aisle.id), 0.0, 0.0)
    height = aisle.height_m
    for i, w in enumerate(offsets):
        cx, cy = frame.xy(sx + ux * aisle.length_m / 2 + nx * w,
                          sy + uy * aisle.length_m / 2 + ny * w)
        yaw = math.atan2(-uy, ux)  # along the aisle, in the mirrored world frame
        box_link(model, f"rack_{i}", (aisle.length_m, rack_m, height), (cx, cy, height / 2, yaw),
                 (0.7, 0.4, 0.2, 1))
    mx, my = frame.xy(sx, sy)
    box_link(model, "crane_mast", (0.3, 0.3, height + 0.5), (mx, my, (height + 0.5) / 2, 0),
             (0.9, 0.1, 0.1, 1))


def build_world(site: Site, world_name: str | None = None) -> ET.Element:
    """The <sdf> root of the site's world; every feature comes from the Site."""
    frame = WorldFrame.for_site(site)
    root = ET.Element("sdf", version=SDF_VERSION)
    world = sub(root, "world", name=world_name or model_name("wcs", site.name or "site"))
    physics = sub(world, "physics", name="1ms", type="ignored")
    sub(physics, "max_step_size", "0.001")
    sub(physics, "real_time_factor", "1.0")
    for filename, name in (
        ("gz-sim-physics-system", "gz::sim::systems::Physics"),
        ("gz-sim-user-commands-system", "gz::sim::systems::UserCommands"),
        ("gz-sim-scene-broadcaster-system", "gz::sim::systems::SceneBroadcaster"),
    ):
        sub(world, "plugin", filename=filename, name=name)
    light = sub(world, "light", type="directional", name="sun")
    sub(light, "cast_shadows", "true")
    sub(light, "pose", fmt(0, 0, 20, 0, 0, 0))
    sub(light, "diffuse", "0.8 0.8 0.8 1")
    sub(light, "direction", "-0.5 0.1 -0.9")
    _floor(world, site, frame)
    _walls(world, site, frame)
    _pods(world, site, frame)
    _markers(world, site, frame)
    _conveyors(world, site, frame)
    for aisle in site.asrs.values():
        _asrs(world, aisle, frame)
    for robot in site.robots:
        x, y = frame.xy(*site.node_xy_m(robot.start))
        amr_model(world, robot.id, x, y, 0.0, site.robot_model)
    return root


def world_sdf(site: Site, world_name: str | None = None) -> str:
    root = build_world(site, world_name)
    ET.indent(root, space="  ")
    return '<?xml version="1.0"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
