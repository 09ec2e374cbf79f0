"""PLC bridge: a lifecycle node, configured then activated by launch events."""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, EmitEvent, RegisterEventHandler
from launch.events import matches_action
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import LifecycleNode
from launch_ros.event_handlers import OnStateTransition
from launch_ros.events.lifecycle import ChangeState
from lifecycle_msgs.msg import Transition


def generate_launch_description():
    """Launch the PLC bridge and walk it to active."""
    default_params = os.path.join(
        get_package_share_directory('wcs_bringup'), 'config', 'demo.yaml')
    node = LifecycleNode(package='wcs_ros', executable='plc_bridge', name='wcs_plc_bridge',
                         namespace='', parameters=[LaunchConfiguration('params_file')],
                         output='screen')
    configure = EmitEvent(event=ChangeState(
        lifecycle_node_matcher=matches_action(node),
        transition_id=Transition.TRANSITION_CONFIGURE))
    activate = RegisterEventHandler(OnStateTransition(
        target_lifecycle_node=node, goal_state='inactive',
        entities=[EmitEvent(event=ChangeState(
            lifecycle_node_matcher=matches_action(node),
            transition_id=Transition.TRANSITION_ACTIVATE))]))
    return LaunchDescription([
        DeclareLaunchArgument('params_file', default_value=default_params,
                              description='ros__parameters YAML for every WCS node'),
        node, activate, configure,
    ])
