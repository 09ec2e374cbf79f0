"""Thin ROS 2 nodes over the warehouse control system core: all behaviour stays in the core."""
