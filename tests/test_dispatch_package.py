"""fleet_manager/dispatch/: its parts never reach back into the Dispatcher; public names stay put."""

from __future__ import annotations

import ast
from pathlib import Path

from fleet_manager import dispatch

PACKAGE = Path(dispatch.__file__).parent
COMPOSITION = {"__init__.py", "core.py"}  # the only modules that may know the Dispatcher


def _imports(path: Path) -> list[tuple[str, str]]:
    """(module, name) for every `from m import n` and (module, "") for every `import m`."""
    out: list[tuple[str, str]] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            out += [(node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            out += [(alias.name, "") for alias in node.names]
    return out


def test_parts_get_what_they_need_instead_of_the_dispatcher() -> None:
    parts = sorted(p for p in PACKAGE.glob("*.py") if p.name not in COMPOSITION)
    assert len(parts) >= 8, parts
    for path in parts:
        for module, name in _imports(path):
            where = f"{path.name} imports {module} {name}".strip()
            assert module not in ("fleet_manager.dispatch", "fleet_manager.dispatch.core"), where
            assert name not in ("Dispatcher", "TYPE_CHECKING"), where
            assert module.split(".")[0] != "sim", where


def test_public_names_come_from_the_package() -> None:
    expected = {
        "CommandRejected",
        "DispatchConfig",
        "Dispatcher",
        "Phase",
        "PodState",
        "RobotRecord",
        "Scanner",
        "StationState",
        "UnknownResource",
        "perfect_scanner",
    }
    assert expected <= set(dispatch.__all__)
    for name in expected:
        assert getattr(dispatch, name) is not None, name
