"""`wcs validate-plant FILE`: load and check a plant file, print a redacted table of its devices."""

from __future__ import annotations

import argparse
import sys

from fleet_manager.plant.errors import PlantError
from fleet_manager.plant.loader import load_plant
from fleet_manager.plant.model import Plant

EXIT_BAD_INPUT = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "validate-plant",
        help="check a plant file (devices of a site, ${VAR} from the environment) and list them",
    )
    parser.add_argument("file", help="plant file, e.g. config/plants/loopback.yaml")
    parser.set_defaults(func=handle_validate_plant)


def load_plant_or_report(path: str) -> Plant | None:
    """The plant at `path`, or None after printing every problem (one per line) to stderr."""
    try:
        return load_plant(path)
    except PlantError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
    return None


def handle_validate_plant(args: argparse.Namespace) -> int:
    plant = load_plant_or_report(args.file)
    if plant is None:
        return EXIT_BAD_INPUT
    print(plant.describe())
    return 0
