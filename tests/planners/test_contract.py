"""The planner contract, checked for every registered planner (docs/planners.md).

Each planner is built from its default config (learned ones with a seeded random init), written and
read back, and its ``plan()`` output checked against the :class:`Grasps` schema.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from igd.constants import MAX_OPENING
from igd.errors import IGDError
from igd.geometry import is_rigid
from igd.planners.base import Grasps, Observation, Planner, build_config, load_planner, registry

PLANNERS = sorted(registry())


def build(name: str) -> Planner:
    torch.manual_seed(0)
    cls = registry()[name]
    return cls(cls.config_class())


def assert_same_grasps(a: Grasps, b: Grasps) -> None:
    np.testing.assert_array_equal(a.poses, b.poses)
    np.testing.assert_array_equal(a.widths, b.widths)
    np.testing.assert_array_equal(a.scores, b.scores)


def assert_grasps_schema(grasps: Grasps) -> None:
    assert isinstance(grasps, Grasps)
    n = len(grasps)
    assert grasps.poses.shape == (n, 4, 4) and grasps.widths.shape == (n,) and grasps.scores.shape == (n,)
    assert all(is_rigid(p) for p in grasps.poses)
    assert np.all(grasps.widths > 0) and np.all(grasps.widths <= MAX_OPENING + 1e-9)
    assert np.all(grasps.scores >= 0) and np.all(grasps.scores <= 1)
    assert np.all(np.diff(grasps.scores) <= 0), "sorted by score, best first"
    t = grasps.info["planning_time"]
    assert isinstance(t, float) and 0 <= t < 60


@pytest.fixture(params=PLANNERS)
def name(request) -> str:
    return request.param


def test_registry_entries_are_well_formed(name):
    cls = registry()[name]
    assert cls.name == name and dataclasses.is_dataclass(cls.config_class)
    assert isinstance(cls.learned, bool)


def test_config_round_trips_through_a_dict(name):
    cls = registry()[name]
    config = cls.config_class()
    assert build_config(cls.config_class, dataclasses.asdict(config)) == config
    with pytest.raises(IGDError, match="unknown field"):
        build_config(cls.config_class, {"no_such_field": 1})


def test_plan_output_schema(name, box_grid):
    planner = build(name)
    for grid in (box_grid, np.zeros_like(box_grid)):
        assert_grasps_schema(planner.plan(Observation(grid)))


def test_save_and_load_round_trip(name, box_grid, tmp_path):
    planner = build(name)
    path = planner.save_pretrained(tmp_path / f"{name}.pt")
    again = type(planner).from_pretrained(path)
    assert again.config == planner.config
    state, state2 = planner.state_dict(), again.state_dict()
    assert state.keys() == state2.keys()
    for k in state:
        assert torch.equal(state[k], state2[k]), k
    assert_same_grasps(planner.plan(Observation(box_grid)), again.plan(Observation(box_grid)))
    via_factory = load_planner(name, weights=path)
    assert_same_grasps(planner.plan(Observation(box_grid)), via_factory.plan(Observation(box_grid)))


def test_learned_planners_need_weights(name):
    cls = registry()[name]
    if cls.learned:
        with pytest.raises(IGDError, match="needs --weights"):
            load_planner(name)
    else:
        assert isinstance(load_planner(name), cls)


def test_checkpoint_of_another_planner_raises(name, tmp_path):
    others = [n for n in PLANNERS if n != name]
    if not others:
        pytest.skip("only one planner is registered")
    path = build(others[0]).save_pretrained(tmp_path / "other.pt")
    with pytest.raises(IGDError, match=f"checkpoint is for planner '{others[0]}'"):
        registry()[name].from_pretrained(path)
    with pytest.raises(IGDError, match=others[0]):
        load_planner(name, weights=path)


@pytest.mark.parametrize("fraction", [0.0, 0.5, 0.95])
def test_truncated_checkpoint_raises(name, tmp_path, fraction):
    path = build(name).save_pretrained(tmp_path / "full.pt")
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(IGDError, match="cannot read the checkpoint"):
        registry()[name].from_pretrained(path)
    with pytest.raises(IGDError):
        load_planner(name, weights=path)


def test_missing_checkpoint_raises(name, tmp_path):
    with pytest.raises(IGDError, match="not found"):
        load_planner(name, weights=tmp_path / "missing.pt")


@pytest.mark.parametrize("grid", [np.zeros((40, 40, 39)), np.zeros((2, 40, 40, 40)), np.zeros((1, 20, 20, 20))])
def test_observation_rejects_wrong_shapes(grid):
    with pytest.raises(IGDError, match="shape"):
        Observation(grid)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_observation_rejects_non_finite_grids(bad):
    grid = np.zeros((1, 40, 40, 40), np.float32)
    grid[0, 1, 2, 3] = bad
    with pytest.raises(IGDError, match="NaN"):
        Observation(grid)
