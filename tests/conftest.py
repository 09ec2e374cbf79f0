"""Shared test fixtures: repository paths, free loopback ports, the shared benchmark maps, a
throwaway PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fleet_manager.child_process import free_loopback_port
from fleet_manager.store.pg_throwaway import ThrowawayPostgres, find_bin_dir

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


@pytest.fixture(scope="session")
def pg_server() -> Iterator[ThrowawayPostgres]:
    """One PostgreSQL server per session from the installed binaries; `create_database()`."""
    if find_bin_dir() is None:
        pytest.skip("PostgreSQL server binaries absent (/usr/lib/postgresql/*/bin/initdb)")
    with ThrowawayPostgres() as server:
        yield server
