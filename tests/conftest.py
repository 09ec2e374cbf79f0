"""Shared test fixtures: repository paths, free loopback ports, the shared benchmark maps."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleet_manager.child_process import free_loopback_port

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_MAPS = REPO_ROOT.parent / "shared" / "benchmarks" / "maps"


free_port = free_loopback_port  # tests import it from here


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def shared_maps() -> Path:
    if not SHARED_MAPS.is_dir():
        pytest.skip(f"shared benchmark maps not found at {SHARED_MAPS}")
    return SHARED_MAPS
