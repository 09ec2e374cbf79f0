"""Site maps: the one source of truth for graph, simulator and Gazebo world."""

from fleet_manager.site.errors import MapError, MapValidationError
from fleet_manager.site.loader import load_site
from fleet_manager.site.paths import default_map_path
from fleet_manager.site.validate import validate_site

__all__ = ["MapError", "MapValidationError", "default_map_path", "load_site", "validate_site"]
