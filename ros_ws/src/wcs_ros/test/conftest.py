"""ROS 2 tests: collected only under the ROS venv's python (tests/test_ros_nodes.py runs them)."""

import importlib.util

if importlib.util.find_spec('rclpy') is None:
    # The project venv (e.g. `pytest .` from the repo root) has no rclpy: skip the directory.
    collect_ignore_glob = ['*.py']
else:
    from harness import fleet, ros  # noqa: F401 - the fixtures, shared by the test modules
