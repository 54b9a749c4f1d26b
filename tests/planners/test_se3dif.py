"""The planner contract for ``se3dif`` (its other tests: ``tests/planners/se3dif/``)."""

from __future__ import annotations

from contract import PlannerContractTest


class TestSE3DiFContract(PlannerContractTest):
    planner_name = "se3dif"
    expected_capabilities = {"pose_trajectories", "training_module"}


class TestSE3DiFEnergyRankingContract(TestSE3DiFContract):
    """The same contract with the energy ranking (scores ``exp(E_min − E)``)."""

    config_overrides = {"ranking": "energy"}
