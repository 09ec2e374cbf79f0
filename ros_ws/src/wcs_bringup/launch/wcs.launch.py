"""The whole system: fleet, PLC bridge and AS/RS; Gazebo too with gazebo:=true."""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription
from launch.conditions import IfCondition
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PythonExpression


def generate_launch_description():
    """Include every subsystem launch file with one shared params file."""
    share = get_package_share_directory('wcs_bringup')
    params = LaunchConfiguration('params_file')

    def include(name, condition=None, extra=None):
        arguments = {'params_file': params}
        arguments.update(extra or {})
        return IncludeLaunchDescription(
            PythonLaunchDescriptionSource(os.path.join(share, 'launch', name)),
            launch_arguments=arguments.items(), condition=condition)

    return LaunchDescription([
        DeclareLaunchArgument('params_file',
                              default_value=os.path.join(share, 'config', 'demo.yaml'),
                              description='ros__parameters YAML for every WCS node'),
        DeclareLaunchArgument('gazebo', default_value='false',
                              description='also start Gazebo Harmonic and the bridge'),
        DeclareLaunchArgument('world', default_value='wcs_demo.sdf',
                              description='SDF world written by wcs export-gazebo'),
        # Gazebo publishes /clock itself: then the WCS simulator must not.
        include('fleet.launch.py', extra={
            'publish_clock': PythonExpression(
                ["'", LaunchConfiguration('gazebo'), "'.lower() not in ('true', '1')"])}),
        include('plc_bridge.launch.py'),
        include('asrs.launch.py'),
        include('gazebo.launch.py', IfCondition(LaunchConfiguration('gazebo')),
                {'world': LaunchConfiguration('world')}),
    ])
