"""Goods-to-person planning: orders to stations, pods to fetch, returns, restocks, put-away."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from fleet_manager.dispatch.events import Events
from fleet_manager.dispatch.records import RobotRecord, StationState
from fleet_manager.dispatch.state import FloorState
from fleet_manager.dispatch.trips import Trips
from fleet_manager.domain import NodeId, OrderState, PodId, Sku, SlotId, Task, TaskKind, TaskState
from fleet_manager.g2p import G2PConfig, G2PContext, PodView, StationView
from fleet_manager.g2p.replenish import ReorderPoint, putaway_pod


class G2PPlanner:
    """Runs the configured G2P policies against the floor; creates fetch and restock tasks."""

    def __init__(
        self,
        floor: FloorState,
        trips: Trips,
        events: Events,
        cfg: G2PConfig,
        rng: np.random.Generator,
    ):
        self.floor = floor
        self.trips = trips
        self.events = events
        self.cfg = cfg
        self.order_policy, self.pod_policy, self.return_policy = self.cfg.policies()
        self.ctx = G2PContext(trips.dist_to, rng)
        self.pending: list[str] = []  # accepted orders waiting for a station
        self.returns: list[tuple[Sku, int]] = []  # customer returns waiting for put-away
        site = floor.site
        self.reorder = ReorderPoint(
            self.cfg.reorder_point_units, {p.id: dict(p.inventory) for p in site.pods.values()}
        )
        self.capacity = {p.id: p.capacity_units for p in site.pods.values()}

    # ---- per tick -------------------------------------------------------------------------------
    def plan(self) -> None:
        self.ctx.now_s = self.floor.now_s
        if self.pending:
            self._assign_orders()
        if self.returns:
            self._putaway()
        for station in self.floor.stations.values():
            if station.dirty:
                self._fetch(station)

    def pod_released(self, pod_id: PodId) -> None:
        for station in self.floor.stations.values():
            if station.starved:
                station.dirty = True

    def _views(self) -> list[StationView]:
        f = self.floor
        views = []
        for st in f.stations.values():
            skus = {
                line.sku
                for oid in st.order_ids
                for line in f.orders[oid].lines
                if line.open_quantity > 0
            }
            views.append(
                StationView(
                    st.id,
                    st.spec.node,
                    self.cfg.order_slots_per_station,
                    len(st.order_ids),
                    skus,
                    len(st.inbound),
                    self.cfg.max_inbound_per_station,
                )
            )
        return views

    def _assign_orders(self) -> None:
        f = self.floor
        cfg = self.cfg
        if not any(
            len(st.order_ids) < cfg.order_slots_per_station
            and len(st.inbound) < cfg.max_inbound_per_station
            for st in f.stations.values()
        ):
            return  # every station is full or over its queue limit: nothing can be assigned
        waiting = sorted(
            (f.orders[o] for o in self.pending), key=lambda o: (-o.priority, o.created_s, o.id)
        )
        # An order that names its station waits for that station (the WMS chose it).
        for order in [o for o in waiting if o.station_id is not None]:
            st = f.stations[order.station_id]
            if len(st.order_ids) < cfg.order_slots_per_station:
                self._assign(order.id, st.id)
        free = [o for o in waiting if o.station_id is None]
        for oid, sid in self.order_policy.assign(free, self._views(), self.ctx):
            self._assign(oid, sid)

    def _assign(self, oid: str, sid: str) -> None:
        f = self.floor
        order = f.orders[oid]
        self.pending.remove(oid)
        order.station_id, order.state = sid, OrderState.IN_PROGRESS
        f.stations[sid].order_ids.append(oid)
        f.stations[sid].dirty = True
        self.events.order_event(order, "assigned")

    # ---- pods to fetch --------------------------------------------------------------------------
    def _fetch(self, st: StationState) -> None:
        f = self.floor
        st.dirty = False
        lines: list[tuple[str, int, Sku, int]] = []
        demand: dict[Sku, int] = defaultdict(int)
        for oid in st.order_ids:
            for i, line in enumerate(f.orders[oid].lines):
                free = line.open_quantity - f.line_reserved.get((oid, i), 0)
                if free > 0:
                    lines.append((oid, i, line.sku, free))
                    demand[line.sku] += free
        room = self.cfg.max_inbound_per_station - len(st.inbound)
        if not demand or room <= 0:
            st.starved = False
            return
        inv = f.inventory
        candidates: set[PodId] = set()
        for sku in demand:
            candidates |= inv.pods_with(sku)
        pods = []
        for pid in sorted(candidates):
            ps = f.pods[pid]
            if ps.task_id is not None or ps.slot is None:
                continue
            avail = {s: a for s in demand if (a := inv.available(pid, s)) > 0}
            if avail:
                pods.append(PodView(pid, self.trips.slots.nodes[ps.slot], avail))
        view = StationView(st.id, st.spec.node, self.cfg.order_slots_per_station, len(st.order_ids))
        choices = self.pod_policy.select(view, dict(demand), pods, room, self.ctx)
        left = dict(demand)
        for choice in choices:
            picks = []
            for sku, qty in sorted(choice.take.items()):
                for k, (oid, i, line_sku, free) in enumerate(lines):
                    if line_sku != sku or free <= 0 or qty <= 0:
                        continue
                    n = min(free, qty)
                    picks.append({"order": oid, "line": i, "sku": sku, "qty": n})
                    lines[k] = (oid, i, line_sku, free - n)
                    qty -= n
                    left[sku] -= n
            if picks:
                self._create_fetch(st, choice.pod_id, picks, {}, "pick")
        st.starved = any(q > 0 for q in left.values())

    def _create_fetch(
        self,
        st: StationState,
        pod_id: PodId,
        picks: list[dict[str, Any]],
        restock: dict[Sku, int],
        mode: str,
    ) -> Task:
        f = self.floor
        for p in picks:
            f.inventory.reserve(pod_id, p["sku"], p["qty"])
            key = (p["order"], p["line"])
            f.line_reserved[key] = f.line_reserved.get(key, 0) + p["qty"]
        units = sum(p["qty"] for p in picks)
        payload = self.trips.fetch_payload(
            st, pod_id, units * st.spec.pick_time_s_per_unit, picks, restock, mode
        )
        priority = max((f.orders[p["order"]].priority for p in picks), default=0)
        kind = TaskKind.POD_FETCH if mode == "pick" else TaskKind.REPLENISH
        task = self.events.new_task(
            kind, payload, priority=priority, order_id=picks[0]["order"] if picks else None
        )
        f.pods[pod_id].task_id = task.id
        st.inbound.add(task.id)
        return task

    # ---- restock, put-away, return ------------------------------------------------------------
    def restock_on_visit(self, rec: RobotRecord, payload: dict[str, Any]) -> None:
        """Pod at a station will drop to its reorder point: refill it during this visit."""
        f = self.floor
        if self.cfg.reorder_point_units < 0:
            return
        pod_id = rec.pod_id
        after = dict(f.inventory.on_hand[pod_id])
        for p in payload["picks"]:
            after[p["sku"]] = after.get(p["sku"], 0) - p["qty"]
        add = {}
        for sku, target in self.reorder.targets.get(pod_id, {}).items():
            have = after.get(sku, 0) + payload["restock"].get(sku, 0)
            if have <= self.cfg.reorder_point_units and target > have:
                add[sku] = target - have
        if not add:
            return
        for sku, qty in add.items():
            payload["restock"][sku] = payload["restock"].get(sku, 0) + qty
        task = self.events.new_task(
            TaskKind.REPLENISH,
            {
                "pod": pod_id,
                "station": rec.station_id,
                "restock": add,
                "mode": "replenish",
                "robot": rec.id,
                "on_visit": True,
            },
        )
        self.events.transition(task, TaskState.ASSIGNED, "restock during station visit", rec.id)
        self.events.transition(task, TaskState.ACTIVE, "restocking", rec.id)
        payload.setdefault("replenish_tasks", []).append(task.id)

    def submit_return(self, sku: Sku, qty: int) -> None:
        self.returns.append((sku, qty))

    def _putaway(self) -> None:
        f = self.floor
        busy = {p for p, ps in f.pods.items() if ps.task_id is not None or ps.slot is None}
        keep = []
        for sku, qty in self.returns:
            pod_id = putaway_pod(f.inventory, sku, qty, self.capacity, busy)
            open_st = [
                s for s in f.stations.values() if len(s.inbound) < self.cfg.max_inbound_per_station
            ]
            if pod_id is None or not open_st:
                keep.append((sku, qty))
                continue
            st = min(open_st, key=lambda s: (len(s.inbound), s.id))
            self._create_fetch(st, pod_id, [], {sku: qty}, "putaway")
            busy.add(pod_id)
        self.returns = keep

    def return_slot(self, pod_id: PodId, from_node: NodeId) -> SlotId:
        f = self.floor
        free = [
            s for s in self.trips.slots.nodes if s not in f.slot_pod and s not in f.slot_reserved
        ]
        pod = f.pods[pod_id]
        visits = {p.id: p.visits for p in f.pods.values()}
        slot = self.return_policy.choose(
            pod_id, pod.home, from_node, free, self.trips.slots, visits, self.ctx
        )
        f.slot_reserved.add(slot)
        return slot
