"""IGD: Implicit Grasp Diffusion (Song, Li, Detry, CoRL 2024). See README.md in this folder.

Importing this package registers the planner ``igd``; torch and diffusers are imported only when one is built.
"""

from igd.planners.igd.config import IGDConfig
from igd.planners.igd.planner import IGDPlanner

__all__ = ["IGDConfig", "IGDPlanner"]
