"""One vehicle's order as the master sees it: base (released) and horizon, sequence and update ids.

VDA 5050 order updates must start at the stitching node (the last released base node) and carry
only what is new after it, with `orderUpdateId` incremented; nodes already released are never
sent again (except that stitching node, which the standard requires as the join point).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from fleet_manager.robots.vda5050.messages import Message, order_edge, order_node

XY = tuple[float, float]


@dataclass
class OrderTracker:
    """Builds the order / order-update bodies for one vehicle (header added by the caller)."""

    order_prefix: str
    position_of: Callable[[int], XY]  # node -> VDA map position in metres
    max_speed_mps: float
    order_id: str = ""
    update_id: int = -1
    last_base_node: int | None = None
    last_base_seq: int = 0
    released: list[tuple[int, int]] = field(default_factory=list)  # (node, sequenceId) of the base
    horizon: list[int] = field(default_factory=list)
    _count: int = 0

    @property
    def active(self) -> bool:
        return bool(self.order_id)

    def reset(self) -> None:
        """Forget the order (vehicle restarted, order cancelled or finished)."""
        self.order_id, self.update_id, self.last_base_node = "", -1, None
        self.released, self.horizon = [], []

    def new_order(
        self, start: int, nxt: int | None, horizon: Sequence[int] = (),
        start_actions: Sequence[Message] = (),
    ) -> Message:
        """A fresh order starting where the vehicle stands, optionally releasing `nxt`."""
        self._count += 1
        self.order_id = f"{self.order_prefix}-{self._count:06d}"
        self.update_id = 0
        self.released = [(start, 0)]
        self.last_base_node, self.last_base_seq = start, 0
        nodes = [order_node(start, 0, True, self.position_of(start), start_actions)]
        edges: list[Message] = []
        if nxt is not None and nxt != start:
            self._append_base(nodes, edges, nxt)
        self._append_horizon(nodes, edges, horizon)
        return self._body(nodes, edges)

    def extend(self, nxt: int, horizon: Sequence[int] = ()) -> Message:
        """Order update: stitching node + the newly released `nxt` + the new horizon."""
        if not self.active or self.last_base_node is None:
            raise RuntimeError("no active order to extend")
        self.update_id += 1
        stitch = self.last_base_node
        nodes = [order_node(stitch, self.last_base_seq, True, self.position_of(stitch))]
        edges: list[Message] = []
        self._append_base(nodes, edges, nxt)
        self._append_horizon(nodes, edges, horizon)
        return self._body(nodes, edges)

    def _append_base(self, nodes: list[Message], edges: list[Message], nxt: int) -> None:
        prev, seq = self.last_base_node, self.last_base_seq
        assert prev is not None
        edges.append(order_edge(prev, nxt, seq + 1, True, self.max_speed_mps))
        nodes.append(order_node(nxt, seq + 2, True, self.position_of(nxt)))
        self.last_base_node, self.last_base_seq = nxt, seq + 2
        self.released.append((nxt, seq + 2))

    def _append_horizon(self, nodes: list[Message], edges: list[Message], horizon: Sequence[int]) -> None:
        prev, seq = self.last_base_node, self.last_base_seq
        assert prev is not None
        self.horizon = []
        for node in horizon:
            if node == prev:
                continue  # a planned wait is not a node to traverse
            edges.append(order_edge(prev, node, seq + 1, False, self.max_speed_mps))
            nodes.append(order_node(node, seq + 2, False, self.position_of(node)))
            self.horizon.append(node)
            prev, seq = node, seq + 2

    def _body(self, nodes: list[Message], edges: list[Message]) -> Message:
        return {"orderId": self.order_id, "orderUpdateId": self.update_id, "nodes": nodes, "edges": edges}
