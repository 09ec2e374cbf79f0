"""`wcs import-lif FILE --out SITE.yaml` and `wcs export-lif [--map SITE] --out FILE.json`."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from fleet_manager.site.cli import load_site_or_report, summary
from fleet_manager.site.lif import LifError, export_lif, export_notes, import_lif_site
from fleet_manager.site.paths import default_map_path

EXIT_BAD_INPUT = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    imp = subparsers.add_parser(
        "import-lif", help="turn a VDA LIF 1.x layout (JSON) into a site map (docs/lif.md)"
    )
    imp.add_argument("file", help="LIF file (JSON)")
    imp.add_argument("--out", required=True, help="site map to write (.yaml)")
    imp.add_argument("--layout", default=None, help="layoutId to import (default: the first)")
    imp.add_argument(
        "--vehicle-type", default=None, help="vehicleTypeId to import (default: the most used)"
    )
    imp.add_argument("--name", default=None, help="site name (default: the layoutId)")
    imp.set_defaults(func=handle_import)
    exp = subparsers.add_parser("export-lif", help="write a site map as a VDA LIF 1.0.0 file")
    exp.add_argument("--map", default=None, help=f"site map (default: {default_map_path()})")
    exp.add_argument("--out", required=True, help="LIF file to write (.json)")
    exp.add_argument("--vehicle-type", default="wcs.amr", help="vehicleTypeId (default: wcs.amr)")
    exp.set_defaults(func=handle_export)


def _write_atomically(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so a failed run never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def handle_import(args: argparse.Namespace) -> int:
    try:
        with open(args.file, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as exc:
        print(f"{args.file}: cannot read: {exc.strerror}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = f" at line {exc.lineno}, column {exc.colno}" if hasattr(exc, "lineno") else ""
        msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        print(f"{args.file}: not valid JSON{where}: {msg}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        result = import_lif_site(
            data,
            layout_id=args.layout,
            vehicle_type_id=args.vehicle_type,
            name=args.name,
            source=args.out,
        )
        _write_atomically(Path(args.out), result.yaml_text)
    except LifError as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        print(f"{args.out}: cannot write: {exc.strerror}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for note in result.notes:
        print(f"note: {note}")
    print(summary(result.site))
    return 0


def handle_export(args: argparse.Namespace) -> int:
    path = args.map or str(default_map_path())
    site = load_site_or_report(path)
    if site is None:
        return EXIT_BAD_INPUT
    try:
        document = export_lif(site, vehicle_type_id=args.vehicle_type)
        _write_atomically(Path(args.out), json.dumps(document, indent=2) + "\n")
    except LifError as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        print(f"{args.out}: cannot write: {exc.strerror}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for note in export_notes(site):
        print(f"note: {note}")
    layout = document["layouts"][0]
    version = document["metaInformation"]["lifVersion"]
    print(
        f"{args.out}: LIF {version}, layout {layout['layoutId']!r}: "
        f"{len(layout['nodes'])} nodes, {len(layout['edges'])} edges, "
        f"{len(layout['stations'])} stations"
    )
    return 0
