"""Shared test fixtures: repository paths, free loopback ports, the shared benchmark maps."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_MAPS = REPO_ROOT.parent / "shared" / "benchmarks" / "maps"


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def shared_maps() -> Path:
    if not SHARED_MAPS.is_dir():
        pytest.skip(f"shared benchmark maps not found at {SHARED_MAPS}")
    return SHARED_MAPS
