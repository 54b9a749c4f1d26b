"""SE(3)-DiffusionFields (Urain, Funk, Peters, Chalvatzaki, ICRA 2023) on local scene features. See README.md here.

Importing this package registers the planner ``se3dif``; torch is imported only when one is built.
:mod:`igd.planners.se3dif.motion` uses the learned energy as a cost for grasp-and-motion optimisation.
"""

from igd.planners.se3dif.config import SE3DiFConfig
from igd.planners.se3dif.planner import SE3DiFPlanner

__all__ = ["SE3DiFConfig", "SE3DiFPlanner"]
