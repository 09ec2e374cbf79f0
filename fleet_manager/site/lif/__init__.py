"""VDA/VDMA Layout Interchange Format (LIF 1.0.0): site export and LIF import (docs/lif.md)."""

from fleet_manager.site.lif.export import export_lif, export_notes
from fleet_manager.site.lif.importer import LifImport, import_lif, import_lif_site
from fleet_manager.site.lif.parse import LIF_VERSION, LifError, parse_lif

__all__ = [
    "LIF_VERSION",
    "LifError",
    "LifImport",
    "export_lif",
    "export_notes",
    "import_lif",
    "import_lif_site",
    "parse_lif",
]
