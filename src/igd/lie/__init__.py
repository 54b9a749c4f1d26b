"""The SE(3) toolbox of the pose-space planners (SE(3)-DiF, dGrasp): torch, batched over leading axes,
differentiable. SO(3) maps come from `roma <https://naver.github.io/roma/>`_ (small- and near-π
angles handled there); the SE(3) maps, the Lie-group Gaussian and the pose conversions are built on
them here. docs/lie.md has the conventions and why roma.
"""

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
    "exp_so3r3", "hat", "identity", "inverse", "log_so3r3", "lie_gaussian_log_prob",
    "lie_gaussian_score", "make_pose", "perturb", "quat_to_rotmat", "random_rotations", "rotmat_to_quat",
    "rotmat_to_sixd", "se3_exp", "se3_log", "sixd_to_rotmat", "so3_exp", "so3_log", "vee",
]
