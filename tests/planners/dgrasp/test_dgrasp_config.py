"""dGrasp's config and input checks: bad values and shapes are one-line IGDErrors naming what was wrong."""

from __future__ import annotations

import numpy as np
import pytest

from igd.errors import IGDError
from igd.planners.base import build_config
from igd.planners.dgrasp import DGraspConfig

BAD = [("rotation", "euler", "rotation must be one of ['quat', 'sixd'], got 'euler'"),
       ("ascent", "both", "ascent must be one of ['sequential', 'synchronous'], got 'both'"),
       ("initial_poses", 0, "initial_poses must be an int in [1, 1048576], got 0"),
       ("position_steps", -1, "position_steps must be an int in [0, 10000], got -1"),
       ("negatives", 0, "negatives must be an int in [1, 65536], got 0"),
       ("position_lr", -0.1, "position_lr must be a number in [0.0, 10.0], got -0.1"),
       ("aux_gap", 0.0, "aux_gap must be a number in [0.01, 1.0], got 0.0"),
       ("aux_loss", "yes", "aux_loss must be a bool, got 'yes'"),
       ("threshold", 2, "threshold must be a number in [0, 1], got 2")]


@pytest.mark.parametrize("field, value, message", BAD, ids=[b[0] for b in BAD])
def test_bad_fields_are_one_line(field, value, message):
    with pytest.raises(IGDError) as e:
        DGraspConfig(**{field: value})
    assert str(e.value) == f"DGraspConfig.{message}"


def test_unknown_key_and_the_paper_defaults():
    with pytest.raises(IGDError, match="unknown field"):
        build_config(DGraspConfig, {"n_poses": 3})
    assert DGraspConfig().n_negatives == 64 and DGraspConfig(aux_loss=False).n_negatives == 512
    assert DGraspConfig(negatives=7).n_negatives == 7
    assert (DGraspConfig().position_steps, DGraspConfig().rotation_steps, DGraspConfig().n_synchronous_steps) == (16, 16, 16)


def test_bad_inputs_of_the_planner_are_one_line():
    torch = pytest.importorskip("torch")
    from tiny_planners import tiny_planner

    planner = tiny_planner("dgrasp")
    with pytest.raises(IGDError, match=r"pose_trajectories wants n >= 1 paths, got 0"):
        planner.pose_trajectories(np.zeros((1, 40, 40, 40), np.float32), n=0)
    with pytest.raises(IGDError, match=r"grid must have shape \(1, 40, 40, 40\)"):
        planner.pose_trajectories(np.zeros((1, 30, 40, 40), np.float32), n=2)
    net = planner.training_module()
    planes = net.encode(torch.zeros((1, 1, 40, 40, 40)))
    with pytest.raises(IGDError, match=r"poses must have shape \(B=1, N, 7\) \(quat rotation\), got \(1, 5, 9\)"):
        net.value(planes, torch.zeros((1, 5, 9)))
    with pytest.raises(IGDError, match="dGrasp batch lacks key"):
        net.loss({"grid": torch.zeros((1, 1, 40, 40, 40))})


def test_nothing_observed_gives_empty_trajectories():
    pytest.importorskip("torch")
    from tiny_planners import tiny_planner

    paths = tiny_planner("dgrasp").pose_trajectories(np.zeros((1, 40, 40, 40), np.float32), n=2)
    assert paths.shape == (7, 0, 4, 4)
