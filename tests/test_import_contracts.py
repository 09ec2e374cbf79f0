"""The layering is a test: import-linter's contracts (pyproject.toml) hold for the whole tree."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _lint_imports() -> list[str]:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"
    return [exe, "--no-cache"]


def test_import_contracts_hold() -> None:
    run = subprocess.run(_lint_imports(), check=False, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "Contracts: 3 kept, 0 broken." in run.stdout


def test_a_forbidden_import_breaks_the_contract(tmp_path: Path) -> None:
    """The contracts can fail: a copy of the tree where the dispatcher imports sim is refused."""
    copy = tmp_path / "tree"
    for name in ("fleet_manager", "plc_bridge", "sim"):
        shutil.copytree(REPO / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", copy / "pyproject.toml")
    bad = copy / "fleet_manager" / "dispatch" / "motion.py"
    bad.write_text(bad.read_text() + "\nimport sim.world  # noqa: E402,F401\n")
    run = subprocess.run(_lint_imports(), check=False, cwd=copy, capture_output=True, text=True, timeout=120,
                         env={"PYTHONPATH": str(copy), "PATH": "/usr/bin:/bin"})
    assert run.returncode != 0
    assert "The control plane never imports the simulators BROKEN" in run.stdout
    assert "fleet_manager.dispatch.motion -> sim.world" in run.stdout
