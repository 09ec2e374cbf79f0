"""LIF 1.x -> site map: nodes on a regular grid become cells, edges moves, stations features."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from fleet_manager.domain import Coord
from fleet_manager.site.errors import MapError, MapValidationError
from fleet_manager.site.lif.document import site_document
from fleet_manager.site.lif.export import SLOT_ACTIONS
from fleet_manager.site.lif.features import Edge, choose_arrows
from fleet_manager.site.lif.floor import lif_features, lif_moves, some
from fleet_manager.site.lif.grid import fit_grid, infer_cell_size
from fleet_manager.site.lif.parse import LifDocument, LifError, LifLayout, parse_lif
from fleet_manager.site.lif.site_yaml import site_yaml
from fleet_manager.site.loader import site_from_document
from fleet_manager.site.model import Site


@dataclass
class LifImport:
    """The imported site: the map document, its YAML text, the validated Site and the notes."""

    document: dict[str, Any]
    yaml_text: str
    site: Site
    notes: list[str]


def _choose_layout(doc: LifDocument, layout_id: str | None, notes: list[str]) -> LifLayout:
    if layout_id is not None:
        for lay in doc.layouts:
            if lay.id == layout_id:
                break
        else:
            known = ", ".join(repr(x.id) for x in doc.layouts)
            raise LifError("layouts", f"no layout {layout_id!r} (have {known})")
    else:
        lay = doc.layouts[0]
    others = [x.id for x in doc.layouts if x is not lay]
    if others:
        notes.append(f"layouts: imported {lay.id!r} only; not imported: {some(others)}")
    return lay


def _choose_vehicle_type(lay: LifLayout, wanted: str | None, notes: list[str]) -> str:
    counts = Counter(vt for n in lay.nodes for vt in n.actions)
    if not counts:
        raise LifError(f"{lay.path}.nodes", "the layout has no nodes")
    if wanted is not None:
        if wanted not in counts:
            raise LifError(f"{lay.path}.nodes", f"no node is open to vehicle type {wanted!r}")
        vt = wanted
    else:
        top = max(counts.values())
        vt = min(k for k, v in counts.items() if v == top)
    if len(counts) > 1:
        others = sorted(set(counts) - {vt})
        notes.append(f"vehicle types: imported {vt!r} only; ignored: {some(others)}")
    return vt


def import_lif_site(
    data: Any,
    *,
    layout_id: str | None = None,
    vehicle_type_id: str | None = None,
    name: str | None = None,
    source: str = "LIF import",
) -> LifImport:
    """A decoded LIF document as a validated site map; LifError names the JSON path at fault."""
    doc = parse_lif(data)
    notes: list[str] = []
    lay = _choose_layout(doc, layout_id, notes)
    vt = _choose_vehicle_type(lay, vehicle_type_id, notes)
    nodes = [n for n in lay.nodes if vt in n.actions]
    if len(nodes) < len(lay.nodes):
        closed = [n.id for n in lay.nodes if vt not in n.actions]
        notes.append(f"nodes: {len(closed)} not open to {vt!r}, left out: {some(closed)}")
    cell_m = infer_cell_size(np.array([(n.x_m, n.y_m) for n in nodes], dtype=float))
    if cell_m is None:
        raise LifError(
            f"{lay.path}.nodes", "need two nodes at distinct positions to infer the grid"
        )
    fit = fit_grid(nodes, cell_m)
    if fit.off_grid:
        notes.append(
            f"nodes: {len(fit.off_grid)} off the {cell_m:g} m grid, left out: {some(fit.off_grid)}"
        )
    if fit.doubled:
        pairs = [f"{a} (on {b}'s cell)" for a, b in fit.doubled]
        notes.append(f"nodes: {len(pairs)} share a cell with another node, left out: {some(pairs)}")
    cell_of = fit.cells
    node_cells = set(cell_of.values())
    name_of = {c: n for n, c in cell_of.items()}

    wanted, filler, speeds = lif_moves(lay, vt, cell_of, node_cells, notes)
    chars: dict[Coord, str] = {c: "." for c in node_cells | filler}
    stations, chargers, parking = lif_features(lay, vt, nodes, cell_of, wanted, chars, notes)
    for n in nodes:
        c = cell_of.get(n.id)
        if c is not None and chars[c] == "." and any(a in SLOT_ACTIONS for a in n.actions[vt]):
            chars[c] = "s"
    chars.update(choose_arrows(chars, [(s["at"], s["queue"]) for s in stations], wanted))

    document = site_document(
        lay, doc, name, cell_m, chars, stations, chargers, parking, speeds, notes
    )
    site = _validated(document, source, lay)
    _report_edge_differences(site, wanted, name_of, notes)
    header = [
        (
            f"Imported by `wcs import-lif` from LIF {doc.version} (project {doc.project!r}, "
            f"layout {lay.id!r}, vehicle type {vt!r}). Format: docs/map-format.md."
        ),
        *(f"note: {n}" for n in notes),
    ]
    return LifImport(document, site_yaml(document, header), site, notes)


def import_lif(data: Any, **options: Any) -> tuple[str, list[str]]:
    """(site map YAML text, notes on what could not be mapped) for a decoded LIF document."""
    result = import_lif_site(data, **options)
    return result.yaml_text, result.notes


def _validated(document: dict[str, Any], source: str, lay: LifLayout) -> Site:
    try:
        return site_from_document(document, source, document["name"])
    except MapError as exc:
        errors = exc.errors if isinstance(exc, MapValidationError) and exc.errors else [exc]
        first = errors[0]
        where = f" at {first.location}" if first.location else ""
        more = f" (+{len(errors) - 1} more faults)" if len(errors) > 1 else ""
        raise LifError(
            lay.path,
            f"the imported site does not validate: {first.field}{where}: {first.message}{more}",
        ) from exc


def _report_edge_differences(
    site: Site, wanted: set[Edge], name_of: dict[Coord, str], notes: list[str]
) -> None:
    got = {(site.coord(a), site.coord(b)) for a, b in site.graph.edges}

    def label(e: Edge) -> str:
        a, b = (name_of.get(c, f"cell {c[0]},{c[1]}") for c in e)
        return f"{a}->{b}"

    missing = [label(e) for e in sorted(wanted - got)]
    extra = [label(e) for e in sorted(got - wanted)]
    if missing:
        notes.append(f"edges: {len(missing)} moves the grid rules cannot express: {some(missing)}")
    if extra:
        notes.append(f"edges: {len(extra)} moves the grid adds that the LIF lacks: {some(extra)}")
