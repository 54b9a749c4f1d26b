"""GIGA: Grasp detection via Implicit Geometry and Affordance (Jiang et al., RSS 2021). See README.md in this folder.

Importing this package registers the planner ``giga``; torch is imported only when one is built.
"""

from igd.planners.giga.config import GIGAConfig
from igd.planners.giga.planner import GIGAPlanner

__all__ = ["GIGAConfig", "GIGAPlanner"]
