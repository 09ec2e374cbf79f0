"""`wcs validate-plant FILE`: load and check a plant file, print a redacted table of its devices."""

from __future__ import annotations

import argparse
import sys

from fleet_manager.plant.errors import PlantError
from fleet_manager.plant.loader import load_plant

EXIT_BAD_INPUT = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "validate-plant",
        help="check a plant file (devices of a site, ${VAR} from the environment) and list them",
    )
    parser.add_argument("file", help="plant file, e.g. config/plants/loopback.yaml")
    parser.set_defaults(func=handle_validate_plant)


def handle_validate_plant(args: argparse.Namespace) -> int:
    try:
        plant = load_plant(args.file)
    except PlantError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        return EXIT_BAD_INPUT
    print(plant.describe())
    return 0
