"""SE(3)-DiF's training loss in clutter: denoising score matching on SE(3) + occupancy + a quality head.

Urain et al., ICRA 2023, Eq. 6–8, and the reference's ``ProjectedSE3DenoisingLoss`` (what its
point-cloud models train with). For a positive grasp ``H`` (and its twin ``H·Rz(π)``), ``t ~ U(1e-5, 1)``,
``σ = σ(t)`` (:func:`igd.lie.marginal_std`) and ``z ~ N(0, I₆)``, in network units (translation × 8):

    projected (default):  x' = Log(H) + σ z,  H' = Exp(x')               L = |∇_x' E(H', σ) − z/σ|₁ / 10
    lie (the paper's):    H' = H ⊕ σ z (translation added, R·Exp(σ z_ω))  L = |∇_ε E(H' ⊕ ε, σ) + s(H')|₁ / 20
                          s = ∇_ε log N_G(H' ⊕ ε; H, σ²I) at ε = 0 (:func:`igd.lie.lie_gaussian_score`)

|·|₁ is the mean absolute error over the six coordinates (PyTorch's ``L1Loss``), then the mean over
positives. Joined with

    L_occ  = BCE(ô, o) over the occupancy points (our stand-in for the reference's SDF loss)
    L_qual = BCE(q̂(H), y) over every row of the batch, positives and labelled negatives (and twins)
    L      = dsm_weight · L_dsm + occ_weight · L_occ + qual_weight · L_qual

==============  ==========  ===================================================================
code            paper       meaning
==============  ==========  ===================================================================
h               H           labelled grasp pose (TCP, workspace frame, metres)
t, sigma        k, σ_k      noise time and its scale σ(t)
z               ε ~ N(0,I)  the noise, six coordinates (translation, rotation)
x_noisy         x'          Log(H) + σ z, the noisy point of the projected loss
energy          E_θ         :meth:`SE3DiFNet.energy`
target          −∇ log q    z/σ (projected) or −s (lie): what ∇E should equal
occ_logit       (SDF)       occupancy logit; ``occ`` its label
qual_logit      —           quality logit at the pose (our scorer); ``label`` y
==============  ==========  ===================================================================

Batch keys and units: :mod:`igd.batch_keys` (scene-batched ``pos (S, K, 3)`` or per grasp ``(B, 3)``).
The noise comes from torch's global generator, which ``igd train`` reseeds every epoch.
"""

from __future__ import annotations

from typing import Dict, Tuple

import torch
import torch.nn.functional as F

from igd import batch_keys as keys
from igd.lie import exp_so3r3, lie_gaussian_score, log_so3r3, make_pose, marginal_std, perturb, quat_to_rotmat
from igd.planners.common.batches import as_scene_batch
from igd.planners.se3dif.model import POSITION_SCALE

__all__ = ["T_MIN", "from_net", "lie_target", "projected_target", "rot_z_pi", "se3dif_loss", "to_net"]

#: Noise times are drawn from U(T_MIN, 1).
T_MIN = 1e-5
_PROJECTED_DIV, _LIE_DIV = 10.0, 20.0  # the reference's divisors of the two L1 losses


def to_net(h: torch.Tensor) -> torch.Tensor:
    """Poses ``(..., 4, 4)`` in metres → network units (translation × 8)."""
    return make_pose(h[..., :3, :3], POSITION_SCALE * h[..., :3, 3])


