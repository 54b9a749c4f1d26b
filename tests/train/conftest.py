"""Fixtures of the training tests; the tiny processed root ``tiny_root`` is ``tests/conftest.py``'s, the tiny
networks ``tests/tiny_planners.py``'s."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tiny_planners import tiny_set


@pytest.fixture
def root_copy(tiny_root, tmp_path) -> Path:
    """A copy of the tiny processed root that a test may break."""
    return Path(shutil.copytree(tiny_root.root, tmp_path / "processed"))


@pytest.fixture(scope="session")
def tiny_giga() -> list[str]:
    """``--set`` arguments of a small GIGA network (a step takes ~0.1 s on the CPU)."""
    return tiny_set("giga")
