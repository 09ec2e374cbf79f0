"""Write the world SDF and the bridge config of a Site into a directory."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from fleet_manager.site.model import Site
from sim.gazebo.bridge import bridge_yaml
from sim.gazebo.world import model_name, world_sdf


@dataclass(frozen=True)
class ExportedWorld:
    world_name: str
    world_path: Path
    bridge_path: Path


def _write_atomic(path: Path, text: str) -> None:
    """Readers never see half a file: write beside it, then rename."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def export_gazebo(site: Site, out_dir: str | Path) -> ExportedWorld:
    """Writes <world>.sdf and <world>_bridge.yaml; both derive from the one Site."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    name = model_name("wcs", site.name or "site")
    # Build both texts first so a failure leaves nothing half-written.
    sdf_text = world_sdf(site, name)
    bridge_text = bridge_yaml(site, name)
    world_path = out / f"{name}.sdf"
    bridge_path = out / f"{name}_bridge.yaml"
    _write_atomic(world_path, sdf_text)
    _write_atomic(bridge_path, bridge_text)
    return ExportedWorld(name, world_path, bridge_path)
