"""Pod selection policies: which pods to bring to a station for its open (unreserved) demand."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from fleet_manager.domain import PodId, Sku
from fleet_manager.g2p.views import G2PContext, PodView, StationView


@dataclass(frozen=True)
class PodChoice:
    """One pod to fetch and how many units of each SKU it is to serve."""

    pod_id: PodId
    take: dict[Sku, int]

    @property
    def units(self) -> int:
        return sum(self.take.values())


class PodSelectionPolicy(Protocol):
    """Choose up to `max_pods` pods (from `pods`, all free) to cover `demand` at `station`."""

    name: str

    def select(
        self,
        station: StationView,
        demand: dict[Sku, int],
        pods: list[PodView],
        max_pods: int,
        ctx: G2PContext,
    ) -> list[PodChoice]: ...


def _serve(pod: PodView, demand: dict[Sku, int]) -> dict[Sku, int]:
    return {
        s: min(q, pod.available.get(s, 0))
        for s, q in demand.items()
        if pod.available.get(s, 0) > 0 and q > 0
    }


def _apply(take: dict[Sku, int], demand: dict[Sku, int]) -> None:
    for s, q in take.items():
        demand[s] -= q
        if demand[s] <= 0:
            del demand[s]


def _distances(station: StationView, pods: list[PodView], ctx: G2PContext) -> np.ndarray:
    table = ctx.dist_to(station.node)
    return np.array([table[p.node] for p in pods], dtype=np.float64)


class Nearest:
    """For each SKU (largest demand first) take the nearest pods holding it."""

    name = "nearest"

    def select(
        self,
        station: StationView,
        demand: dict[Sku, int],
        pods: list[PodView],
        max_pods: int,
        ctx: G2PContext,
    ) -> list[PodChoice]:
        demand = dict(demand)
        dist = _distances(station, pods, ctx)
        order = np.argsort(dist, kind="stable")
        chosen: list[PodChoice] = []
        used: set[PodId] = set()
        for sku in sorted(demand, key=lambda s: (-demand[s], s)):
            for i in order:
                if len(chosen) >= max_pods or sku not in demand:
                    break
                pod = pods[int(i)]
                if pod.id in used or pod.available.get(sku, 0) <= 0:
                    continue
                take = _serve(pod, demand)  # pile-on: it serves every SKU it can
                _apply(take, demand)
                used.add(pod.id)
                chosen.append(PodChoice(pod.id, take))
        return chosen


class MostLinesServed:
    """Greedy cover: the pod serving the most demanded SKUs (then units, then nearest) first."""

    name = "most_lines"

    def select(
        self,
        station: StationView,
        demand: dict[Sku, int],
        pods: list[PodView],
        max_pods: int,
        ctx: G2PContext,
    ) -> list[PodChoice]:
        demand = dict(demand)
        dist = _distances(station, pods, ctx)
        chosen: list[PodChoice] = []
        remaining = set(range(len(pods)))
        while demand and len(chosen) < max_pods:
            best_key, best_i = None, -1
            for i in remaining:
                take = _serve(pods[i], demand)
                if not take:
                    continue
                key = (-len(take), -sum(take.values()), dist[i], pods[i].id)
                if best_key is None or key < best_key:
                    best_key, best_i = key, i
            if best_i < 0:
                break
            take = _serve(pods[best_i], demand)
            _apply(take, demand)
            remaining.discard(best_i)
            chosen.append(PodChoice(pods[best_i].id, take))
        return chosen


class RandomPod:
    """Baseline: for each SKU a random pod holding it."""

    name = "random"

    def select(
        self,
        station: StationView,
        demand: dict[Sku, int],
        pods: list[PodView],
        max_pods: int,
        ctx: G2PContext,
    ) -> list[PodChoice]:
        demand = dict(demand)
        chosen: list[PodChoice] = []
        used: set[int] = set()
        for sku in sorted(demand):
            holders = [
                i for i, p in enumerate(pods) if i not in used and p.available.get(sku, 0) > 0
            ]
            if sku not in demand or not holders or len(chosen) >= max_pods:
                continue
            i = holders[int(ctx.rng.integers(len(holders)))]
            take = _serve(pods[i], demand)
            _apply(take, demand)
            used.add(i)
            chosen.append(PodChoice(pods[i].id, take))
        return chosen


POD_SELECTION_POLICIES: dict[str, type] = {p.name: p for p in (Nearest, MostLinesServed, RandomPod)}
