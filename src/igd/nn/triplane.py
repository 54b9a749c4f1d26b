"""The tri-plane encoder of GIGA and IGD and the sampling of its planes, under two plane mappings.

A 3×3×3 convolution lifts the 40³ grid to 32 channels per voxel; the voxel features are mean-pooled
onto three axis-aligned planes, ``xz``, ``xy`` and ``yz``; one 2D U-Net, shared by the planes, refines
them. The feature ``c(p)`` of a point is the bilinear sample of each plane at the point's projection,
concatenated in the order ``[xz, xy, yz]`` (3 × 32 = 96 channels).

Points are in normalised coordinates ``p = p_metres / 0.3 − 0.5 ∈ [−0.5, 0.5]³``. A plane tensor is
``(C, 40, 40)`` indexed ``[v, u]`` (rows ``v``, columns ``u``), with

==========  ==========  ==========  ==============================================
plane       u (column)  v (row)     cell ``[v, u]`` holds the mean over
==========  ==========  ==========  ==============================================
``xz``      x (i)       z (k)       y: ``plane[:, k, i] = mean_j feat[:, i, j, k]``
``xy``      x (i)       y (j)       z: ``plane[:, j, i] = mean_k feat[:, i, j, k]``
``yz``      y (j)       z (k)       x: ``plane[:, k, j] = mean_i feat[:, i, j, k]``
==========  ==========  ==========  ==============================================

(ConvONet's ``normalize_coordinate`` order: u is the first named axis, v the second.) Where a point
lands on a plane is the **plane mapping**, a choice of the network (``plane_mapping``):

``"ours"`` (the default; pooling and sampling agree exactly)
    Voxel ``(i, j, k)`` has its centre at ``p = ((i, j, k) + 0.5) / 40 − 0.5`` and is pooled into cell
    ``i`` (``j``, ``k``). Sampling calls ``F.grid_sample(plane, 2 · p[..., (u, v)], align_corners=False,
    padding_mode="border")``: the grid value ``−1`` is the outer edge of cell 0 and ``+1`` that of cell
    39, so a voxel's centre lands exactly on the cell its features were pooled into. Points outside
    the workspace read the border cells.

``"reference"`` (GIGA's code, so that its authors' weights give their outputs)
    ConvONet's ``normalize_coordinate`` with GIGA's padding 0, ``x̃ = x / (1 + 0 + 10⁻⁵) + 0.5``, values
    ``≥ 1`` set to ``1 − 10⁻⁵`` and values ``< 0`` set to 0 (:func:`reference_unit`). The encoder places
    voxel ``i`` at ``x = linspace(−0.5, 0.5, 40)[i]`` and pools it into cell ``int(40 · x̃)``
    (:func:`reference_cells`: at 40 cells that is cell ``i`` again, so both mappings pool alike).
    Sampling reads ``F.grid_sample(plane, 2 · x̃ − 1, align_corners=True, padding_mode="border")``,
    cell centres at ``x = −0.5 … 0.5``.

The mappings differ in where a point at ``m`` metres is read: "ours" reads cell ``40 · m / 0.3 − 0.5``
(voxel ``i``'s centre ``(i + 0.5) · 0.0075`` m reads cell ``i``), "reference" cell ``39 · m / 0.3``
(the voxel lattice stretched over the whole workspace). They agree at the workspace's centre and
drift apart by up to half a cell towards its faces, and a network's weights learn the one it was
trained with: the GIGA authors' weights need "reference" to give their outputs (a golden test pins
them), ours were trained with "ours". IGD's reference samplers read with a padding of 0.1 on top of
GIGA's mapping; neither mapping here copies that.
"""

from __future__ import annotations

from typing import Literal, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from igd.constants import RESOLUTION, SIZE
from igd.errors import IGDError
from igd.nn.unet import UNet2D

__all__ = ["PLANES", "PLANE_AXES", "PLANE_MAPPINGS", "PlaneMapping", "TriplaneEncoder", "check_grid",
           "check_plane_mapping", "normalise", "pool_planes", "reference_cells", "reference_unit", "sample_planes"]

