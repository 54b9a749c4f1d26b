"""Fixtures of the planner tests (helpers live in ``planner_scenes.py``, importable by name)."""

from __future__ import annotations

import numpy as np
import pytest
from planner_scenes import make_box_grid


@pytest.fixture(scope="session")
def box_grid() -> np.ndarray:
    """``make_box_grid()``: a 5 x 4 x 6 cm box on the table, ``(1, 40, 40, 40)`` (read-only)."""
    grid = make_box_grid()
    grid.setflags(write=False)
    return grid
