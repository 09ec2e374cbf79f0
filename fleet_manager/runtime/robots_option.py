"""`wcs run --robots vda5050[:N]`: parse the option and find free cells to place N vehicles."""

from __future__ import annotations

from fleet_manager.site.model import Site

DEFAULT_COUNT = 4


def parse_robots_option(text: str) -> int:
    """`vda5050` -> DEFAULT_COUNT, `vda5050:N` -> N; ValueError naming the problem otherwise."""
    kind, _, count = text.partition(":")
    if kind != "vda5050":
        raise ValueError(f"--robots {text!r}: only 'vda5050' or 'vda5050:N' is supported")
    if not count:
        return DEFAULT_COUNT
    if not count.isdigit() or int(count) < 1:
        raise ValueError(f"--robots {text!r}: N must be a whole number >= 1")
    return int(count)


def free_start_nodes(site: Site, count: int) -> list[int]:
    """`count` aisle cells no site robot starts on, spread evenly over the map (deterministic)."""
    used = {r.start for r in site.robots}
    free = sorted(v for v, k in site.graph.nodes(data="kind") if k == "aisle" and v not in used)
    if count > len(free):
        raise ValueError(f"--robots: {count} VDA 5050 vehicles do not fit, {len(free)} free cells")
    step = len(free) / count
    return [free[int(i * step + step / 2)] for i in range(count)]
