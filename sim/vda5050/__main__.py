"""`python -m sim.vda5050 ...` = `wcs sim-vda-robot ...` without loading every other command."""

import argparse
import sys

from sim.vda5050.cli import register


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.vda5050")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["sim-vda-robot", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
