"""The tri-plane encoder of GIGA and IGD and the sampling of its planes (SPEC.md §10).

A 3×3×3 convolution lifts the 40³ grid to 32 channels per voxel; the voxel features are mean-pooled
onto three axis-aligned planes, ``xz``, ``xy`` and ``yz``; one 2D U-Net, shared by the planes, refines
them. The feature ``c(p)`` of a point is the bilinear sample of each plane at the point's projection,
concatenated in the order ``[xz, xy, yz]`` (3 × 32 = 96 channels).

**The one plane mapping** (pooling and sampling agree exactly). Points are in normalised coordinates
``p = p_metres / 0.3 − 0.5 ∈ [−0.5, 0.5]³`` (SPEC §1); voxel ``(i, j, k)`` has its centre at
``p = ((i, j, k) + 0.5) / 40 − 0.5``. A plane tensor is ``(C, 40, 40)`` indexed ``[v, u]`` (rows ``v``,
columns ``u``), with

==========  ==========  ==========  ==============================================
plane       u (column)  v (row)     cell ``[v, u]`` holds the mean over
==========  ==========  ==========  ==============================================
``xz``      x (i)       z (k)       y: ``plane[:, k, i] = mean_j feat[:, i, j, k]``
``xy``      x (i)       y (j)       z: ``plane[:, j, i] = mean_k feat[:, i, j, k]``
``yz``      y (j)       z (k)       x: ``plane[:, k, j] = mean_i feat[:, i, j, k]``
==========  ==========  ==========  ==============================================

(ConvONet's ``normalize_coordinate`` order: u is the first named axis, v the second.) Sampling calls
``F.grid_sample(plane, 2 · p[..., (u, v)], align_corners=False, padding_mode="border")``: with
``align_corners=False`` the grid value ``2p = −1`` is the outer edge of cell 0 and ``+1`` that of cell
39, so the centre of voxel ``i`` lands exactly on cell ``i``, the cell its features were pooled into.
Points outside the workspace read the border cells.

The reference code differs, and we fix it: its encoder places voxel ``i`` at
``linspace(−0.5, 0.5, 40)[i]`` (no half voxel) and pools with padding 0, while its samplers read with
``align_corners=True`` (cell centres at ``−0.5 … 0.5``; GIGA with padding 0, IGD with padding 0.1),
so a feature is read up to about a cell away from where it was written.
"""

from __future__ import annotations

from typing import Tuple

import torch
import torch.nn.functional as F
from torch import nn

from igd.constants import RESOLUTION, SIZE
from igd.errors import IGDError
from igd.nn.unet import UNet2D

__all__ = ["PLANES", "PLANE_AXES", "TriplaneEncoder", "check_grid", "normalise", "pool_planes", "sample_planes"]

#: The planes in the order of the feature channels.
PLANES: Tuple[str, ...] = ("xz", "xy", "yz")
#: The point axes ``(u, v)`` of each plane: u indexes the columns, v the rows (module docstring).
PLANE_AXES = {"xz": (0, 2), "xy": (0, 1), "yz": (1, 2)}
_UV = torch.tensor([PLANE_AXES[name] for name in PLANES])  # (3, 2)


def normalise(p: torch.Tensor) -> torch.Tensor:
    """Metres in the workspace ``[0, 0.3]³`` → normalised coordinates ``p / 0.3 − 0.5`` (SPEC §1)."""
    return p / SIZE - 0.5


def check_grid(grid: torch.Tensor) -> torch.Tensor:
    """A grid ``(B, 40, 40, 40)`` or ``(B, 1, 40, 40, 40)`` as ``(B, 1, 40, 40, 40)``; :class:`IGDError` otherwise."""
    shape = (RESOLUTION,) * 3
    if grid.dim() == 4 and tuple(grid.shape[1:]) == shape:
        grid = grid.unsqueeze(1)
    if grid.dim() != 5 or tuple(grid.shape[1:]) != (1,) + shape:
        raise IGDError(f"the grid must have shape (B, 40, 40, 40) or (B, 1, 40, 40, 40), got {tuple(grid.shape)}")
    return grid


