"""The planner contract, checked for every registered planner (docs/planners.md).

Each planner is built from its default config (learned ones with a seeded random init), written and
read back, and its ``plan()`` output checked against the :class:`Grasps` schema; its declared
capabilities (:meth:`Planner.supports`) answer, the others refuse in one line; ``reseed`` is
deterministic. A class that breaks the contract fails when it is defined (docs/planners.md).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from igd.constants import MAX_OPENING
from igd.errors import IGDError
from igd.geometry import is_rigid
from igd.planners import base
from igd.planners.base import (
    CAPABILITIES,
    Grasps,
    NotSupported,
    Observation,
    Planner,
    TorchPlanner,
    build_config,
    load_planner,
    registry,
)

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


def test_timed_plan_adds_the_planning_time(name, box_grid):
    grasps = build(name).timed_plan(Observation(box_grid))
    assert_grasps_schema(grasps)
    t = grasps.info["planning_time"]
    assert isinstance(t, float) and 0 <= t < 60


def test_reseed_is_deterministic(name, box_grid):
    """The same seed gives the same grasps, whatever was planned in between (the benchmark's per-round seed)."""
    planner = build(name)
    planner.reseed(5)
    first = planner.plan(Observation(box_grid))
    planner.reseed(6)
    planner.plan(Observation(box_grid))
    planner.reseed(5)
    assert_same_grasps(first, planner.plan(Observation(box_grid)))


#: What each built-in planner can do (a new capability or planner adds its row).
EXPECTED_CAPABILITIES = {
    "topdown": set(),
    "vgn": {"volumes", "query_points", "training_module"},
    "giga": {"volumes", "query_points", "training_module"},
    "igd": {"volumes", "query_points", "affordance", "sample_trajectories", "training_module"},
}


def test_capabilities_are_declared_and_the_others_refuse_in_one_line(name, box_grid):
    cls = registry()[name]
    if name in EXPECTED_CAPABILITIES:
        assert cls.capabilities == EXPECTED_CAPABILITIES[name]
    assert cls.capabilities <= set(CAPABILITIES)
    planner = build(name)
    calls = {"volumes": lambda: planner.volumes(box_grid),
             "query_points": lambda: planner.query_points(box_grid, np.full((2, 3), 0.15)),
             "affordance": lambda: planner.affordance(box_grid),
             "sample_trajectories": lambda: planner.sample_trajectories(box_grid, np.full(3, 0.15), n=2),
             "training_module": planner.training_module}
    assert set(calls) == set(CAPABILITIES)
    for capability, call in calls.items():
        if planner.supports(capability):
            assert call() is not None
            continue
        with pytest.raises(NotSupported, match=f"^planner '{name}' has no .*{capability}") as e:
            call()
        assert "\n" not in str(e.value)
        with pytest.raises(NotSupported, match="igd evaluate"):
            planner.require(capability, purpose="igd evaluate needs it")
    if planner.supports("volumes"):
        qual, rot, width = planner.volumes(box_grid)
        assert qual.shape == (40, 40, 40) and rot.shape == (4, 40, 40, 40) and width.shape == (40, 40, 40)
        pred = planner.query_points(box_grid, np.full((2, 3), 0.15))
        assert pred.qual.shape == (2,) and pred.quat.shape == (2, 4) and pred.width.shape == (2,)
    post = planner.postprocess
    assert post is None or 0 <= post.threshold <= 1


def test_supports_knows_only_the_declared_capabilities():
    with pytest.raises(ValueError, match="unknown planner capability 'heat'"):
        Planner.supports("heat")


# --------------------------------------------------------------------------------------------------
# classes that break the contract fail when they are defined
# --------------------------------------------------------------------------------------------------
@dataclass
class _Config:
    width: float = 0.05


@pytest.fixture
def scratch_registry(monkeypatch):
    """The registry as it is now, restored afterwards (the classes defined here register themselves)."""
    registry()
    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))


def test_a_planner_without_reseed_fails_when_defined(scratch_registry):
    with pytest.raises(TypeError, match=r"planner .*NoReseed does not implement reseed"):
        class NoReseed(Planner):
            name = "toy-no-reseed"
            config_class = _Config

            def plan(self, observation):
                return Grasps.empty()
    assert "toy-no-reseed" not in registry()


def test_a_planner_without_plan_or_name_fails_when_defined(scratch_registry):
    with pytest.raises(TypeError, match="does not implement plan"):
        class NoPlan(TorchPlanner):
            name = "toy-no-plan"
            config_class = _Config

            def reseed(self, seed):
                pass
    with pytest.raises(TypeError, match="must define class attribute 'name'"):
        class NoName(Planner):
            config_class = _Config

            def plan(self, observation):
                return Grasps.empty()

            def reseed(self, seed):
                pass


def test_an_abstract_base_may_leave_methods_out_and_a_complete_class_registers(scratch_registry):
    class Base(Planner, abstract=True):
        def volumes(self, grid):
            z = np.zeros((40, 40, 40))
            return z, np.zeros((4, 40, 40, 40)), z

    class Toy(Base):
        name = "toy-complete"
        config_class = _Config

        def plan(self, observation):
            return Grasps.empty()

        def reseed(self, seed):
            """Nothing to draw."""

    assert Base not in registry().values() and registry()["toy-complete"] is Toy
    assert Toy.capabilities == {"volumes", "query_points"} and not Toy.supports("training_module")
    assert Toy().query_points(np.zeros((1, 40, 40, 40)), np.zeros((1, 3))).qual.shape == (1,)


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
    with pytest.raises(IGDError, match="truncated or not a checkpoint"):
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
