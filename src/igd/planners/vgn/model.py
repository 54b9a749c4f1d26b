"""The Volumetric Grasping Network (Breyer et al., CoRL 2020).

A 3D fully-convolutional encoder-decoder on the 40^3 TSDF grid that predicts, at every voxel, a
grasp quality, an orientation and an opening width. Parameter names equal the released state dict
(``weights/vgn_conv.pth``: ``encoder.conv1..3``, ``decoder.conv1..3``, ``conv_qual``, ``conv_rot``,
``conv_width``), so those weights load as they are.

=============  ===============================  ==================================================
stage          layer (in → out, kernel, stride)  output size
=============  ===============================  ==================================================
encoder.conv1  1 → 16, k5, s2 + ReLU            20^3
encoder.conv2  16 → 32, k3, s2 + ReLU           10^3
encoder.conv3  32 → 64, k3, s2 + ReLU           5^3
decoder.conv1  64 → 64, k3 + ReLU, nearest ↑    10^3
decoder.conv2  64 → 32, k3 + ReLU, nearest ↑    20^3
decoder.conv3  32 → 16, k5 + ReLU, nearest ↑    40^3
conv_qual      16 → 1, k5, sigmoid              quality q in [0, 1]
conv_rot       16 → 4, k5, L2-normalised        quaternion r (x, y, z, w)
conv_width     16 → 1, k5                       width w, voxel units (× 0.0075 m)
=============  ===============================  ==================================================
"""

from __future__ import annotations

from typing import Dict, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from igd.constants import RESOLUTION

__all__ = ["VGNNet"]


def _conv(c_in: int, c_out: int, k: int, stride: int = 1) -> nn.Conv3d:
    return nn.Conv3d(c_in, c_out, k, stride=stride, padding=k // 2)


class Encoder(nn.Module):
    """Three strided convolutions: (B, 1, 40, 40, 40) → (B, 64, 5, 5, 5)."""

    def __init__(self, c_in: int = 1, filters: Sequence[int] = (16, 32, 64), kernels: Sequence[int] = (5, 3, 3)):
        super().__init__()
        self.conv1 = _conv(c_in, filters[0], kernels[0], stride=2)
        self.conv2 = _conv(filters[0], filters[1], kernels[1], stride=2)
        self.conv3 = _conv(filters[1], filters[2], kernels[2], stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in (self.conv1, self.conv2, self.conv3):
            x = F.relu(conv(x))
        return x


class Decoder(nn.Module):
    """Convolution + ReLU + nearest up-sampling, three times: (B, 64, 5^3) → (B, 16, 40^3)."""

    sizes = (10, 20, RESOLUTION)

    def __init__(self, c_in: int = 64, filters: Sequence[int] = (64, 32, 16), kernels: Sequence[int] = (3, 3, 5)):
        super().__init__()
        self.conv1 = _conv(c_in, filters[0], kernels[0])
        self.conv2 = _conv(filters[0], filters[1], kernels[1])
        self.conv3 = _conv(filters[1], filters[2], kernels[2])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv, size in zip((self.conv1, self.conv2, self.conv3), self.sizes):
            x = F.interpolate(F.relu(conv(x)), size=size, mode="nearest")
        return x


class VGNNet(nn.Module):
    """VGN's ``ConvNet``: grid → (quality, rotation, width) volumes; 313,238 parameters."""

    def __init__(self):
        super().__init__()
        self.encoder = Encoder()
        self.decoder = Decoder()
        self.conv_qual = _conv(16, 1, 5)
        self.conv_rot = _conv(16, 4, 5)
        self.conv_width = _conv(16, 1, 5)

    def forward(self, grid: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """grid: (B, 1, 40, 40, 40) → qual (B, 40, 40, 40) in [0, 1], rot (B, 4, 40, 40, 40) unit
        quaternions (x, y, z, w), width (B, 40, 40, 40) in voxel units."""
        if grid.dim() != 5 or tuple(grid.shape[1:]) != (1,) + (RESOLUTION,) * 3:
            raise ValueError(f"VGNNet expects a grid of shape (B, 1, 40, 40, 40), got {tuple(grid.shape)}")
        x = self.decoder(self.encoder(grid))
        qual = torch.sigmoid(self.conv_qual(x)).squeeze(1)
        rot = F.normalize(self.conv_rot(x), dim=1)
        width = self.conv_width(x).squeeze(1)
        return qual, rot, width

    def loss(self, batch: Dict[str, torch.Tensor]) -> Tuple[torch.Tensor, Dict[str, float]]:
        """The VGN training loss on a batch (keys in :mod:`igd.planners.vgn.loss`) → (loss, metrics)."""
        from igd.planners.vgn.loss import vgn_loss

        return vgn_loss(self, batch)
