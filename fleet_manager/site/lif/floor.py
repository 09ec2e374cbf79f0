"""Import steps over the fitted grid: LIF edges -> unit moves, LIF stations -> floor features."""

from __future__ import annotations

import numpy as np

from fleet_manager.domain import Coord
from fleet_manager.site.lif.features import Edge, classify_station, infer_queue
from fleet_manager.site.lif.parse import LifLayout, LifNode

PICK_TIME_S_PER_UNIT = 10.0  # map-format default; LIF has no pick time
EXAMPLES = 5  # ids quoted per note


def some(items: list[str]) -> str:
    more = f" (+{len(items) - EXAMPLES} more)" if len(items) > EXAMPLES else ""
    return ", ".join(items[:EXAMPLES]) + more


def lif_moves(
    lay: LifLayout, vt: str, cell_of: dict[str, Coord], node_cells: set[Coord], notes: list[str]
) -> tuple[set[Edge], set[Coord], list[float]]:
    """Unit moves between cells; straight edges spanning several cells fill the cells between."""
    own = {n.id for n in lay.nodes}
    wanted: set[Edge] = set()
    filler: set[Coord] = set()
    speeds: list[float] = []
    closed, elsewhere, unplaced, diagonal, long_edges = [], [], [], [], 0
    for e in lay.edges:
        if vt not in e.max_speed_mps:
            closed.append(e.id)
            continue
        if e.end not in own:
            elsewhere.append(e.id)
            continue
        a, b = cell_of.get(e.start), cell_of.get(e.end)
        if a is None or b is None:
            unplaced.append(e.id)
            continue
        dx, dy = b[0] - a[0], b[1] - a[1]
        if dx and dy:
            diagonal.append(e.id)
            continue
        steps = abs(dx) + abs(dy)
        ux, uy = int(np.sign(dx)), int(np.sign(dy))
        prev = a
        for k in range(1, steps + 1):
            nxt = (a[0] + ux * k, a[1] + uy * k)
            if k < steps and nxt not in node_cells:
                filler.add(nxt)
            wanted.add((prev, nxt))
            prev = nxt
        long_edges += steps > 1
        if e.max_speed_mps[vt] is not None:
            speeds.append(float(e.max_speed_mps[vt]))  # type: ignore[arg-type]
    for items, what in (
        (closed, f"not open to {vt!r}"),
        (elsewhere, "lead into another layout"),
        (unplaced, "touch a node left out"),
        (diagonal, "are not along a grid axis"),
    ):
        if items:
            notes.append(f"edges: {len(items)} {what}, left out: {some(items)}")
    if long_edges:
        notes.append(
            f"edges: {long_edges} span several cells; {len(filler)} floor cells filled in between"
        )
    return wanted, filler, speeds


def lif_features(
    lay: LifLayout,
    vt: str,
    nodes: list[LifNode],
    cell_of: dict[str, Coord],
    wanted: set[Edge],
    chars: dict[Coord, str],
    notes: list[str],
) -> tuple[list[dict], list[dict], list[dict]]:
    actions = {n.id: n.actions[vt] for n in nodes}
    owner: dict[Coord, str] = {}
    picks: list[dict] = []
    chargers: list[dict] = []
    parking: list[dict] = []
    for st in lay.stations:
        usable = [n for n in st.nodes if n in cell_of]
        if not usable:
            notes.append(f"stations: {st.id!r} has no interaction node on the grid, left out")
            continue
        if len(usable) > 1:
            notes.append(
                f"stations: {st.id!r} has {len(usable)} interaction nodes; uses {usable[0]}"
            )
        c = cell_of[usable[0]]
        if c in owner:
            notes.append(f"stations: {st.id!r} shares node {usable[0]} with {owner[c]!r}, left out")
            continue
        kind = classify_station(st, actions.get(usable[0], ()))
        entry = {"id": st.id, "at": c}
        if kind == "pick":
            picks.append(entry)
            chars[c] = "S"
        elif kind == "charger":
            chargers.append(entry)
            chars[c] = "C"
        elif kind == "parking":
            parking.append(entry)
            chars[c] = "P"
        else:
            what = "an AS/RS I/O point" if kind == "asrs-io" else "a conveyor handoff point"
            notes.append(
                f"stations: {st.id!r} is {what}; the site has no AS/RS or conveyors: plain floor"
            )
            continue
        owner[c] = st.id
    taken = set(owner)
    for s in picks:
        s["queue"] = infer_queue(s["at"], wanted, taken)
        for q in s["queue"]:
            chars[q] = "q"
            taken.add(q)
        s["pick_time_s_per_unit"] = PICK_TIME_S_PER_UNIT
    if picks:
        notes.append(f"stations: pick_time_s_per_unit not in LIF: {PICK_TIME_S_PER_UNIT:g} s each")
    return picks, chargers, parking
