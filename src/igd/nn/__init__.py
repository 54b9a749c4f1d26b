"""Network parts shared by the implicit planners (GIGA, IGD).

=================================  ==================================================================
part                               what
=================================  ==================================================================
:class:`TriplaneEncoder`           grid (B, 40, 40, 40) → planes (B, 3, 32, 40, 40): xz, xy, yz
:func:`sample_planes`              c(p): planes, p (B, N, 3) normalised → (B, N, 96), [xz | xy | yz]
``plane_mapping``                  where a point lands on a plane: "ours" or GIGA's "reference"
:func:`normalise`                  metres → normalised coordinates ``p / 0.3 − 0.5``
:class:`LocalDecoder`              (p, c(p)) → (B, N, k): ConvONet's residual MLP, 5 blocks
:class:`DeformableAttention`       IGD's DAM: attention over 8 learned sample points around p
:class:`GraspConditionedAttention` attention over 25 learnable gripper points moved by the grasp
:mod:`igd.nn.width`                the width head's unit (metres / 0.3) and the old checkpoints' conversion
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
from igd.nn.triplane import (
                              PLANE_AXES,
                              PLANE_MAPPINGS,
                              PLANES,
                              PlaneMapping,
                              TriplaneEncoder,
                              check_grid,
                              check_plane_mapping,
                              normalise,
                              pool_planes,
                              reference_cells,
                              reference_unit,
                              sample_planes,
)
from igd.nn.unet import UNet2D

__all__ = ["DeformableAttention", "GraspConditionedAttention", "LocalDecoder", "PLANES", "PLANE_AXES",
           "PLANE_MAPPINGS", "PlaneMapping", "ResBlock", "TriplaneEncoder", "UNet2D", "anchor_offsets", "check_grid",
           "check_plane_mapping", "gripper_sheet", "normalise", "pool_planes", "quat_to_matrix", "reference_cells",
           "reference_unit", "sample_planes"]