#: The planes in the order of the feature channels.
PLANES: Tuple[str, ...] = ("xz", "xy", "yz")
#: The point axes ``(u, v)`` of each plane: u indexes the columns, v the rows (module docstring).
PLANE_AXES = {"xz": (0, 2), "xy": (0, 1), "yz": (1, 2)}
_UV = torch.tensor([PLANE_AXES[name] for name in PLANES])  # (3, 2)

PlaneMapping = Literal["ours", "reference"]
#: The plane mappings (module docstring).
PLANE_MAPPINGS: Tuple[str, ...] = ("ours", "reference")
_REFERENCE_PADDING = 0.0  # GIGA's ``padding`` of its encoder and decoders
_REFERENCE_EPS = 10e-6  # ConvONet's ``normalize_coordinate``: 10e-6 = 1e-5, written as there


def check_plane_mapping(mapping: str, owner: str = "plane_mapping") -> str:
    """``mapping`` if it is one of :data:`PLANE_MAPPINGS`; :class:`IGDError` naming ``owner`` otherwise."""
    if mapping not in PLANE_MAPPINGS:
        raise IGDError(f"{owner} must be one of {list(PLANE_MAPPINGS)}, got {mapping!r}")
    return mapping


def normalise(p: torch.Tensor) -> torch.Tensor:
    """Metres in the workspace ``[0, 0.3]³`` → normalised coordinates ``p / 0.3 − 0.5``."""
    return p / SIZE - 0.5


def reference_unit(x: torch.Tensor) -> torch.Tensor:
    """ConvONet's ``normalize_coordinate`` with GIGA's padding 0, per coordinate: ``x (...)`` normalised → ``[0, 1)``.

    ``x / (1 + 0 + 10⁻⁵) + 0.5``, then values ``≥ 1`` become ``1 − 10⁻⁵`` and values ``< 0`` become 0
    (element-wise, as the reference's masked assignments; differentiable inside ``[0, 1)``).
    """
    x = x / (1 + _REFERENCE_PADDING + _REFERENCE_EPS) + 0.5
    x = torch.where(x >= 1, torch.full_like(x, 1 - _REFERENCE_EPS), x)
    return torch.where(x < 0, torch.zeros_like(x), x)


def reference_cells(resolution: int = RESOLUTION) -> torch.Tensor:
    """The plane cell ``(R,)`` (int64) into which the reference pools voxel ``i`` of an axis.

    The voxel sits at ``linspace(−0.5, 0.5, R)[i]``; its cell is ConvONet's ``coordinate2index``,
    ``int(R · reference_unit(x))``. At ``R = 40`` this is ``i`` itself (tested).
    """
    return (reference_unit(torch.linspace(-0.5, 0.5, resolution)) * resolution).long()


def check_grid(grid: torch.Tensor) -> torch.Tensor:
    """A grid ``(B, 40, 40, 40)`` or ``(B, 1, 40, 40, 40)`` as ``(B, 1, 40, 40, 40)``; :class:`IGDError` otherwise."""
    shape = (RESOLUTION,) * 3
    if grid.dim() == 4 and tuple(grid.shape[1:]) == shape:
        grid = grid.unsqueeze(1)
    if grid.dim() != 5 or tuple(grid.shape[1:]) != (1,) + shape:
        raise IGDError(f"the grid must have shape (B, 40, 40, 40) or (B, 1, 40, 40, 40), got {tuple(grid.shape)}")
    return grid


