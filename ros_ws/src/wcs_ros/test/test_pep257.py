"""ament_pep257 over the package (the docstring linter its package.xml declares)."""

from pathlib import Path

from ament_pep257.main import main
import pytest

PACKAGE = Path(__file__).resolve().parents[1]  # wherever pytest runs from


@pytest.mark.linter
@pytest.mark.pep257
def test_pep257() -> None:
    rc = main(argv=[str(PACKAGE)])
    assert rc == 0, 'Found code style errors / warnings'
