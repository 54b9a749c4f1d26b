"""SE(3)-DiffusionFields in clutter: an energy over gripper poses read from local scene features.

Urain, Funk, Peters, Chalvatzaki, ICRA 2023: ``E_θ(H, σ)`` is low where grasps are dense. Where the
reference reads one latent per object, we read the tri-plane features of the scene (GIGA's encoder)
at fixed points of the gripper moved by the pose, so the energy sees what lies around the hand:

==================  ==========  ==================================================================
code                paper       meaning
==================  ==========  ==================================================================
``gripper_points``  x_i         30 fixed points in the TCP frame (metres), uniform in the gripper box
``encoder``         —           grid → planes (B, 3, C, 40, 40); c(p) the sampled feature (3·C)
``time_embed``      k, σ        the noise level: Fourier features of log σ → Linear → SiLU
``point_net``       —           shared per-point MLP (SiLU) on c(H·x_i) ⊕ 8·x_i ⊕ emb(σ) → ``point_features``
``energy_net``      E_θ         flattened 30 × point_features → Linear → LayerNorm → SiLU → Linear → 1
``quality_net``     —           the same read-out without σ → a quality logit (our scorer, not the paper's)
``decoder_occ``     SDF head    occupancy logit at points (a LocalDecoder: our stand-in for the SDF loss)
==================  ==========  ==================================================================

Poses are TCP poses ``H (B, N, 4, 4)`` in the workspace frame, metres. The energy network's output is
divided by σ (``E = f / σ``), so its gradient targets ``z/σ`` are ``z`` for ``f`` at every noise level
(the noise-conditional score networks' scaling); the activations are smooth (SiLU), since the training
loss differentiates ``∇_H E`` again.
"""

from __future__ import annotations

import math
from typing import Dict, Optional, Tuple

import torch
from torch import nn

from igd.errors import IGDError
from igd.nn import LocalDecoder, PlaneMapping, TriplaneEncoder, check_grid, normalise
from igd.planners.common.gripper_points import gripper_points

__all__ = ["POSITION_SCALE", "SE3DiFNet"]

#: Network units of position: metres × 8 (the reference's scale of its grasp translations).
POSITION_SCALE = 8.0


def _mlp(sizes, final_activation: bool = False) -> nn.Sequential:
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2 or final_activation:
            layers.append(nn.SiLU())
    return nn.Sequential(*layers)


class NoiseEmbedding(nn.Module):
    """σ (...) → (..., dim): sines and cosines of ``log σ`` at fixed frequencies, then Linear + SiLU."""

    def __init__(self, dim: int):
        super().__init__()
        half = dim // 2
        self.register_buffer("freqs", torch.exp(torch.linspace(math.log(0.25), math.log(16.0), half)),
                             persistent=False)
        self.proj = nn.Sequential(nn.Linear(dim, dim), nn.SiLU())

    def forward(self, sigma: torch.Tensor) -> torch.Tensor:
        x = torch.log(sigma.clamp(min=1e-6))[..., None] * self.freqs
        return self.proj(torch.cat([torch.sin(x), torch.cos(x)], dim=-1))


