"""Fleet: the simulator and dispatcher nodes (one process sharing the core Simulation)."""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue


def generate_launch_description():
    """Launch the fleet process with the site parameters."""
    default_params = os.path.join(
        get_package_share_directory('wcs_bringup'), 'config', 'demo.yaml')
    params = LaunchConfiguration('params_file')
    return LaunchDescription([
        DeclareLaunchArgument('params_file', default_value=default_params,
                              description='ros__parameters YAML for every WCS node'),
        DeclareLaunchArgument('publish_clock', default_value='true',
                              description='publish simulated time on /clock (false when '
                                          'Gazebo owns /clock)'),
        Node(package='wcs_ros', executable='fleet', output='screen',
             parameters=[params, {'publish_clock': ParameterValue(
                 LaunchConfiguration('publish_clock'), value_type=bool)}]),
    ])
