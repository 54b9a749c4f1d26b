"""The local implicit decoder of GIGA and IGD ("LocalDecoder").

Convolutional Occupancy Networks' decoder (Peng et al., ECCV 2020) with the point feature passed in
rather than sampled inside, so several heads share one sampling of the planes:

    net = fc_p(p)
    for n in 1 … 5:
        net = net + fc_c[n](c(p))
        net = ResBlock_n(net)                   ResBlock(x) = x + fc_1(relu(fc_0(relu(x))))
    out = fc_out(relu(net))

==========  ==========  =============================================================
code        paper       meaning
==========  ==========  =============================================================
p           p           query point, normalised coordinates, (B, N, 3)
feature     c(p)        tri-plane feature (or a DAM's output), (B, N, 96)
hidden      h           width of the residual stream (32 for GIGA's and IGD's heads)
==========  ==========  =============================================================

``fc_1`` of every block starts with zero weights (ConvONet's ``ResnetBlockFC``; its bias keeps the
default init), so each block starts as the identity plus a constant.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ResBlock", "LocalDecoder"]


class ResBlock(nn.Module):
    """``x + fc_1(relu(fc_0(relu(x))))`` on ``(..., h)``; ``fc_1.weight`` initialised to zero."""

    def __init__(self, size: int):
        super().__init__()
        self.fc_0 = nn.Linear(size, size)
        self.fc_1 = nn.Linear(size, size)
        nn.init.zeros_(self.fc_1.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.fc_1(F.relu(self.fc_0(F.relu(x))))


class LocalDecoder(nn.Module):
    """``(p (B, N, point_dim), feature (B, N, feature_dim)) → (B, N, out_dim)``; see the module docstring."""

    def __init__(self, out_dim: int, feature_dim: int = 96, hidden: int = 32, blocks: int = 5, point_dim: int = 3):
        super().__init__()
        self.out_dim = out_dim
        self.fc_p = nn.Linear(point_dim, hidden)
        self.fc_c = nn.ModuleList([nn.Linear(feature_dim, hidden) for _ in range(blocks)])
        self.blocks = nn.ModuleList([ResBlock(hidden) for _ in range(blocks)])
        self.fc_out = nn.Linear(hidden, out_dim)

    def forward(self, p: torch.Tensor, feature: torch.Tensor) -> torch.Tensor:
        # The five fc_c projections of c(p) are one matrix product (a single GEMM is faster on a CPU
        # than five thin ones); numerically the same as applying fc_c[n] inside the loop.
        weight = torch.cat([fc.weight for fc in self.fc_c])  # (blocks·h, feature_dim)
        bias = torch.cat([fc.bias for fc in self.fc_c])
        c = F.linear(feature, weight, bias).chunk(len(self.blocks), dim=-1)
        net = self.fc_p(p)
        for c_n, block in zip(c, self.blocks):
            net = block(net + c_n)
        return self.fc_out(F.relu(net))
