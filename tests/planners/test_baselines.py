"""The non-learned planners of ``igd.planners.baselines``: the contract on each (``topdown``)."""

from __future__ import annotations

from contract import PlannerContractTest


class TestTopdownContract(PlannerContractTest):
    planner_name = "topdown"
    expected_capabilities = set()
    min_grasps = 1  # the highest point's grasp, by design
