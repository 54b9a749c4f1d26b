"""The SE(3) toolbox of the pose-space planners (SE(3)-DiF, dGrasp): torch, batched over leading axes,
differentiable. SO(3) maps come from `roma <https://naver.github.io/roma/>`_ (small- and near-π
angles handled there); the SE(3) maps, the Lie-group Gaussian and the pose conversions are built on
them here; :mod:`igd.lie.langevin` is the annealed Langevin sampler on SE(3) for any energy. docs/lie.md
has the conventions and why roma.
"""

from igd.lie.langevin import SCHEDULES, LangevinSchedule, langevin_sample, langevin_step_sizes, marginal_std
from igd.lie.se3 import (
    exp_so3r3,
    hat,
    identity,
    inverse,
    lie_gaussian_log_prob,
    lie_gaussian_score,
    log_so3r3,
    make_pose,
    perturb,
    quat_to_rotmat,
    random_rotations,
    rotmat_to_quat,
    rotmat_to_sixd,
    se3_exp,
    se3_log,
    sixd_to_rotmat,
    so3_exp,
    so3_log,
    vee,
)

__all__ = [
    "LangevinSchedule", "SCHEDULES", "langevin_sample", "langevin_step_sizes", "marginal_std",
    "exp_so3r3", "hat", "identity", "inverse", "log_so3r3", "lie_gaussian_log_prob",
    "lie_gaussian_score", "make_pose", "perturb", "quat_to_rotmat", "random_rotations", "rotmat_to_quat",
    "rotmat_to_sixd", "se3_exp", "se3_log", "sixd_to_rotmat", "so3_exp", "so3_log", "vee",
]
