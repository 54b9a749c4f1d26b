"""The 2D U-Net that refines each feature plane of the tri-plane encoder.

Convolutional Occupancy Networks' U-Net (Peng et al., ECCV 2020, after Ronneberger et al. 2015) as
GIGA configures it: ``depth`` levels, ``start_filters`` channels at the top, doubled per level; each
level two 3×3 convolutions + ReLU, 2×2 max-pooling between levels; up-sampling by a 2×2 transposed
convolution, the skip **concatenated**, two 3×3 convolutions + ReLU; a final 1×1 convolution. Weights
start Xavier-normal, biases zero (the reference's ``reset_params``).

With GIGA's settings (depth 3, 32 filters) on a 40×40 plane::

    down 0: C → 32 at 40×40, pool → 20×20
    down 1: 32 → 64 at 20×20, pool → 10×10
    down 2: 64 → 128 at 10×10 (bottom, no pooling)
    up 0:   128 → 64, ↑ 20×20, cat skip (64 + 64) → 64
    up 1:   64 → 32, ↑ 40×40, cat skip (32 + 32) → 32
    final:  1×1 conv 32 → out_channels
"""

from __future__ import annotations

from typing import List

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["UNet2D"]


class _Down(nn.Module):
    """Two 3×3 convolutions + ReLU, then (optionally) a 2×2 max-pool."""

    def __init__(self, c_in: int, c_out: int, pooling: bool):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.pooling = pooling

    def forward(self, x: torch.Tensor):
        """x: (B, c_in, H, W) → (pooled (B, c_out, H/2, W/2) or unpooled, skip (B, c_out, H, W))."""
        x = F.relu(self.conv2(F.relu(self.conv1(x))))
        skip = x
        if self.pooling:
            x = F.max_pool2d(x, 2)
        return x, skip


class _Up(nn.Module):
    """2×2 transposed convolution (×2 up-sampling), concatenate the skip, two 3×3 convolutions + ReLU."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.upconv = nn.ConvTranspose2d(c_in, c_out, 2, stride=2)
        self.conv1 = nn.Conv2d(2 * c_out, c_out, 3, padding=1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        """x: (B, c_in, H, W), skip: (B, c_out, 2H, 2W) → (B, c_out, 2H, 2W)."""
        x = torch.cat([self.upconv(x), skip], dim=1)
        return F.relu(self.conv2(F.relu(self.conv1(x))))


class UNet2D(nn.Module):
    """(B, in_channels, H, W) → (B, out_channels, H, W); H and W divisible by ``2 ** (depth - 1)``."""

    def __init__(self, in_channels: int = 32, out_channels: int = 32, depth: int = 3, start_filters: int = 32):
        super().__init__()
        if depth < 1:
            raise ValueError(f"UNet2D depth must be >= 1, got {depth}")
        self.depth = depth
        self.down = nn.ModuleList()
        c_out = in_channels
        for i in range(depth):
            c_in, c_out = c_out, start_filters * 2 ** i
            self.down.append(_Down(c_in, c_out, pooling=i < depth - 1))
        self.up = nn.ModuleList()
        for _ in range(depth - 1):
            c_in, c_out = c_out, c_out // 2
            self.up.append(_Up(c_in, c_out))
        self.conv_final = nn.Conv2d(c_out, out_channels, 1)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.xavier_normal_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        factor = 2 ** (self.depth - 1)
        if x.shape[-1] % factor or x.shape[-2] % factor:
            raise ValueError(f"UNet2D of depth {self.depth} needs H and W divisible by {factor}, "
                             f"got {tuple(x.shape[-2:])}")
        skips: List[torch.Tensor] = []
        for down in self.down:
            x, skip = down(x)
            skips.append(skip)
        for up, skip in zip(self.up, reversed(skips[:-1])):
            x = up(x, skip)
        return self.conv_final(x)
