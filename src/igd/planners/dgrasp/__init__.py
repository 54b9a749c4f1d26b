"""dGrasp: an implicit grasp policy, gradient ascent on a learned grasp value (Sóti et al., 2024). See README.md here.

Importing this package registers the planner ``dgrasp``; torch is imported only when one is built.
"""

from igd.planners.dgrasp.config import DGraspConfig
from igd.planners.dgrasp.planner import DGraspPlanner

__all__ = ["DGraspConfig", "DGraspPlanner"]
