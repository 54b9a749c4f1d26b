"""VGN: Volumetric Grasping Network (Breyer et al., CoRL 2020). See README.md in this folder.

Importing this package registers the planner ``vgn``; torch is imported only when one is built.
"""

from igd.planners.vgn.config import VGNConfig
from igd.planners.vgn.planner import VGNPlanner

__all__ = ["VGNConfig", "VGNPlanner"]
