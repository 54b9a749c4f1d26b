"""Network parts shared by the implicit planners (GIGA, IGD): SPEC.md §10.

=================================  ==================================================================
part                               what
=================================  ==================================================================
:class:`TriplaneEncoder`           grid (B, 40, 40, 40) → planes (B, 3, 32, 40, 40): xz, xy, yz
:func:`sample_planes`              c(p): planes, p (B, N, 3) normalised → (B, N, 96), [xz | xy | yz]
:func:`normalise`                  metres → normalised coordinates ``p / 0.3 − 0.5``
:class:`LocalDecoder`              (p, c(p)) → (B, N, k): ConvONet's residual MLP, 5 blocks
:class:`DeformableAttention`       IGD's DAM: attention over 8 learned sample points around p
:class:`GraspConditionedAttention` attention over 25 learnable gripper points moved by the grasp
=================================  ==================================================================

Importing this package imports torch (the planner packages import it only when a planner is built).
"""

from igd.nn.attention import (
                              DeformableAttention,
                              GraspConditionedAttention,
                              anchor_offsets,
                              gripper_sheet,
                              quat_to_matrix,
)
from igd.nn.decoder import LocalDecoder, ResBlock
from igd.nn.triplane import PLANE_AXES, PLANES, TriplaneEncoder, check_grid, normalise, pool_planes, sample_planes
from igd.nn.unet import UNet2D

__all__ = ["DeformableAttention", "GraspConditionedAttention", "LocalDecoder", "PLANES", "PLANE_AXES", "ResBlock",
           "TriplaneEncoder", "UNet2D", "anchor_offsets", "check_grid", "gripper_sheet", "normalise", "pool_planes",
           "quat_to_matrix", "sample_planes"]
