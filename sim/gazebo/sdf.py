"""SDF building blocks: frames, element helpers, static boxes and the diff-drive AMR model."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from fleet_manager.site.model import RobotModel, Site

Rgba = tuple[float, float, float, float]

# The site frame has x right and y down (row index) with its origin at the map's top-left
# corner; Gazebo and ROS (REP 103) are right-handed with z up, so y is mirrored into
# world_y = floor_depth_m - y_m and a site heading (clockwise, y down) becomes yaw = -heading.


@dataclass(frozen=True)
class WorldFrame:
    """Maps site metres (x right, y down) onto Gazebo world metres (x east, y north)."""

    depth_m: float  # extent of the floor along site y

    @classmethod
    def for_site(cls, site: Site) -> WorldFrame:
        return cls(site.height * site.cell_size_m)

    def xy(self, x_m: float, y_m: float) -> tuple[float, float]:
        return x_m, self.depth_m - y_m

    def yaw_rad(self, heading_deg: float) -> float:
        return -math.radians(heading_deg)


def fmt(*values: float) -> str:
    """Numbers as SDF text: fixed precision, no '-0'."""
    return " ".join(f"{(0.0 if abs(v) < 5e-7 else v):.6g}" for v in values)


def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    child = ET.SubElement(parent, tag, attrs)
    if text is not None:
        child.text = text
    return child


def material(parent: ET.Element, rgba: Rgba) -> None:
    mat = sub(parent, "material")
    sub(mat, "ambient", fmt(*rgba))
    sub(mat, "diffuse", fmt(*rgba))


def add_box(
    link: ET.Element,
    name: str,
    size_m: tuple[float, float, float],
    pose: tuple[float, float, float, float],
    rgba: Rgba,
    collide: bool = True,
) -> None:
    """One box (visual, and collision unless collide=False) at pose (x, y, z, yaw) in the link."""
    x, y, z, yaw = pose
    for kind in ("visual", "collision") if collide else ("visual",):
        element = sub(link, kind, name=f"{name}_{kind}")
        sub(element, "pose", fmt(x, y, z, 0.0, 0.0, yaw))
        sub(sub(sub(element, "geometry"), "box"), "size", fmt(*size_m))
        if kind == "visual":
            material(element, rgba)


def box_link(
    model: ET.Element,
    name: str,
    size_m: tuple[float, float, float],
    pose: tuple[float, float, float, float],
    rgba: Rgba,
    collide: bool = True,
) -> ET.Element:
    """A link holding one box; pose is (x, y, z of the box centre, yaw) in the model frame."""
    link = sub(model, "link", name=name)
    x, y, z, yaw = pose
    sub(link, "pose", fmt(x, y, z, 0.0, 0.0, yaw))
    add_box(link, name, size_m, (0.0, 0.0, 0.0, 0.0), rgba, collide)
    return link


def static_model(world: ET.Element, name: str, x: float, y: float, yaw: float = 0.0) -> ET.Element:
    model = sub(world, "model", name=name)
    sub(model, "static", "true")
    sub(model, "pose", fmt(x, y, 0.0, 0.0, 0.0, yaw))
    return model


def _inertial(link: ET.Element, mass_kg: float, size_m: tuple[float, float, float]) -> None:
    """Solid-box inertia, so the physics engine gets plausible values."""
    lx, ly, lz = size_m
    inertial = sub(link, "inertial")
    sub(inertial, "mass", fmt(mass_kg))
    inertia = sub(inertial, "inertia")
    sub(inertia, "ixx", fmt(mass_kg * (ly * ly + lz * lz) / 12.0))
    sub(inertia, "iyy", fmt(mass_kg * (lx * lx + lz * lz) / 12.0))
    sub(inertia, "izz", fmt(mass_kg * (lx * lx + ly * ly) / 12.0))
    for off in ("ixy", "ixz", "iyz"):
        sub(inertia, off, "0")


# AMR geometry (a low goods-to-person robot that drives under pods).
AMR_BODY_M = (0.8, 0.7, 0.25)
AMR_WHEEL_RADIUS_M = 0.1
AMR_WHEEL_WIDTH_M = 0.05
AMR_WHEEL_SEPARATION_M = 0.6


def amr_model(
    world: ET.Element, robot_id: str, x: float, y: float, yaw: float, model: RobotModel
) -> ET.Element:
    """A diff-drive AMR: chassis, two driven wheels, a caster, DiffDrive and PosePublisher."""
    amr = sub(world, "model", name=robot_id)
    sub(amr, "pose", fmt(x, y, 0.0, 0.0, 0.0, yaw))
    r = AMR_WHEEL_RADIUS_M
    body = box_link(amr, "chassis", AMR_BODY_M, (0.0, 0.0, r + 0.05, 0.0), (0.95, 0.55, 0.1, 1))
    _inertial(body, 120.0, AMR_BODY_M)
    for side, sign in (("left", 1.0), ("right", -1.0)):
        wheel = sub(amr, "link", name=f"{side}_wheel")
        sub(wheel, "pose", fmt(0.0, sign * AMR_WHEEL_SEPARATION_M / 2, r, -math.pi / 2, 0.0, 0.0))
        _inertial(wheel, 2.0, (2 * r, 2 * r, AMR_WHEEL_WIDTH_M))
        for kind in ("visual", "collision"):
            element = sub(wheel, kind, name=f"{side}_wheel_{kind}")
            cyl = sub(sub(element, "geometry"), "cylinder")
            sub(cyl, "radius", fmt(r))
            sub(cyl, "length", fmt(AMR_WHEEL_WIDTH_M))
            if kind == "visual":
                material(element, (0.1, 0.1, 0.1, 1))
        joint = sub(amr, "joint", name=f"{side}_wheel_joint", type="revolute")
        sub(joint, "parent", "chassis")
        sub(joint, "child", f"{side}_wheel")
        axis = sub(joint, "axis")
        sub(axis, "xyz", "0 0 1")
        limit = sub(axis, "limit")
        sub(limit, "lower", "-1.79769e+308")
        sub(limit, "upper", "1.79769e+308")
    caster = sub(amr, "link", name="caster")
    sub(caster, "pose", fmt(-0.3, 0.0, 0.05, 0.0, 0.0, 0.0))
    _inertial(caster, 0.5, (0.1, 0.1, 0.1))
    for kind in ("visual", "collision"):
        element = sub(caster, kind, name=f"caster_{kind}")
        sub(sub(sub(element, "geometry"), "sphere"), "radius", "0.05")
        if kind == "collision":  # frictionless, so it slides instead of steering the robot
            ode = sub(sub(sub(element, "surface"), "friction"), "ode")
            sub(ode, "mu", "0")
            sub(ode, "mu2", "0")
    caster_joint = sub(amr, "joint", name="caster_joint", type="fixed")
    sub(caster_joint, "parent", "chassis")
    sub(caster_joint, "child", "caster")

    drive = sub(
        amr, "plugin", filename="gz-sim-diff-drive-system", name="gz::sim::systems::DiffDrive"
    )
    sub(drive, "left_joint", "left_wheel_joint")
    sub(drive, "right_joint", "right_wheel_joint")
    sub(drive, "wheel_separation", fmt(AMR_WHEEL_SEPARATION_M))
    sub(drive, "wheel_radius", fmt(r))
    sub(drive, "max_linear_velocity", fmt(model.speed_mps))
    sub(drive, "max_linear_acceleration", fmt(model.accel_mps2))
    sub(drive, "topic", f"/model/{robot_id}/cmd_vel")
    sub(drive, "odom_topic", f"/model/{robot_id}/odometry")
    sub(drive, "frame_id", f"{robot_id}/odom")
    sub(drive, "child_frame_id", f"{robot_id}/base_link")
    sub(drive, "odom_publish_frequency", "20")
    pose = sub(
        amr, "plugin", filename="gz-sim-pose-publisher-system",
        name="gz::sim::systems::PosePublisher",
    )
    sub(pose, "publish_link_pose", "false")
    sub(pose, "publish_model_pose", "true")
    sub(pose, "publish_nested_model_pose", "true")
    sub(pose, "use_pose_vector_msg", "true")
    sub(pose, "update_frequency", "10")
    return amr
