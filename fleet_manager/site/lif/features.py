"""Import rules that turn LIF graph facts into layout characters: station kinds, queues, arrows."""

from __future__ import annotations

from collections.abc import Sequence

from fleet_manager.domain import Coord
from fleet_manager.site.graph_build import floor_graph
from fleet_manager.site.layout import ARROWS, LEGEND
from fleet_manager.site.lif.export import (
    CHARGER_ACTIONS,
    TAG_ASRS_IO,
    TAG_CHARGER,
    TAG_HANDOFF,
    TAG_PARKING,
    TAG_PICK,
)
from fleet_manager.site.lif.parse import LifStation

Edge = tuple[Coord, Coord]
TAGS = (
    (TAG_PICK, "pick"),
    (TAG_CHARGER, "charger"),
    (TAG_PARKING, "parking"),
    (TAG_ASRS_IO, "asrs-io"),
    (TAG_HANDOFF, "conveyor-handoff"),
)


def classify_station(station: LifStation, actions: Sequence[str]) -> str:
    """pick | charger | parking | asrs-io | conveyor-handoff, by the first rule that matches.

    1. a `wcs:<kind>` tag opening stationDescription (what `export_lif` writes);
    2. a VDA 5050 `startCharging`/`stopCharging` action on the interaction node: charger;
    3. "charg" or "park" in stationId, stationName or stationDescription;
    4. otherwise a pick station.
    """
    desc = station.description.strip()
    for tag, kind in TAGS:
        if desc.startswith(tag):
            return kind
    if any(a in CHARGER_ACTIONS for a in actions):
        return "charger"
    words = f"{station.id} {station.name} {station.description}".lower()
    if "charg" in words:
        return "charger"
    if "park" in words:
        return "parking"
    return "pick"


def infer_queue(pick: Coord, edges: set[Edge], taken: set[Coord]) -> list[Coord]:
    """Queue cells of a pick cell, farthest first, read back from the graph's shape.

    A queue is a chain q0 -> q1 -> ... -> pick where each cell's only way out is the next one
    and the next one's only way in is from it (map-format rule 4); walk it backwards.
    """
    outs: dict[Coord, set[Coord]] = {}
    ins: dict[Coord, set[Coord]] = {}
    for a, b in edges:
        outs.setdefault(a, set()).add(b)
        ins.setdefault(b, set()).add(a)
    queue: list[Coord] = []
    cur = pick
    while True:
        before = ins.get(cur, set())
        if len(before) != 1:
            break
        (p,) = before
        if p in taken or p == pick or p in queue or outs.get(p) != {cur}:
            break
        queue.insert(0, p)
        cur = p
    return queue


def choose_arrows(
    chars: dict[Coord, str], stations: Sequence[tuple[Coord, Sequence[Coord]]], wanted: set[Edge]
) -> dict[Coord, str]:
    """One-way arrows for aisle cells so the grid's moves come as close to `wanted` as they can.

    An arrow on cell c pointing d forbids c -> c-d and c+d -> c (rule 3, storage spurs exempt).
    Each aisle cell gets the arrow that removes the most grid moves absent from `wanted` while
    forbidding none that `wanted` has; cells whose moves all match get none.
    """
    cells = sorted(chars, key=lambda c: (c[1], c[0]))
    kinds = [LEGEND[chars[c]] or "" for c in cells]
    base = floor_graph(cells, kinds, {}, stations)
    extra = {(cells[a], cells[b]) for a, b in base.edges} - wanted
    if not extra:
        return {}
    arrows: dict[Coord, str] = {}
    for c in cells:
        if chars[c] != ".":
            continue
        best, best_removed = "", 0
        for arrow, (dx, dy) in ARROWS.items():
            back, ahead = (c[0] - dx, c[1] - dy), (c[0] + dx, c[1] + dy)
            hit = [
                e
                for e in ((c, back), (ahead, c))
                if chars.get(e[0], "s") != "s" and chars.get(e[1], "s") != "s"
            ]
            if any(e in wanted for e in hit):
                continue
            removed = sum(e in extra for e in hit)
            if removed > best_removed:
                best, best_removed = arrow, removed
        if best:
            arrows[c] = best
    return arrows
