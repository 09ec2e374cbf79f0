"""The ros_gz_bridge config of one Site: per-AMR cmd_vel, odometry and pose, plus the clock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from fleet_manager.site.model import Site

BridgeEntry = dict[str, Any]


def _entry(ros_topic: str, gz_topic: str, ros_type: str, gz_type: str, direction: str) -> BridgeEntry:
    return {
        "ros_topic_name": ros_topic,
        "gz_topic_name": gz_topic,
        "ros_type_name": ros_type,
        "gz_type_name": gz_type,
        "direction": direction,
    }


def bridge_entries(site: Site, world_name: str) -> list[BridgeEntry]:
    """Topics match the DiffDrive/PosePublisher plugins written by sim.gazebo.sdf.amr_model."""
    entries = [_entry("/clock", f"/world/{world_name}/clock", "rosgraph_msgs/msg/Clock",
                      "gz.msgs.Clock", "GZ_TO_ROS")]
    for robot in site.robots:
        rid = robot.id
        entries += [
            _entry(f"/wcs/robots/{rid}/cmd_vel", f"/model/{rid}/cmd_vel",
                   "geometry_msgs/msg/Twist", "gz.msgs.Twist", "ROS_TO_GZ"),
            _entry(f"/wcs/robots/{rid}/odom", f"/model/{rid}/odometry",
                   "nav_msgs/msg/Odometry", "gz.msgs.Odometry", "GZ_TO_ROS"),
            _entry(f"/wcs/robots/{rid}/pose", f"/model/{rid}/pose",
                   "tf2_msgs/msg/TFMessage", "gz.msgs.Pose_V", "GZ_TO_ROS"),
        ]
    return entries


def bridge_yaml(site: Site, world_name: str) -> str:
    header = (f"# ros_gz_bridge config generated from {Path(site.source).name if site.source else site.name} by "
              "`wcs export-gazebo`; do not edit.\n")
    return header + yaml.safe_dump(bridge_entries(site, world_name), sort_keys=False)
