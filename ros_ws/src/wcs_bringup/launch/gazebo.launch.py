"""Gazebo Harmonic with the world from `wcs export-gazebo`, plus the ros_gz_bridge."""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node


def generate_launch_description():
    """Start gz sim on the exported world and bridge clock, cmd_vel, odometry and poses."""
    share = get_package_share_directory('wcs_bringup')
    gz_launch = os.path.join(
        get_package_share_directory('ros_gz_sim'), 'launch', 'gz_sim.launch.py')
    return LaunchDescription([
        DeclareLaunchArgument('world', default_value='wcs_demo.sdf',
                              description='SDF world written by wcs export-gazebo'),
        DeclareLaunchArgument(
            'bridge_config', default_value=os.path.join(share, 'config', 'gz_bridge_demo.yaml'),
            description='ros_gz_bridge YAML written by wcs export-gazebo'),
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(gz_launch),
            launch_arguments={'gz_args': ['-r ', LaunchConfiguration('world')]}.items()),
        Node(package='ros_gz_bridge', executable='parameter_bridge', output='screen',
             parameters=[{'config_file': LaunchConfiguration('bridge_config')}]),
    ])
