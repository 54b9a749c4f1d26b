"""The planner contract for dGrasp (``tests/planners/contract.py``), on its tiny configuration."""

from contract import PlannerContractTest


class TestDGraspContract(PlannerContractTest):
    planner_name = "dgrasp"
    expected_capabilities = {"pose_trajectories", "training_module"}
