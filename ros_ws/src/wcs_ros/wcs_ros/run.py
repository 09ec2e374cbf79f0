"""Process entry helper: init, spin a set of nodes, and shut down in order on SIGINT/SIGTERM."""

# rclpy's own signal handler shuts the context down at once, so nothing can be published after
# the signal. Here the signal only asks the executor to stop; then every node's
# `prepare_shutdown()` runs (e.g. abort executing goals with a reason), the executor spins a
# little longer so those results go out, and only then are nodes destroyed and rclpy shut down.

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable, Sequence
from types import FrameType

import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions

EXIT_BAD_CONFIG = 2  # the supervisor (wcs ros-up) does not restart a node that exits so
DRAIN_S = 1.0  # wall seconds to keep spinning after prepare_shutdown (results, last messages)


def drain(executor: SingleThreadedExecutor, nodes: Sequence[Node],
          drain_s: float = DRAIN_S) -> None:
    """Let each node wind down (prepare_shutdown), then spin for `drain_s` to send the replies."""
    for node in nodes:
        prepare = getattr(node, 'prepare_shutdown', None)
        if prepare is not None:
            prepare()
    deadline = time.monotonic() + drain_s
    while time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.02)


def run_nodes(make_nodes: Callable[[], Sequence[Node]], args: list[str] | None = None) -> int:
    """Spin the nodes in one single-threaded executor (the core is not thread safe)."""
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    stop = {'requested': False}

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop['requested'] = True

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    nodes: Sequence[Node] = ()
    executor = SingleThreadedExecutor()
    try:
        try:
            nodes = make_nodes()
        except Exception as exc:  # noqa: B902 - bad parameters or config: one clear line
            print(f'wcs_ros: cannot start: {exc}', file=sys.stderr)
            return EXIT_BAD_CONFIG
        for node in nodes:
            executor.add_node(node)
        while not stop['requested'] and rclpy.ok():
            executor.spin_once(timeout_sec=0.1)
        if rclpy.ok():
            drain(executor, nodes)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        for node in reversed(list(nodes)):
            node.destroy_node()
        executor.shutdown()
        rclpy.try_shutdown()
    return 0
