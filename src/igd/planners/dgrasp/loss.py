"""dGrasp's training loss (Sóti, Huang, Wurll, Hein, 2024): softmax cross-entropy of the demonstrated grasp
against random poses, the auxiliary slope loss on the demonstrated approach, and (ours) GIGA's occupancy term.

    L      = L_CE + λ · L_aux + L_occ
    L_CE   = mean over demonstrations g of  −log( exp Ψ(p_g) / (exp Ψ(p_g) + Σ_j exp Ψ(p_j)) ),  j = 1..N
    L_aux  = mean over slope poses of  −cos( p_{t'} − p_t , ∇_p Ψ(p_t) )          (poses on the path)
                                    and −cos( p_{t'} − p_r , ∇_p Ψ(p_r) )          (poses near the path)
    L_occ  = BCE(ô, o) over the occupancy points (as GIGA's; not in the paper, whose features are a NeRF's)

===================  ===========  ==========================================================================
code                 paper        meaning
===================  ===========  ==========================================================================
``psi_demo``         Ψ(p_g | o)   value of a demonstrated (successful) grasp pose
``psi_neg``          Ψ(p_j | o)   values of the N random negative poses of the scene (uniform in the workspace)
``settings.n_negatives``  N         512 without, 64 with the auxiliary loss (the paper's)
``path``             p_t          poses on the demonstrated approach, from the pre-grasp pose (0.05 m back along
                                  the TCP z) to the grasp, at fraction ``s`` of the way, ``s ∈ [0, 1 − gap]``
``ahead``            p_{t'}       the pose ``gap`` further along the path (``t' − t = aux_gap``)
``near``             p_r          a path pose with its position and orientation perturbed
``slope``            ∇_p Ψ        the gradient of Ψ in the pose vector, kept in the graph (second order)
``settings.aux_weight``  λ        1 in the paper
===================  ===========  ==========================================================================

Poses are the vectors of :mod:`~igd.planners.dgrasp.poses` (normalised position ⊕ quaternion or 6D),
so ``p_{t'} − p_t`` is taken in the coordinates the ascent moves. The cosine is over the whole 7-vector
for the quaternion and per column (position, then each 6D column) for the 6D representation; a part whose
target is zero (the rotation on the straight path) is left out of the mean. A nearby pose's target
rotation is the grasp's (the nearer of the two symmetric jaw orientations; for the quaternion the sign
nearer ``r_r``), so its slope points back to the path's orientation as well as along it.

Random draws come from ``generator`` (or torch's global generator, which ``igd train`` reseeds every
epoch). Each demonstration is turned by π about its own z with probability 1/2 (the same grasp), so Ψ
learns both. Batches: the checked scene batch (:func:`~igd.planners.common.batches.as_scene_batch`).
"""

from __future__ import annotations

from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F

from igd import batch_keys as keys
from igd.lie import quat_to_rotmat, random_rotations, so3_exp
from igd.planners.common.batches import as_scene_batch
from igd.planners.dgrasp import poses
from igd.planners.dgrasp.config import DGraspConfig

__all__ = ["LossSettings", "aux_loss", "ce_loss", "dgrasp_loss", "random_poses", "slope_targets"]

_RZ_PI = torch.tensor([[-1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 1.0]])


#: The loss reads its settings from the planner's config (negatives resolved by
#: :attr:`~igd.planners.dgrasp.config.DGraspConfig.n_negatives`), as IGD's loss does: one set of fields,
#: declared and checked there. ``LossSettings(aux_gap=0.25)`` is a config with every other field at its default.
LossSettings = DGraspConfig


def _rand(shape, generator, like: torch.Tensor, normal: bool = False) -> torch.Tensor:
    """Uniform [0, 1) (or standard normal) draws from ``generator`` (on its device), as ``like``'s dtype/device."""
    device = generator.device if generator is not None else like.device
    draw = torch.randn if normal else torch.rand
    return draw(shape, generator=generator, device=device, dtype=like.dtype).to(like.device)


def random_poses(shape, rotation: str, generator, like: torch.Tensor) -> torch.Tensor:
    """Pose vectors ``(*shape, 3 + 4 | 6)``: positions uniform in the workspace cube, rotations uniform."""
    device = generator.device if generator is not None else like.device
    rot = random_rotations(tuple(shape), generator, dtype=like.dtype, device=device).to(like.device)
    return torch.cat([_rand(tuple(shape) + (3,), generator, like) - 0.5,
                      poses.rotation_params(rot, rotation)], dim=-1)


