"""Process entry helper: init, spin a set of nodes, and shut down cleanly on SIGINT/SIGTERM."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node


def run_nodes(make_nodes: Callable[[], Sequence[Node]], args: list[str] | None = None) -> int:
    """Spin the nodes in one single-threaded executor (the core is not thread safe)."""
    rclpy.init(args=args)
    nodes: Sequence[Node] = ()
    try:
        nodes = make_nodes()
        executor = SingleThreadedExecutor()
        for node in nodes:
            executor.add_node(node)
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass  # SIGINT / SIGTERM: the normal way to stop
    finally:
        for node in reversed(list(nodes)):
            node.destroy_node()
        rclpy.try_shutdown()
    return 0
