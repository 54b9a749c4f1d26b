"""IGD: Implicit Grasp Diffusion (Song, Li, Detry, CoRL 2024): the network.

One tri-plane encoder reads the 40³ grid; at a query point ``p`` (normalised, ``m / 0.3 − 0.5``) three
attention modules refine the tri-plane feature ``c(p)`` for three tasks, and small implicit heads
answer them. Only the orientation is generated: the position is a clean condition.

==================  =====================  =====================================================
module              paper                  what (at a point p; shapes for B scenes × N points)
==================  =====================  =====================================================
``encoder``         tri-plane encoder      grid → planes (B, 3, 32, 40, 40)
``dam_diffuser``    DAM (diffuser's)       c_d(p) (B, N, 96): the diffuser's condition
``denoiser``        ε_θ(x_t, t | p, c_d)   Grasp Orientation Diffuser: quaternion noise (…, 4)
``dam_affordance``  DAM (evaluator's)      c_a(p) (B, N, 96)
``decoder_aff``     p(a | p)               Affordance Evaluator: logit of a (B, N)
``attn_grasp``      grasp-conditioned      c_g(p, r) (B, N, 96): attention over 25 gripper points
                    attention (L = 25)
``decoder_grasp``   p(r | a, p)            Grasp Classifier: logit of v (B, N)
``decoder_width``   w                      width (B, N), workspace units (× 0.3 m)
``decoder_occ``     o                      occupancy logit (B, M)
==================  =====================  =====================================================

The Affordance Evaluator, Grasp Classifier, width and occupancy heads are
:class:`~igd.nn.LocalDecoder` (hidden 32, 5 residual blocks). ``ε_θ`` has the same residual form,
wider (:class:`OrientationDenoiser`). Every read of the planes (c(p), the DAMs' sample points, the
gripper's control points) goes through the encoder's ``plane_mapping`` (:mod:`igd.nn.triplane`).
"""

from __future__ import annotations

import math
from typing import NamedTuple, Optional

import torch
import torch.nn.functional as F
from torch import nn

from igd.errors import IGDError
from igd.nn import (
    DeformableAttention,
    GraspConditionedAttention,
    LocalDecoder,
    PlaneMapping,
    TriplaneEncoder,
    check_grid,
    normalise,
)
from igd.planners.igd.loss import LossSettings

__all__ = ["IGDNet", "IGDOutput", "OrientationDenoiser", "SinusoidalEmbedding", "attend_folded", "unit_quaternions"]


class SinusoidalEmbedding(nn.Module):
    """Timestep ``t (...)`` → ``(..., dim)``: ``[sin(t ω_i) | cos(t ω_i)]``, ``ω_i = 10000^(−i / (dim/2 − 1))``."""

    def __init__(self, dim: int = 16):
        super().__init__()
        if dim < 4 or dim % 2:
            raise ValueError(f"SinusoidalEmbedding: dim must be even and >= 4, got {dim}")
        half = dim // 2
        self.register_buffer("freqs", torch.exp(-math.log(10000.0) * torch.arange(half) / (half - 1)),
                             persistent=False)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        angle = t.to(self.freqs.dtype).unsqueeze(-1) * self.freqs
        return torch.cat([angle.sin(), angle.cos()], dim=-1)