def from_net(h: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`to_net`."""
    return make_pose(h[..., :3, :3], h[..., :3, 3] / POSITION_SCALE)


def rot_z_pi(h: torch.Tensor) -> torch.Tensor:
    """``H · Rz(π)`` (..., 4, 4): the same parallel-jaw grasp, fingers swapped."""
    flip = torch.tensor([-1.0, -1.0, 1.0, 1.0], dtype=h.dtype, device=h.device)
    return h * flip  # right-multiplying by diag(−1, −1, 1, 1) negates the x and y columns


def projected_target(z: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """``z/σ (..., 6)``: −∇ of ``log q(x' | x) = −‖x' − x‖²/(2σ²)`` at ``x' = x + σz``."""
    return z / sigma[..., None]


def lie_target(h_noisy: torch.Tensor, h: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """``−s (..., 6)``: minus the score of ``N_G(·; H, σ²I)`` at ``H'`` w.r.t. a perturbation ``H' ⊕ ε``
    (both poses in network units)."""
    return -lie_gaussian_score(h_noisy, h, sigma)


def _grasp_poses(batch, symmetric: bool):
    """Labelled poses ``(S, K', 4, 4)`` (metres) and labels ``(S, K')``, twins appended when ``symmetric``."""
    h = make_pose(quat_to_rotmat(batch[keys.QUAT]), batch[keys.POS])
    label = batch[keys.LABEL]
    if symmetric:
        h, label = torch.cat([h, rot_z_pi(h)], dim=1), torch.cat([label, label], dim=1)
    return h, label


def dsm_terms(net, planes: torch.Tensor, h: torch.Tensor, loss: str = "projected") -> torch.Tensor:
    """Per-pose score-matching error ``(S, N)`` at labelled poses ``h (S, N, 4, 4)`` (metres), divided as the
    reference does (10 for 'projected', 20 for 'lie'); the graph is kept for the weights' gradient."""
    t = T_MIN + (1.0 - T_MIN) * torch.rand(h.shape[:2], device=h.device)
    sigma = marginal_std(t)
    z = torch.randn(h.shape[:2] + (6,), device=h.device)
    h_net = to_net(h)
    if loss == "projected":
        x_noisy = (log_so3r3(h_net) + sigma[..., None] * z).detach().requires_grad_(True)
        energy = net.energy(planes, from_net(exp_so3r3(x_noisy)), sigma)
        grad = torch.autograd.grad(energy.sum(), x_noisy, create_graph=True)[0]
        return (grad - projected_target(z, sigma)).abs().mean(-1) / _PROJECTED_DIV
    h_noisy = perturb(h_net, sigma[..., None] * z).detach()
    eps = torch.zeros_like(z, requires_grad=True)
    energy = net.energy(planes, from_net(perturb(h_noisy, eps)), sigma)
    grad = torch.autograd.grad(energy.sum(), eps, create_graph=True)[0]
    return (grad - lie_target(h_noisy, h_net, sigma)).abs().mean(-1) / _LIE_DIV


def se3dif_loss(net, batch: Dict[str, torch.Tensor], loss: str = "projected", dsm_weight: float = 1.0,
                occ_weight: float = 1.0, qual_weight: float = 1.0,
                symmetric: bool = True) -> Tuple[torch.Tensor, Dict[str, float]]:
    """The joint loss of ``net`` (:class:`~igd.planners.se3dif.model.SE3DiFNet`) on ``batch`` → (loss, metrics).

    Metrics: ``loss``, ``loss_dsm`` (mean over positives), ``loss_occ``, ``loss_qual``, ``accuracy``,
    ``precision``, ``recall`` (quality at 0.5), ``occ_accuracy``, ``positives``.
    """
    batch = as_scene_batch(batch, "SE(3)-DiF")
    planes = net.encode(batch[keys.GRID])
    h, label = _grasp_poses(batch, symmetric)
    positives = label > 0.5
    if positives.any():
        # score matching only where a grasp succeeded (the reference ignores failed grasps): each scene's
        # positives first, then as many rows as the scene with the most positives has
        order = torch.argsort(positives.float(), dim=1, descending=True, stable=True)
        m = int(positives.sum(1).max())
        keep = torch.gather(positives, 1, order[:, :m])
        h_pos = torch.gather(h, 1, order[:, :m, None, None].expand(-1, -1, 4, 4))
        with torch.enable_grad():  # ∇E is the model's output: also under no_grad (validation)
            dsm = dsm_terms(net, planes, h_pos, loss)
        loss_dsm = (dsm * keep).sum() / keep.sum()
    else:
        loss_dsm = planes.sum() * 0.0
    qual_logit = net.quality_logit(planes, h)
    loss_qual = F.binary_cross_entropy_with_logits(qual_logit, label)
    occ_logit = net.occupancy(planes, batch[keys.OCC_POINTS])
    loss_occ = F.binary_cross_entropy_with_logits(occ_logit, batch[keys.OCC])
    total = dsm_weight * loss_dsm + occ_weight * loss_occ + qual_weight * loss_qual
    with torch.no_grad():
        predicted = (qual_logit > 0).float()
        true_pos = (predicted * label).sum()
        metrics = {
            "loss": float(total.detach()), "loss_dsm": float(loss_dsm.detach()), "loss_occ": float(loss_occ.detach()),
            "loss_qual": float(loss_qual.detach()),
            "accuracy": float((predicted == label).float().mean()),
            "precision": float(true_pos / predicted.sum().clamp(min=1.0)),
            "recall": float(true_pos / label.sum().clamp(min=1.0)),
            "occ_accuracy": float(((occ_logit > 0).float() == batch[keys.OCC]).float().mean()),
            "positives": float(label.mean()),
        }
    return total, metrics
