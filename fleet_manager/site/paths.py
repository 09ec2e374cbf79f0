"""Default file locations shared by every command (one default map for all of them)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def default_map_path() -> Path:
    """The built-in demo warehouse, `maps/demo.yaml` at the repository root."""
    return REPO_ROOT / "maps/demo.yaml"