def demonstrations(batch, rotation: str, generator) -> Tuple[torch.Tensor, torch.Tensor]:
    """Rotations ``(S, K, 3, 3)`` (each turned by π about its z with probability 1/2) and positions ``(S, K, 3)`` m."""
    pos = batch[keys.POS]
    rot = quat_to_rotmat(batch[keys.QUAT])
    flip = _rand(pos.shape[:-1], generator, pos) < 0.5
    rot = torch.where(flip[..., None, None], rot @ _RZ_PI.to(rot), rot)
    return rot, pos


def ce_loss(psi_demo, psi_neg, label, psi_labelled=None) -> Tuple[torch.Tensor, torch.Tensor]:
    """L_CE over the positives and the fraction of them that beat every negative.

    ``psi_demo (S, K)``, ``psi_neg (S, N)``, ``label (S, K)``; ``psi_labelled (S, K)``: the same rows' values
    again, the label-0 ones joining every positive's softmax of their scene (``labelled_negatives``).
    """
    others = psi_neg[:, None, :].expand(-1, psi_demo.shape[1], -1)  # (S, K, N)
    best_other = psi_neg.max(dim=1).values[:, None].expand_as(psi_demo)
    if psi_labelled is not None:
        failed = torch.where(label > 0, torch.full_like(psi_labelled, -torch.inf), psi_labelled)  # (S, K)
        others = torch.cat([others, failed[:, None, :].expand(-1, psi_demo.shape[1], -1)], dim=-1)
        best_other = torch.maximum(best_other, failed.max(dim=1).values[:, None])
    logits = torch.cat([psi_demo[..., None], others], dim=-1)
    nll = torch.logsumexp(logits, dim=-1) - psi_demo  # −log softmax of the demonstration, (S, K)
    n_pos = label.sum().clamp(min=1.0)
    beat = ((psi_demo > best_other).float() * label).sum() / n_pos
    return (nll * label).sum() / n_pos, beat


def _nearer_target(rot_target, rot_near, rotation: str) -> torch.Tensor:
    """The rotation part of ``rot_target`` or of its jaw-symmetric twin, whichever is nearer ``rot_near``
    (and for the quaternion, the sign nearer ``rot_near``'s)."""
    twin = rot_target @ _RZ_PI.to(rot_target)
    trace = lambda a: (a * rot_near).sum(dim=(-1, -2))  # noqa: E731 — tr(aᵀ R_r)
    rot = torch.where((trace(twin) > trace(rot_target))[..., None, None], twin, rot_target)
    r = poses.rotation_params(rot, rotation)
    if rotation == "quat":
        r_near = poses.rotation_params(rot_near, rotation)
        r = torch.where(((r * r_near).sum(-1) < 0)[..., None], -r, r)
    return r


def slope_targets(rot, pos, settings: LossSettings, rotation: str, generator):
    """The slope poses of each demonstration and their targets, ``(S, K, P + R, D)`` both.

    ``rot (S, K, 3, 3)``, ``pos (S, K, 3)`` m: the grasps. P = ``aux_path_poses`` poses p_t on the approach
    path, target ``p_{t'} − p_t``; R = ``aux_near_poses`` poses p_r near randomly chosen ones, target
    ``p_{t'} − p_r`` (with the grasp's rotation, :func:`_nearer_target`).
    """
    s_, k = pos.shape[:2]
    n_path, n_near, gap, d = settings.aux_path_poses, settings.aux_near_poses, settings.aux_gap, settings.approach_distance
    z = rot[..., :, 2]  # approach direction (S, K, 3)
    pre = pos - d * z  # the pre-grasp position, T_grasp · Trans(0, 0, −d)
    s = _rand((s_, k, n_path), generator, pos) * (1.0 - gap)
    at = lambda f: pre[:, :, None] + (f * d)[..., None] * z[:, :, None]  # noqa: E731 — position at fraction f
    rot_p = rot[:, :, None].expand(-1, -1, n_path, -1, -1)
    path, ahead = poses.from_matrices(rot_p, at(s), rotation), poses.from_matrices(rot_p, at(s + gap), rotation)
    if n_near == 0:
        return path, ahead - path
    pick = (_rand((s_, k, n_near), generator, pos) * n_path).long().clamp(max=n_path - 1)
    gather = lambda x: torch.gather(x, 2, pick[..., None].expand(-1, -1, -1, x.shape[-1]))  # noqa: E731
    t_near = gather(at(s)) + settings.aux_position_radius * _rand((s_, k, n_near, 3), generator, pos, normal=True)
    omega = settings.aux_rotation_radius * _rand((s_, k, n_near, 3), generator, pos, normal=True)
    rot_r = so3_exp(omega) @ rot[:, :, None]
    near = poses.from_matrices(rot_r, t_near, rotation)
    target_r = torch.cat([gather(ahead)[..., :3] - near[..., :3],
                          _nearer_target(rot[:, :, None].expand_as(rot_r), rot_r, rotation) - near[..., 3:]], dim=-1)
    return torch.cat([path, near], dim=2), torch.cat([ahead - path, target_r], dim=2)