def pool_planes(features: torch.Tensor) -> torch.Tensor:
    """Mean-pool voxel features ``(B, C, X, Y, Z)`` onto the planes: ``(B, 3, C, R, R)`` in :data:`PLANES` order.

    Every plane cell receives the same number of voxels (the whole column along the third axis), so
    the mean over that axis is ConvONet's ``scatter_mean``. Each result is transposed to ``[v, u]``.
    (A sum then one division of the small result: ``mean``'s backward would divide a full-size
    gradient per plane, the most expensive step of a training batch on the CPU.)
    """
    xz = features.sum(dim=3).transpose(-1, -2)  # (B, C, X, Z) → [z, x]
    xy = features.sum(dim=4).transpose(-1, -2)  # (B, C, X, Y) → [y, x]
    yz = features.sum(dim=2).transpose(-1, -2)  # (B, C, Y, Z) → [z, y]
    return torch.stack([xz, xy, yz], dim=1) / features.shape[2]


def sample_planes(planes: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """The tri-plane feature ``c(p)``: ``planes (B, 3, C, R, R)``, ``p (B, N, 3)`` normalised → ``(B, N, 3·C)``.

    Bilinear, ``align_corners=False``, border padding; channels ``[xz | xy | yz]``. Differentiable in
    ``planes`` and ``p`` (the deformable attention learns its sample points through this).
    """
    b, n_planes, c, h, w = planes.shape
    if p.dim() != 3 or p.shape[0] != b or p.shape[-1] != 3:
        raise ValueError(f"sample_planes: points must be (B={b}, N, 3), got {tuple(p.shape)}")
    n = p.shape[1]
    uv = p[..., _UV.to(p.device)]  # (B, N, 3, 2): per plane, the point's (u, v)
    # contiguous: grid_sample on the CPU is several times slower on a strided grid
    grid = (2.0 * uv).permute(0, 2, 1, 3).reshape(b * n_planes, n, 1, 2).contiguous().to(planes.dtype)
    out = F.grid_sample(planes.reshape(b * n_planes, c, h, w), grid, mode="bilinear",
                        padding_mode="border", align_corners=False)  # (B·3, C, N, 1)
    return out.reshape(b, n_planes, c, n).permute(0, 3, 1, 2).reshape(b, n, n_planes * c)


class TriplaneEncoder(nn.Module):
    """Grid ``(B, 40, 40, 40)`` or ``(B, 1, 40, 40, 40)`` → planes ``(B, 3, C, 40, 40)`` ([xz, xy, yz]).

    ==============  =====================================================  ==================
    code            what (GIGA's ``LocalVoxelEncoder`` + ConvONet U-Net)   output
    ==============  =====================================================  ==================
    ``conv_in``     3×3×3 convolution 1 → C, ReLU                          (B, C, 40, 40, 40)
    pool_planes     mean over the third axis, per plane                    (B, 3, C, 40, 40)
    ``unet``        one :class:`UNet2D` (depth, filters) for all 3 planes  (B, 3, C, 40, 40)
    ==============  =====================================================  ==================
    """

    def __init__(self, features: int = 32, unet_depth: int = 3, unet_filters: int = 32):
        super().__init__()
        self.features = features
        self.conv_in = nn.Conv3d(1, features, 3, padding=1)
        self.unet = UNet2D(features, features, depth=unet_depth, start_filters=unet_filters)

    @property
    def feature_dim(self) -> int:
        """Channels of ``c(p)``: 3 · C."""
        return len(PLANES) * self.features

    def forward(self, grid: torch.Tensor) -> torch.Tensor:
        grid = check_grid(grid)
        b = grid.shape[0]
        planes = pool_planes(F.relu(self.conv_in(grid), inplace=True))  # (B, 3, C, R, R)
        planes = self.unet(planes.flatten(0, 1))  # the three planes share the U-Net: (B·3, C, R, R)
        return planes.reshape(b, len(PLANES), *planes.shape[1:])
