"""Setup for the wcs_ros ament_python package."""

from setuptools import find_packages, setup

package_name = 'wcs_ros'

setup(
    name=package_name,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
    ],
    install_requires=['setuptools'],
    extras_require={'test': ['pytest']},
    zip_safe=True,
    maintainer='WCS maintainers',
    maintainer_email='maintainers@wcs.example.org',
    description='Thin ROS 2 nodes over the warehouse control system core.',
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'fleet = wcs_ros.fleet_main:main',
            'plc_bridge = wcs_ros.plc_bridge_node:main',
            'asrs = wcs_ros.asrs_node:main',
        ],
    },
)