class OrientationDenoiser(nn.Module):
    """``ε_θ``: the noise in a noisy quaternion, given the clean position and the diffuser's DAM feature.

    ==============  ========  ==============================================================
    code            paper     meaning
    ==============  ========  ==============================================================
    p               p         grasp position, normalised, (…, 3)
    x_t             r_t       noisy quaternion (x, y, z, w), (…, 4)
    t               t         timestep 0 … T − 1, (…) or a 0-dim tensor shared by all
    cond            c_d(p)    the diffuser's DAM feature, (…, 96)
    time_mlp        γ(t)      sinusoidal (16) → Linear 16→32 → Mish → Linear 32→16
    decoder         ε_θ       fc_p: (p ⊕ r_t) 7 → 128; 5 × [+ Linear 112→128 (c_d ⊕ γ(t)), ResBlock 128];
                              out 128 → 4
    ==============  ========  ==============================================================
    """

    def __init__(self, feature_dim: int = 96, time_dim: int = 16, hidden: int = 128, blocks: int = 5):
        super().__init__()
        self.feature_dim = feature_dim
        self.time_mlp = nn.Sequential(SinusoidalEmbedding(time_dim), nn.Linear(time_dim, 2 * time_dim), nn.Mish(),
                                      nn.Linear(2 * time_dim, time_dim))
        self.decoder = LocalDecoder(4, feature_dim + time_dim, hidden, blocks, point_dim=7)

    def forward(self, p: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """``ε̂ (…, 4)``; ``t`` (…) per sample or 0-dim (training path: one matrix product per block input)."""
        emb = self.time_mlp(t).to(cond.dtype).expand(*cond.shape[:-1], -1)
        return self.decoder(torch.cat([p, x_t], dim=-1), torch.cat([cond, emb], dim=-1))

    def precondition(self, cond: torch.Tensor) -> torch.Tensor:
        """The time-independent part of the five block inputs, ``W_c c_d + b``: ``(…, 96)`` → ``(…, 5·hidden)``.

        Computed once per sampling run; :meth:`denoise` adds the time part each step.
        """
        weight = torch.cat([fc.weight[:, :self.feature_dim] for fc in self.decoder.fc_c])
        bias = torch.cat([fc.bias for fc in self.decoder.fc_c])
        return F.linear(cond, weight, bias)

    def denoise(self, p: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor, pre: torch.Tensor) -> torch.Tensor:
        """``ε̂ (N, 4)`` at one timestep ``t`` (0-dim) shared by all points; ``pre`` from :meth:`precondition`.

        The same numbers as :meth:`forward` (up to rounding), without re-projecting ``c_d`` each step.
        """
        emb = self.time_mlp(t.reshape(1))  # (1, time_dim)
        weight = torch.cat([fc.weight[:, self.feature_dim:] for fc in self.decoder.fc_c])
        inputs = (pre + F.linear(emb.to(pre.dtype), weight.to(pre.dtype))).chunk(len(self.decoder.blocks), dim=-1)
        net = self.decoder.fc_p(torch.cat([p, x_t.to(p.dtype)], dim=-1))
        for c_n, block in zip(inputs, self.decoder.blocks):
            net = block(net + c_n)
        return self.decoder.fc_out(F.relu(net))


def attend_folded(attn: nn.Module, feature: torch.Tensor, sampled: torch.Tensor) -> torch.Tensor:
    """``attn.attend(feature, sampled)`` of :mod:`igd.nn.attention`, re-associated: the same function, ~6× cheaper.

    ``feature (B, N, d)`` = c(p), ``sampled (B, N, K, d)`` = c(s_k) → ``(B, N, d)``. Instead of projecting
    every sampled feature to ``K_k`` and ``V_k`` (2·K products d×d per point), use

        <Q, K_k> = <W_Kᵀ (W_Q c + b_Q), c_k> + <Q, b_K>     (the last term is the same for every k and
                                                             cancels in the softmax)
        W_O Σ_k a_k V_k + b_O = (W_O W_V)(Σ_k a_k c_k) + (Σ_k a_k) W_O b_V + b_O

    (exact under attention dropout too, where ``Σ_k a_k ≠ 1``): two d×d products per point, not 2K + 2.
    """
    w_k = attn.to_k.weight.t()
    q_k = F.linear(feature, w_k @ attn.to_q.weight, w_k @ attn.to_q.bias)  # W_Kᵀ Q
    logits = torch.einsum("bnd,bnkd->bnk", q_k, sampled) / math.sqrt(attn.feature_dim)
    weights = attn.dropout(torch.softmax(logits, dim=-1))  # a_k
    mixed = torch.einsum("bnk,bnkd->bnd", weights, sampled)  # Σ_k a_k c_k
    out_v = attn.to_out.weight @ attn.to_v.weight  # W_O W_V
    bias_v = attn.to_out.weight @ attn.to_v.bias  # W_O b_V
    return F.linear(mixed, out_v, attn.to_out.bias) + weights.sum(-1, keepdim=True) * bias_v + feature


def unit_quaternions(x: torch.Tensor) -> torch.Tensor:
    """L2-normalise ``x (…, 4)``; a (vanishingly rare) zero vector becomes the identity (0, 0, 0, 1)."""
    norm = x.norm(dim=-1, keepdim=True)
    identity = torch.zeros_like(x)
    identity[..., 3] = 1.0
    return torch.where(norm > 1e-8, x / norm.clamp(min=1e-8), identity)


class IGDOutput(NamedTuple):
    """What :meth:`IGDNet.forward` returns (N grasp points, M occupancy points per scene)."""

    aff_logit: torch.Tensor
    """(B, N) affordance logits: a = sigmoid."""
    width: torch.Tensor
    """(B, N) widths in workspace units (metres / 0.3, :mod:`igd.nn.width`)."""
    grasp_logit: Optional[torch.Tensor] = None
    """(B, N) Grasp Classifier logits of the given orientations: v = sigmoid; None without orientations."""
    occ_logit: Optional[torch.Tensor] = None
    """(B, M) occupancy logits, or None."""


def _check_points(name: str, p: torch.Tensor, batch: int, dim: int = 3) -> None:
    if p.dim() != 3 or p.shape[0] != batch or p.shape[-1] != dim:
        raise IGDError(f"IGDNet: {name} must have shape (B={batch}, N, {dim}), got {tuple(p.shape)}")


class IGDNet(nn.Module):
    """IGD's network (see the module docstring). Points are in normalised coordinates unless a method says metres.

    Args:
        features, unet_depth, unet_filters: the tri-plane encoder (C = 32 channels per plane: c(p) is 96-d).
        hidden, blocks: the LocalDecoder heads (32, 5).
        denoiser_hidden, denoiser_blocks, time_dim: ε_θ (128, 5, 16).
        dam_per_axis: DAM sample points per axis (2: K = 8 cube corners).
        control_points: per side of the classifier's sheet (5: L = 25).
        dropout: on the attention weights in training (0.1).
        plane_mapping: how every module reads the planes, "ours" or GIGA's "reference" (:mod:`igd.nn.triplane`).
        loss_settings: negatives, focal loss and re-noising (:class:`~igd.planners.igd.loss.LossSettings`).
    """

    def __init__(self, features: int = 32, hidden: int = 32, blocks: int = 5, unet_depth: int = 3,
                 unet_filters: int = 32, denoiser_hidden: int = 128, denoiser_blocks: int = 5, time_dim: int = 16,
                 dam_per_axis: int = 2, control_points: int = 5, dropout: float = 0.1,
                 plane_mapping: PlaneMapping = "ours", loss_settings: Optional[LossSettings] = None):
        super().__init__()
        self.encoder = TriplaneEncoder(features, unet_depth, unet_filters, plane_mapping)
        dim = self.encoder.feature_dim
        self.dam_diffuser = DeformableAttention(dim, dam_per_axis, dropout, plane_mapping=plane_mapping)
        self.denoiser = OrientationDenoiser(dim, time_dim, denoiser_hidden, denoiser_blocks)
        self.dam_affordance = DeformableAttention(dim, dam_per_axis, dropout, plane_mapping=plane_mapping)
        self.decoder_aff = LocalDecoder(1, dim, hidden, blocks)
        self.attn_grasp = GraspConditionedAttention(dim, control_points, dropout, plane_mapping=plane_mapping)
        self.decoder_grasp = LocalDecoder(1, dim, hidden, blocks)
        self.decoder_width = LocalDecoder(1, dim, hidden, blocks)
        self.decoder_occ = LocalDecoder(1, dim, hidden, blocks)
        self.loss_settings = loss_settings or LossSettings()

    # ---- the parts (normalised points; ``feature`` = c(p) when the caller sampled it already) ----
    def encode(self, grid: torch.Tensor) -> torch.Tensor:
        """grid (B, [1,] 40, 40, 40) → planes (B, 3, C, 40, 40)."""
        return self.encoder(check_grid(grid))

    def sample(self, planes: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        """``c(p) (B, N, 96)`` at ``p (B, N, 3)`` under the encoder's plane mapping."""
        return self.encoder.sample(planes, p)

    def _feature(self, planes: torch.Tensor, p: torch.Tensor, feature: Optional[torch.Tensor]) -> torch.Tensor:
        return self.encoder.sample(planes, p) if feature is None else feature

    def _sample_at(self, planes: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
        """c at ``points (B, N, K, 3)`` → ``(B, N, K, d)``."""
        b, n, k, _ = points.shape
        return self.encoder.sample(planes, points.reshape(b, n * k, 3)).reshape(b, n, k, -1)

    def dam(self, module: DeformableAttention, planes: torch.Tensor, p: torch.Tensor,
            feature: torch.Tensor) -> torch.Tensor:
        """``module(planes, p, feature)`` (a DAM, ``(B, N, 96)``) with the attention of :func:`attend_folded`."""
        return attend_folded(module, feature, self._sample_at(planes, module.sample_points(p, feature)))

    def affordance(self, planes: torch.Tensor, p: torch.Tensor, feature: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Affordance logits (B, N) at ``p (B, N, 3)``: ``decoder_aff(p, DAM_a(c(p)))``."""
        feature = self._feature(planes, p, feature)
        return self.decoder_aff(p, self.dam(self.dam_affordance, planes, p, feature)).squeeze(-1)

    def condition(self, planes: torch.Tensor, p: torch.Tensor, feature: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The diffuser's condition ``c_d(p) (B, N, 96)`` = DAM_d at ``p (B, N, 3)``."""
        return self.dam(self.dam_diffuser, planes, p, self._feature(planes, p, feature))

    def classify(self, planes: torch.Tensor, p: torch.Tensor, quat: torch.Tensor,
                 feature: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Grasp Classifier logits (B, N) of orientations ``quat (B, N, 4)`` at ``p (B, N, 3)``."""
        feature = self._feature(planes, p, feature)
        sampled = self._sample_at(planes, self.attn_grasp.sample_points(p, quat))  # c(T_g u_i)
        return self.decoder_grasp(p, attend_folded(self.attn_grasp, feature, sampled)).squeeze(-1)

    def width(self, planes: torch.Tensor, p: torch.Tensor, feature: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Widths (B, N) in workspace units (metres / 0.3) at ``p (B, N, 3)``."""
        return self.decoder_width(p, self._feature(planes, p, feature)).squeeze(-1)

    def occupancy(self, planes: torch.Tensor, p: torch.Tensor, feature: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Occupancy logits (B, M) at ``p (B, M, 3)``."""
        return self.decoder_occ(p, self._feature(planes, p, feature)).squeeze(-1)

    def sample_quat(self, p: torch.Tensor, cond: torch.Tensor, scheduler,
                    generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """Orientations drawn by the diffuser: ``p (…, 3)``, ``cond (…, 96)`` → unit quaternions ``(…, 4)``.

        ``scheduler``: an :class:`~igd.diffusion.schedulers.EuclideanScheduler` (DDPM, DDIM or DPM-Solver).
        Starts from ``N(0, I)``; every step clips the predicted ``x̂_0`` to ``[−1, 1]``; the result is
        L2-normalised. All noise comes from ``generator``.
        """
        lead = p.shape[:-1]
        p_flat, cond_flat = p.reshape(-1, p.shape[-1]), cond.reshape(-1, cond.shape[-1])
        pre = self.denoiser.precondition(cond_flat)
        x0 = scheduler.sample(lambda x, t: self.denoiser.denoise(p_flat, x, t, pre), (len(p_flat), 4),
                              generator=generator, device=p.device)
        return unit_quaternions(x0.float()).reshape(*lead, 4)

    def forward(self, grid: torch.Tensor, p_grasp: torch.Tensor, quat: Optional[torch.Tensor] = None,
                p_occ: Optional[torch.Tensor] = None) -> IGDOutput:
        """The deterministic heads. ``grid (B, [1,] 40, 40, 40)``; ``p_grasp (B, N, 3)`` and ``p_occ (B, M, 3)``
        in **metres**; ``quat (B, N, 4)`` orientations for the Grasp Classifier (optional)."""
        grid = check_grid(grid)
        b = grid.shape[0]
        _check_points("p_grasp", p_grasp, b)
        if quat is not None:
            _check_points("quat", quat, b, 4)
            if quat.shape[1] != p_grasp.shape[1]:
                raise IGDError(f"IGDNet: quat {tuple(quat.shape)} must match p_grasp {tuple(p_grasp.shape)}")
        if p_occ is not None:
            _check_points("p_occ", p_occ, b)
        planes = self.encode(grid)
        n = p_grasp.shape[1]
        points = normalise(p_grasp if p_occ is None else torch.cat([p_grasp, p_occ], dim=1))
        feature = self.encoder.sample(planes, points)
        p, f = points[:, :n], feature[:, :n]
        return IGDOutput(
            aff_logit=self.affordance(planes, p, f),
            width=self.width(planes, p, f),
            grasp_logit=None if quat is None else self.classify(planes, p, quat, f),
            occ_logit=None if p_occ is None else self.occupancy(planes, points[:, n:], feature[:, n:]),
        )

    def loss(self, batch, generator: Optional[torch.Generator] = None):
        """``(loss, metrics)`` on a per-grasp or scene-batched batch (:func:`igd.planners.igd.loss.igd_loss`)."""
        from igd.planners.igd.loss import igd_loss

        return igd_loss(self, batch, generator)
