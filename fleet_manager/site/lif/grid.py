"""LIF node positions -> grid cells: cell size from the nearest-neighbour spacing, then snapping."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

from fleet_manager.domain import Coord
from fleet_manager.site.lif.parse import LifNode

OFF_GRID_TOLERANCE = 0.01  # share of a cell a node may sit away from its grid point
SPACING_RESOLUTION_M = 1e-4  # spacings are compared at 0.1 mm, so 1.2499999 counts as 1.25


@dataclass
class GridFit:
    """Where each LIF node lands on the site grid (x right, y down, in cells)."""

    cell_size_m: float
    cells: dict[str, Coord] = field(default_factory=dict)  # nodeId -> cell
    off_grid: list[str] = field(default_factory=list)  # nodeIds too far from any grid point
    doubled: list[tuple[str, str]] = field(default_factory=list)  # (dropped, kept) on one cell
    absolute: bool = False  # the exporter's own frame: no shift was needed


def infer_cell_size(xy: np.ndarray) -> float | None:
    """The most common nearest-neighbour distance (ties: the smallest); None below two points."""
    if len(xy) < 2:
        return None
    dist, _ = cKDTree(xy).query(xy, k=2)
    nearest = dist[:, 1]
    nearest = nearest[nearest > SPACING_RESOLUTION_M]
    if not len(nearest):
        return None
    counts = Counter(np.round(nearest / SPACING_RESOLUTION_M).astype(np.int64).tolist())
    top = max(counts.values())
    return min(k for k, v in counts.items() if v == top) * SPACING_RESOLUTION_M


def _phase(u: np.ndarray) -> float:
    """The most common offset of positions from whole cells, in [-0.5, 0.5)."""
    frac = np.round(np.mod(u + 0.5, 1.0) - 0.5, 2)
    frac[frac >= 0.5] -= 1.0  # 1.5 and 2.5 both give -0.5 (np.round rounds halves to even)
    counts = Counter(frac.tolist())
    top = max(counts.values())
    return float(min(k for k, v in counts.items() if v == top))


def fit_grid(nodes: list[LifNode], cell_size_m: float) -> GridFit:
    """Snap nodes to cells of `cell_size_m`; y is flipped (LIF y up, site rows down).

    A node whose centre is ((x + 0.5) c, -(y + 0.5) c) for whole x, y >= 0 lands on cell (x, y),
    which is how `export_lif` writes cells; any other regular grid is shifted so its first
    row and column are 1, leaving a wall border.
    """
    fit = GridFit(cell_size_m)
    if not nodes:
        return fit
    xy = np.array([(n.x_m, n.y_m) for n in nodes], dtype=float)
    u = xy[:, 0] / cell_size_m - 0.5
    v = -xy[:, 1] / cell_size_m - 0.5
    pu, pv = _phase(u), _phase(v)
    cu, cv = np.round(u - pu), np.round(v - pv)
    on = (np.abs(u - pu - cu) < OFF_GRID_TOLERANCE) & (np.abs(v - pv - cv) < OFF_GRID_TOLERANCE)
    if not on.any():
        fit.off_grid = [n.id for n in nodes]
        return fit
    fit.absolute = pu == 0 and pv == 0 and cu[on].min() >= 0 and cv[on].min() >= 0
    if not fit.absolute:
        cu = cu - cu[on].min() + 1
        cv = cv - cv[on].min() + 1
    owner: dict[Coord, str] = {}
    for i, n in enumerate(nodes):
        if not on[i]:
            fit.off_grid.append(n.id)
            continue
        c = (int(cu[i]), int(cv[i]))
        if c in owner:
            fit.doubled.append((n.id, owner[c]))
            continue
        owner[c] = n.id
        fit.cells[n.id] = c
    return fit
