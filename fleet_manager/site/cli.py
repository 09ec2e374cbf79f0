"""`wcs validate-map [FILE]`: load and validate a site map, print a one-line summary."""

from __future__ import annotations

import argparse
import sys

from fleet_manager.site.errors import MapError, MapValidationError
from fleet_manager.site.loader import load_site
from fleet_manager.site.model import Site
from fleet_manager.site.paths import default_map_path

EXIT_BAD_INPUT = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "validate-map", help="check a site map (.yaml/.yml or .map grid) and summarise it"
    )
    parser.add_argument(
        "file", nargs="?", default=None, help=f"map file (default: {default_map_path()})"
    )
    parser.set_defaults(func=handle_validate_map)


def summary(site: Site) -> str:
    """One line: the counts every other part sizes itself by."""
    lanes = sum(len(s.lanes) for s in site.sorters.values())
    asrs_slots = sum(a.bays * a.levels * a.sides * a.depth for a in site.asrs.values())
    return (
        f"{site.source or site.name}: ok: {site.num_nodes} nodes, {site.graph.number_of_edges()} "
        f"edges, {len(site.robots)} robots, {len(site.stations)} stations, {len(site.pods)} pods "
        f"on {len(site.slots)} slots, {len(site.chargers)} chargers, {len(site.parking)} parking, "
        f"{lanes} sorter lanes, {asrs_slots} AS/RS slots, {len(site.skus)} SKUs"
    )


def load_site_or_report(path: str) -> Site | None:
    """The site at `path`, or None after printing every fault (one per line) to stderr."""
    try:
        return load_site(path)
    except MapValidationError as exc:
        for err in exc.errors:
            print(str(err), file=sys.stderr)
    except MapError as exc:
        print(str(exc), file=sys.stderr)
    return None


def handle_validate_map(args: argparse.Namespace) -> int:
    site = load_site_or_report(args.file or str(default_map_path()))
    if site is None:
        return EXIT_BAD_INPUT
    print(summary(site))
    return 0
