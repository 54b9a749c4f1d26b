"""The planner contract for every registered planner (docs/planners.md, "The contract").

The contract's checks are :class:`contract.PlannerContractTest`, subclassed once per planner beside its
other tests (``TestVGNContract`` in ``test_vgn.py``, ``TestGIGAContract``, ``TestIGDContract``,
``TestTopdownContract`` in ``test_baselines.py``) and run on the planner's tiny configuration that
detects grasps on the box grid (``tests/tiny_planners.py``). This file is parametrised over the
registry: a registered planner without a contract subclass or a tiny configuration fails here. It
also checks what holds apart from any planner: a class that breaks the contract fails when it is
defined, an :class:`Observation` refuses a bad grid.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from contract import PlannerContractTest
from tiny_planners import DETECTING, TINY, learned_planners

from igd.errors import IGDError
from igd.planners import base
from igd.planners.base import Grasps, Observation, Planner, TorchPlanner, registry

HERE = Path(__file__).resolve().parent


def contract_suites() -> dict:
    """``{planner name: [its PlannerContractTest subclasses]}`` of the test modules in this folder and its
    sub-folders (``tests/planners/<name>/``; imported here too, so that running this file alone sees them)."""
    for path in sorted(HERE.glob("test_*.py")) + sorted(HERE.glob("*/test_*.py")):
        if str(path.parent) not in sys.path:  # where pytest's default import mode puts a sub-folder's tests
            sys.path.insert(0, str(path.parent))
        importlib.import_module(path.stem)
    suites, todo = {}, list(PlannerContractTest.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if "planner_name" in vars(cls):
            suites.setdefault(cls.planner_name, []).append(cls)
    return suites


@pytest.mark.parametrize("name", sorted(registry()))
def test_every_registered_planner_has_a_contract_suite(name):
    suites = contract_suites().get(name, [])
    assert suites, (f"planner {name!r} has no contract tests: add 'class Test<Name>Contract(PlannerContractTest): "
                    f"planner_name = {name!r}' to tests/planners/test_{name}.py")
    for suite in suites:
        assert suite.__name__.startswith("Test") and suite.__module__.startswith("test_"), "pytest collects it"
        assert isinstance(getattr(suite, "expected_capabilities", None), (set, frozenset)), \
            f"{suite.__name__} declares expected_capabilities"


@pytest.mark.parametrize("name", sorted(registry()))
def test_every_registered_planner_has_a_tiny_configuration(name):
    assert name in TINY, f"planner {name!r} has no tiny configuration: add it to TINY in tests/tiny_planners.py"
    if registry()[name].learned:
        assert name in DETECTING, f"learned planner {name!r}: say in DETECTING how its tiny network detects grasps"


def test_the_tiny_configurations_are_of_registered_planners():
    assert set(TINY) <= set(registry()) and set(DETECTING) == set(learned_planners())


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
