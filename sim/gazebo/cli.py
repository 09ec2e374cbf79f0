"""`wcs export-gazebo --map FILE --out DIR`: the site's Gazebo world and ros_gz_bridge config."""

from __future__ import annotations

import argparse
import sys
from typing import Any

EXIT_BAD_INPUT = 2


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "export-gazebo", help="write an SDF 1.9 world and a ros_gz_bridge config from a map"
    )
    parser.add_argument("--map", required=True, help="site map file (YAML)")
    parser.add_argument("--out", required=True, help="output directory")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fleet_manager.site import load_site
    from fleet_manager.site.errors import MapError
    from sim.gazebo.export import export_gazebo

    try:
        site = load_site(args.map)
    except FileNotFoundError:
        print(f"export-gazebo: map file not found: {args.map}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except MapError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"export-gazebo: invalid map: {first}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        exported = export_gazebo(site, args.out)
    except OSError as exc:
        print(f"export-gazebo: cannot write to {args.out}: {exc.strerror}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"world:  {exported.world_path}")
    print(f"bridge: {exported.bridge_path}")
    return 0
