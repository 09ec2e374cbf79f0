"""Floor features placed on layout cells: stations, chargers, parking, robot starts, slots."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fleet_manager.domain import Coord
from fleet_manager.site.fields import Faults, at_cell, cell, label, mapping, number, sequence, text
from fleet_manager.site.layout import LEGEND, Layout


@dataclass
class Floor:
    """The layout with forbidden cells known; resolves and claims cells for features."""

    f: Faults
    layout: Layout
    removed: dict[Coord, str]  # cell -> id of the forbidden zone covering its centre
    claimed: dict[Coord, str] = field(default_factory=dict)  # cell -> feature that owns it

    def resolve(
        self, value: Any, fld: str, expect: str, what: str, claim: bool = True
    ) -> Coord | None:
        """A cell [x, y] that must hold one of the `expect` characters ('' = any traversable)."""
        c = cell(self.f, value, fld)
        if c is None:
            return None
        lay = self.layout
        if not lay.inside(c):
            self.f.add(
                fld, f"{what} is outside the layout ({lay.width} x {lay.height} cells)", at_cell(c)
            )
            return None
        ch = lay.char(c)
        if (expect and ch not in expect) or (not expect and LEGEND[ch] is None):
            if ch == "#":
                found = "a wall"
            elif LEGEND[ch] is None:
                found = "off the AMR floor"
            else:
                found = f"a {LEGEND[ch]} cell {ch!r}"
            wanted = f", expected {' or '.join(repr(e) for e in expect)}" if expect else ""
            self.f.add(fld, f"{what} is {found}{wanted}", at_cell(c))
            return None
        if c in self.removed:
            self.f.add(fld, f"{what} is inside forbidden zone {self.removed[c]}", at_cell(c))
            return None
        if claim:
            owner = self.claimed.get(c)
            if owner is not None:
                self.f.add(fld, f"{what} overlaps {owner} on the same cell", at_cell(c))
                return None
            self.claimed[c] = fld
        return c


@dataclass
class StationDraft:
    id: str
    pick: Coord
    queue: tuple[Coord, ...]
    pick_time_s_per_unit: float


def _adjacent(a: Coord, b: Coord) -> bool:
    return abs(a[0] - b[0]) + abs(a[1] - b[1]) == 1


def parse_stations(floor: Floor, value: Any) -> list[StationDraft]:
    f = floor.f
    out: list[StationDraft] = []
    seen: set[str] = set()
    entries = sequence(f, value, "stations") if value is not None else []
    for i, raw in enumerate(entries or []):
        fld = label("stations", i, raw)
        d = mapping(f, raw, fld, {"id", "at", "queue", "pick_time_s_per_unit"})
        if d is None:
            continue
        sid = text(f, d, "id", fld)
        if sid in seen:
            f.add(f"{fld}.id", f"duplicate station id {sid!r}")
            sid = None
        pick = floor.resolve(d.get("at"), f"{fld}.at", "S", "pick cell")
        pick_time = number(f, d, "pick_time_s_per_unit", fld, default=10.0, positive=True)
        queue: list[Coord] = []
        ok = True
        raw_queue = sequence(f, d.get("queue", []), f"{fld}.queue")
        for j, rq in enumerate(raw_queue or []):
            q = floor.resolve(rq, f"{fld}.queue[{j}]", "q", "queue cell")
            if q is None:
                ok = False
                continue
            if queue and not _adjacent(queue[-1], q):
                f.add(
                    f"{fld}.queue[{j}]",
                    f"queue cell is not next to the previous one {queue[-1]}",
                    at_cell(q),
                )
                ok = False
            queue.append(q)
        if ok and queue and pick is not None and not _adjacent(queue[-1], pick):
            f.add(
                f"{fld}.queue", "last queue cell must be next to the pick cell", at_cell(queue[-1])
            )
            ok = False
        if sid is None or pick is None or pick_time is None or raw_queue is None or not ok:
            continue
        seen.add(sid)
        out.append(StationDraft(sid, pick, tuple(queue), pick_time))
    for ch, what in (("S", "pick cell"), ("q", "queue cell")):
        for c in floor.layout.cells_of(ch):
            if c not in floor.claimed and c not in floor.removed:
                f.add("layout", f"{what} {ch!r} belongs to no entry of `stations`", at_cell(c))
    return out


def parse_placed(
    floor: Floor, value: Any, section: str, ch: str, prefix: str, what: str
) -> list[tuple[str, Coord]]:
    """Chargers, parking spots or robots: layout `ch` cells with automatic ids, plus a list.

    The section is either a mapping `{prefix: ...}` or a list of `{id, at}` entries; listed
    entries name layout cells (robots may start on any traversable cell); unnamed `ch` cells
    get ids prefix + running number in reading order.
    """
    f = floor.f
    named: list[tuple[str, Coord]] = []
    if isinstance(value, dict):
        d = mapping(f, value, section, {"prefix"})
        prefix = (text(f, d, "prefix", section, default=prefix) if d else prefix) or prefix
        entries: list = []
    else:
        entries = (sequence(f, value, section) if value is not None else []) or []
    expect = "" if section == "robots" else ch
    owners: dict[Coord, str] = {}
    for i, raw in enumerate(entries):
        fld = label(section, i, raw)
        d = mapping(f, raw, fld, {"id", "at"})
        if d is None:
            continue
        ident = text(f, d, "id", fld)
        c = floor.resolve(d.get("at"), f"{fld}.at", expect, what, claim=section != "robots")
        if c is not None and section == "robots":
            if c in owners:
                f.add(f"{fld}.at", f"{what} overlaps {owners[c]} on the same cell", at_cell(c))
                c = None
            else:
                owners[c] = fld
        if ident is not None and c is not None:
            named.append((ident, c))
    done = {c for _, c in named}
    auto = [c for c in floor.layout.cells_of(ch) if c not in done and c not in floor.removed]
    mentioned = {
        (e["at"][0], e["at"][1])
        for e in entries
        if isinstance(e, dict)
        and isinstance(e.get("at"), list)
        and len(e["at"]) == 2
        and all(isinstance(v, int) for v in e["at"])
    }
    for c in floor.layout.cells_of(ch):
        if c in floor.removed and c not in mentioned:
            f.add(
                "layout", f"{what} {ch!r} is inside forbidden zone {floor.removed[c]}", at_cell(c)
            )
    width = max(2, len(str(len(auto) + len(named))))
    placed = named + [(f"{prefix}{k + 1:0{width}d}", c) for k, c in enumerate(auto)]
    if section != "robots":
        for c in auto:
            floor.claimed.setdefault(c, section)
    ids: set[str] = set()
    out = []
    for ident, c in placed:
        if ident in ids:
            f.add(f"{section}[{ident}]", f"duplicate id {ident!r}", at_cell(c))
            continue
        ids.add(ident)
        out.append((ident, c))
    return out
