"""Gazebo (Harmonic) world export: an SDF 1.9 world and a ros_gz_bridge config from one Site."""