def aux_loss(net, planes, p, target, weight) -> Tuple[torch.Tensor, torch.Tensor]:
    """L_aux: ``−cos(target, ∇_p Ψ(p))`` per segment (:func:`poses.segments`), averaged over the segments
    whose target is not zero, weighted by ``weight``. ``p, target (S, Q, D)``, ``weight (S, Q)`` (1 = a
    positive's pose). Differentiable in the network's weights through the gradient (``create_graph``).
    Returns (loss, mean cosine)."""
    p = p.detach().requires_grad_(True)
    with torch.enable_grad():
        psi = net.value(planes, p)
        (slope,) = torch.autograd.grad(psi.sum(), p, create_graph=True)
    total = torch.zeros_like(psi)
    count = torch.zeros_like(psi)
    for seg in poses.segments(net.rotation):
        t = target[..., seg]
        valid = (t.norm(dim=-1) > 1e-6).to(psi.dtype)
        total = total + valid * F.cosine_similarity(slope[..., seg], t, dim=-1, eps=1e-12)
        count = count + valid
    cos = total / count.clamp(min=1.0)
    w = weight * (count > 0).to(psi.dtype)
    mean_cos = (cos * w).sum() / w.sum().clamp(min=1.0)
    return -mean_cos, mean_cos.detach()


def dgrasp_loss(net, batch: Dict[str, torch.Tensor], settings: LossSettings,
                generator: Optional[torch.Generator] = None) -> Tuple[torch.Tensor, Dict[str, float]]:
    """The mean loss of ``net`` (a :class:`~igd.planners.dgrasp.model.DGraspNet`) on a scene batch → (loss, metrics).

    Metrics: ``loss``, ``loss_ce``, ``loss_aux`` (0 when off), ``loss_occ``, ``beats_negatives`` (positives whose
    Ψ exceeds every negative's), ``slope_cos`` (mean cosine of the slope), ``occ_accuracy``, ``positives``.
    """
    batch = as_scene_batch(batch, "dGrasp")
    label = batch[keys.LABEL]
    planes = net.encode(batch[keys.GRID])
    rot, pos = demonstrations(batch, net.rotation, generator)
    p_demo = poses.from_matrices(rot, pos, net.rotation)
    p_neg = random_poses((pos.shape[0], settings.n_negatives), net.rotation, generator, pos)
    k = p_demo.shape[1]
    psi = net.value(planes, torch.cat([p_demo, p_neg], dim=1))
    psi_demo, psi_neg = psi[:, :k], psi[:, k:]
    loss_ce, beat = ce_loss(psi_demo, psi_neg, label, psi_demo if settings.labelled_negatives else None)
    loss = loss_ce
    loss_aux = cos = torch.zeros((), device=pos.device)
    if settings.aux_loss and settings.aux_weight > 0:
        p_slope, target = slope_targets(rot, pos, settings, net.rotation, generator)
        weight = label[:, :, None].expand(p_slope.shape[:3]).flatten(1)
        loss_aux, cos = aux_loss(net, planes, p_slope.flatten(1, 2), target.flatten(1, 2), weight)
        loss = loss + settings.aux_weight * loss_aux
    occ_logit = net.occupancy(planes, batch[keys.OCC_POINTS])
    loss_occ = F.binary_cross_entropy_with_logits(occ_logit, batch[keys.OCC])
    loss = loss + loss_occ
    with torch.no_grad():
        metrics = {"loss": float(loss), "loss_ce": float(loss_ce), "loss_aux": float(loss_aux),
                   "loss_occ": float(loss_occ), "beats_negatives": float(beat), "slope_cos": float(cos),
                   "occ_accuracy": float(((occ_logit > 0).float() == batch[keys.OCC]).float().mean()),
                   "positives": float(label.mean())}
    return loss, metrics
