"""Site maps: the one source of truth for graph, simulator and Gazebo world."""
