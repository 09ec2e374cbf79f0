"""Trips: distance tables, storage slots ranked by distance, and the fetch trip a task drives."""

from __future__ import annotations

from typing import Any

import numpy as np

from fleet_manager.dispatch.records import StationState
from fleet_manager.dispatch.state import FloorState
from fleet_manager.domain import NodeId, PodId, Sku
from fleet_manager.g2p.pod_return import SlotTable, derive_zones


class Trips:
    """Geometry of pod trips on one floor: cached hop distances and the slot table."""

    def __init__(self, floor: FloorState):
        self.floor = floor
        self._tables: dict[NodeId, np.ndarray] = {}
        site = floor.site
        nodes = {s: slot.node for s, slot in site.slots.items()}
        station_nodes = [s.node for s in site.stations.values()]
        if station_nodes:
            near = np.min(np.stack([self.dist_to(n) for n in station_nodes]), axis=0)
            to_station = {s: float(near[n]) for s, n in nodes.items()}
        else:
            to_station = dict.fromkeys(nodes, 0.0)
        zones = derive_zones(to_station, {s: slot.zone for s, slot in site.slots.items()})
        self.slots = SlotTable(nodes, zones, to_station)

    def dist_to(self, node: NodeId) -> np.ndarray:
        table = self._tables.get(node)
        if table is None:
            table = self._tables[node] = self.floor.graph.distances_to(node)
        return table

    def fetch_payload(
        self,
        st: StationState,
        pod_id: PodId,
        work_s: float,
        picks: list[dict[str, Any]],
        restock: dict[Sku, int],
        mode: str,
    ) -> dict[str, Any]:
        """The trip a fetch task drives: pod in storage -> station -> return (costs for allocation)."""
        pod = self.floor.pods[pod_id]
        pickup = self.slots.nodes[pod.slot]
        end = self.slots.nodes[pod.home]
        work = float(self.dist_to(st.spec.node)[pickup]) + float(self.dist_to(end)[st.spec.node])
        return {
            "pod": pod_id,
            "station": st.id,
            "picks": picks,
            "restock": restock,
            "mode": mode,
            "pickup": pickup,
            "end": end,
            "work_cells": work,
            "service_s": work_s + 2 * self.floor.site.robot_model.lift_time_s,
        }