class SE3DiFNet(nn.Module):
    """Grid → planes once; at poses: the energy ``E(H, σ)`` and a quality logit; at points: occupancy."""

    def __init__(self, features: int = 32, unet_depth: int = 3, unet_filters: int = 32, points: int = 30,
                 points_seed: int = 0, point_hidden: int = 64, point_layers: int = 2, point_features: int = 7,
                 hidden: int = 128, time_dim: int = 16, occ_hidden: int = 32, occ_blocks: int = 5,
                 qual_hidden: int = 32, plane_mapping: PlaneMapping = "ours", loss_settings: Optional[dict] = None):
        super().__init__()
        self.encoder = TriplaneEncoder(features, unet_depth, unet_filters, plane_mapping)
        dim = self.encoder.feature_dim
        self.register_buffer("gripper_points", torch.from_numpy(gripper_points(points, points_seed)))
        self.time_embed = NoiseEmbedding(time_dim)
        self.point_net = _mlp([dim + 3 + time_dim] + [point_hidden] * point_layers + [point_features])
        self.energy_net = nn.Sequential(nn.Linear(points * point_features, hidden), nn.LayerNorm(hidden), nn.SiLU(),
                                        nn.Linear(hidden, 1))
        self.quality_point_net = _mlp([dim + 3, qual_hidden, 4])
        self.quality_net = _mlp([points * 4, qual_hidden, 1])
        self.decoder_occ = LocalDecoder(1, dim, occ_hidden, occ_blocks)
        self.loss_settings = dict(loss_settings or {})

    # ---- the scene ----
    def encode(self, grid: torch.Tensor) -> torch.Tensor:
        """grid (B, [1,] 40, 40, 40) → planes (B, 3, C, 40, 40)."""
        return self.encoder(check_grid(grid))

    def point_features(self, planes: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """c(H·x_i): ``planes (B, 3, C, R, R)``, poses ``h (B, N, 4, 4)`` metres → ``(B, N, P, 3C)``."""
        if h.dim() != 4 or h.shape[0] != planes.shape[0] or tuple(h.shape[-2:]) != (4, 4):
            raise IGDError(f"SE3DiFNet: poses must have shape (B={planes.shape[0]}, N, 4, 4), got {tuple(h.shape)}")
        b, n = h.shape[:2]
        x = self.gripper_points.to(h.dtype)  # (P, 3)
        world = torch.einsum("bnij,pj->bnpi", h[..., :3, :3], x) + h[..., None, :3, 3]
        feat = self.encoder.sample(planes, normalise(world).reshape(b, n * len(x), 3).to(planes.dtype))
        return feat.reshape(b, n, len(x), feat.shape[-1])

    def _local(self, feat: torch.Tensor) -> torch.Tensor:
        """``feat (B, N, P, 3C)`` ⊕ the gripper points in network units → ``(B, N, P, 3C + 3)``."""
        x = (POSITION_SCALE * self.gripper_points).to(feat.dtype).expand(feat.shape[:-1] + (3,))
        return torch.cat([feat, x], dim=-1)

    # ---- at poses ----
    def energy(self, planes: torch.Tensor, h: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """``E(H, σ) (B, N)`` at poses ``h (B, N, 4, 4)`` (metres) and noise levels ``sigma (B, N)`` (or a scalar)."""
        local = self._local(self.point_features(planes, h))
        sigma = torch.as_tensor(sigma, dtype=local.dtype, device=local.device).expand(h.shape[:2])
        emb = self.time_embed(sigma)[:, :, None].expand(local.shape[:3] + (-1,))
        per_point = self.point_net(torch.cat([local, emb], dim=-1))  # (B, N, P, point_features)
        return self.energy_net(per_point.flatten(2)).squeeze(-1) / sigma

    def quality_logit(self, planes: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """Quality logits ``(B, N)`` at poses ``h (B, N, 4, 4)`` (metres): P(success) = sigmoid."""
        per_point = self.quality_point_net(self._local(self.point_features(planes, h)))
        return self.quality_net(per_point.flatten(2)).squeeze(-1)

    def occupancy(self, planes: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        """Occupancy logits ``(B, M)`` at points ``p (B, M, 3)`` in metres."""
        q = normalise(p)
        return self.decoder_occ(q, self.encoder.sample(planes, q)).squeeze(-1)

    def loss(self, batch: Dict[str, torch.Tensor]) -> Tuple[torch.Tensor, Dict[str, float]]:
        """The joint training loss on a scene-batched (or per-grasp) batch (:mod:`igd.planners.se3dif.loss`)."""
        from igd.planners.se3dif.loss import se3dif_loss

        return se3dif_loss(self, batch, **self.loss_settings)
