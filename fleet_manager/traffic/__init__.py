"""Multi-robot traffic: motion graph, lifelong planner and the path validator."""
