"""The `wcs` command: one entry point whose subcommands live beside the code they drive.

The control plane's own commands are listed here; the simulators add theirs from outside
through the `wcs.commands` entry point group (see pyproject.toml), so this module never names
them.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from importlib.metadata import entry_points

# Each module exposes `register(subparsers)`, adding its subcommands with
# `set_defaults(func=handler)`; a handler takes the parsed args and returns an exit code.
COMMAND_MODULES = (
    "fleet_manager.site.cli",  # validate-map
    "fleet_manager.site.lif_cli",  # import-lif, export-lif
    "fleet_manager.service_cli",  # run, serve
    "fleet_manager.plant.cli",  # validate-plant
    "fleet_manager.plant.check_cli",  # check-plant
    "fleet_manager.api.token_cli",  # token
)
COMMAND_GROUP = "wcs.commands"  # plug-ins: simulate, sim-plc, sim-equipment, export-gazebo...

EXIT_BAD_INPUT = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wcs", description="Warehouse control system")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    plugins = sorted(entry_points(group=COMMAND_GROUP), key=lambda ep: ep.name)
    for name in [*COMMAND_MODULES, *(ep.value for ep in plugins)]:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            # Only tolerate the command module itself being absent (optional part not installed);
            # a missing dependency inside a present module is a real error.
            if exc.name != name:
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