def pool_planes(features: torch.Tensor, mapping: PlaneMapping = "ours") -> torch.Tensor:
    """Mean-pool voxel features ``(B, C, X, Y, Z)`` onto the planes: ``(B, 3, C, R, R)`` in :data:`PLANES` order.

    ``"ours"``: voxel ``i`` goes to cell ``i``; every cell receives the whole column along the third
    axis, so the mean over that axis is ConvONet's ``scatter_mean``. Each result is transposed to
    ``[v, u]``. (A sum then one division of the small result: ``mean``'s backward would divide a
    full-size gradient per plane, the most expensive step of a training batch on the CPU.)
    ``"reference"``: voxel ``i`` goes to cell :func:`reference_cells` ``[i]`` (a scatter mean; an empty
    cell stays 0, as ``scatter_mean`` into zeros).
    """
    check_plane_mapping(mapping)
    xz = features.sum(dim=3).transpose(-1, -2)  # (B, C, X, Z) → [z, x]
    xy = features.sum(dim=4).transpose(-1, -2)  # (B, C, X, Y) → [y, x]
    yz = features.sum(dim=2).transpose(-1, -2)  # (B, C, Y, Z) → [z, y]
    if mapping == "ours":
        return torch.stack([xz, xy, yz], dim=1) / features.shape[2]
    n = features.shape[2]  # a cubic grid: the same cells on every axis
    cells = reference_cells(n).to(features.device)
    assign = F.one_hot(cells, n).to(features.dtype).t()  # (cells, voxels): 1 where voxel i lands in cell c
    count = assign.sum(dim=1)  # voxels per cell along one axis
    per_cell = (count[:, None] * count[None, :] * n).clamp(min=1)  # (v, u): voxels pooled into each cell
    planes = torch.stack([xz, xy, yz], dim=1)  # (B, 3, C, v-voxels, u-voxels)
    return torch.einsum("vk,bpckj,uj->bpcvu", assign, planes, assign) / per_cell


def sample_planes(planes: torch.Tensor, p: torch.Tensor, mapping: PlaneMapping = "ours") -> torch.Tensor:
    """The tri-plane feature ``c(p)``: ``planes (B, 3, C, R, R)``, ``p (B, N, 3)`` normalised → ``(B, N, 3·C)``.

    Bilinear, border padding; channels ``[xz | xy | yz]``. ``"ours"``: ``align_corners=False`` at ``2p``;
    ``"reference"``: ``align_corners=True`` at ``2 · reference_unit(p) − 1`` (module docstring).
    Differentiable in ``planes`` and ``p`` (the deformable attention learns its sample points through this).
    """
    check_plane_mapping(mapping)
    b, n_planes, c, h, w = planes.shape
    if p.dim() != 3 or p.shape[0] != b or p.shape[-1] != 3:
        raise ValueError(f"sample_planes: points must be (B={b}, N, 3), got {tuple(p.shape)}")
    n = p.shape[1]
    uv = p[..., _UV.to(p.device)]  # (B, N, 3, 2): per plane, the point's (u, v)
    reference = mapping == "reference"
    uv = 2.0 * reference_unit(uv) - 1.0 if reference else 2.0 * uv
    # contiguous: grid_sample on the CPU is several times slower on a strided grid
    grid = uv.permute(0, 2, 1, 3).reshape(b * n_planes, n, 1, 2).contiguous().to(planes.dtype)
    out = F.grid_sample(planes.reshape(b * n_planes, c, h, w), grid, mode="bilinear",
                        padding_mode="border", align_corners=reference)  # (B·3, C, N, 1)
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

    ``plane_mapping`` (module docstring) is used by the pooling here and by :meth:`sample`, which
    every reader of these planes calls, so a network reads its planes the way they were written.
    """

    def __init__(self, features: int = 32, unet_depth: int = 3, unet_filters: int = 32,
                 plane_mapping: PlaneMapping = "ours"):
        super().__init__()
        self.features = features
        self.plane_mapping = check_plane_mapping(plane_mapping)
        self.conv_in = nn.Conv3d(1, features, 3, padding=1)
        self.unet = UNet2D(features, features, depth=unet_depth, start_filters=unet_filters)

    @property
    def feature_dim(self) -> int:
        """Channels of ``c(p)``: 3 · C."""
        return len(PLANES) * self.features

    def sample(self, planes: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        """``c(p)`` under this encoder's plane mapping: ``planes (B, 3, C, R, R)``, ``p (B, N, 3)`` → ``(B, N, 3C)``."""
        return sample_planes(planes, p, self.plane_mapping)

    def forward(self, grid: torch.Tensor) -> torch.Tensor:
        grid = check_grid(grid)
        b = grid.shape[0]
        planes = pool_planes(F.relu(self.conv_in(grid), inplace=True), self.plane_mapping)  # (B, 3, C, R, R)
        planes = self.unet(planes.flatten(0, 1))  # the three planes share the U-Net: (B·3, C, R, R)
        return planes.reshape(b, len(PLANES), *planes.shape[1:])
