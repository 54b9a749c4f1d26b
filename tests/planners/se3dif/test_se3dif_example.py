"""``examples/se3dif_motion.py`` runs as documented: random tiny weights, and a one-line error for weights
of another planner."""

import runpy
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "se3dif_motion.py"


@pytest.fixture(scope="module")
def example():
    return runpy.run_path(str(EXAMPLE))["main"]


def test_the_example_optimises_a_grasp_and_writes_the_path(example, tmp_path, capsys):
    import numpy as np

    out = tmp_path / "path.npy"
    assert example(["--random", "--iterations", "20", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "collision" in printed and "waypoints" in printed
    path = np.load(out)
    assert path.shape == (8, 4, 4) and np.isfinite(path).all()


def test_the_example_refuses_another_planners_weights(example, tmp_path, capsys):
    from tests.tiny_planners import tiny_planner

    weights = tiny_planner("giga").save_pretrained(tmp_path / "giga.pt")
    assert example(["--weights", str(weights)]) == 2
    assert "not an se3dif one" in capsys.readouterr().err
