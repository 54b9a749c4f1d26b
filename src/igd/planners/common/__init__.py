"""What several planners share, so that no planner folder imports another.

- :mod:`~igd.planners.common.queries`: the 40³ query lattice of the implicit planners (GIGA, IGD);
- :mod:`~igd.planners.common.losses`: the rotation loss with the grasp's symmetries (VGN, GIGA);
- :mod:`~igd.planners.common.batches`: the checked scene batch of the implicit planners' losses;
- :mod:`~igd.planners.common.gripper_points`: the fixed points in the TCP frame where the pose-space
  planners (SE(3)-DiF, dGrasp) read the scene around a pose.

Importing this package imports nothing heavy; torch is imported by the modules that need it.
"""
