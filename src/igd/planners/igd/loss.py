"""IGD's training loss (Song, Li, Detry, CoRL 2024, Sec. 3)::

    L      = L_ddpm + L_a + L_g + L_w + L_occ
    L_ddpm = mean over positives × their 4 targets r_j of ‖ε − ε_θ(sqrt(ᾱ_t) r_j + sqrt(1 − ᾱ_t) ε, t | p, c_d(p))‖²/4
             r_j ∈ {r, r·Rz(π), −r, −r·Rz(π)}  (the same parallel-jaw grasp);  t ~ U{0 … 99}
             re-noising: ε is redrawn while the noisy point is closer to another r_k than to r_j
             ``ddpm_draws`` = D > 1: D draws of (t, ε) per target, averaged (the paper: 1)
    L_a    = mean over grasps of BCE(a(p), y)                                  (Affordance Evaluator)
    L_g    = mean over classifier samples of FL(v(p', r'), y'),  FL = α_t (1 − p_t)^γ · BCE,
             α = 0.5, γ = 2; samples per grasp: its 4 targets (label y) and the negatives (label 0)
    L_w    = 0.01 · mean over positives of (ŵ − w)²          (workspace units: w = width_m / 0.3)
    L_occ  = mean over occupancy points of BCE(ô, o)

==============  ==========  ================================================================
code            paper       meaning
==============  ==========  ================================================================
label           y           1 = some yaw succeeded at this point
quat            r           the labelled orientation (x, y, z, w)
targets         r_j         its four symmetric copies, (…, 4, 4)
noise           ε           diffusion noise; ``timesteps`` t
eps             ε_θ         the denoiser's prediction
aff_logit       a           affordance (logit)
grasp_logit     v           Grasp Classifier (logit)
jitter          σ_p         3 cm position jitter of the negatives
==============  ==========  ================================================================

**Negatives** (per grasp, M − 4 of them; 96 with ``rounds = 10``): the 4 targets turned about the
approach axis (the grasp z) by 36°, 72°, 108°, 144° (16), then ``rounds`` times (a) the 4 targets at
positions jittered by N(0, σ_p²) per axis, each copy its own jitter (4), and (b) the 4 targets turned
by one of those yaws drawn at random (4). Every grasp of the batch gets them, as in the reference
("per sample"): its own 4 targets carry its label, the negatives label 0.

**Re-noising**: the four targets have unit norm, so "x_t is nearest to r_k" is "<x_t, r_k> is
largest"; a sample whose nearest target is not its own gets fresh noise, up to ``renoise_tries``
times (at t = 99 one draw lands in the wrong cell about half the time, so after 20 tries about
one in a million is left); those left are dropped from L_ddpm (``renoise_left`` counts them).

**Label-0 rows and certain negatives.** A label-0 row (a labelled failure) trains the affordance
(target 0) and gives the classifier its 4 targets and negatives, all label 0; it has no L_ddpm and no
L_w term (both are weighted by y). Certain negatives over the volume (``certain`` = 1 in the batch,
:mod:`igd.data.negatives`: positions where every orientation fails) train the affordance only: the
classifier is left without them (their rows are not evaluated, :func:`_classifier_rows`, or masked,
:func:`_classifier_mean`, when the scenes hold different numbers of them), because IGD queries it only at the
positions its affordance chose and with orientations its diffuser proposed, and 100 classifier
samples per such row would shift the classifier's class balance to teach what the affordance
already decides. With no ``certain`` key the loss is exactly the paper's.

Two batch layouts (keys and units: :mod:`igd.batch_keys`; metres, converted here), as GIGA's loss:
per grasp ``pos (B, 3)`` … (the reference's) and scene-batched ``pos (S, K, 3)`` …, each grid encoded
once for its K grasps. All means are over grasps, targets or points, so the two layouts give the same
loss on the same data; with the same ``generator`` they draw the same noise too (tested).
"""

from __future__ import annotations

import functools
import math
from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F

from igd import batch_keys as keys
from igd.constants import SIZE
from igd.nn import normalise
from igd.nn.width import WIDTH_SCALE
from igd.planners.common.batches import REQUIRED_KEYS, as_scene_batch
from igd.planners.igd.config import IGDConfig

__all__ = ["LossSettings", "NEGATIVE_YAWS", "REQUIRED_KEYS", "WIDTH_WEIGHT", "classifier_samples", "focal_loss",
           "igd_loss", "noise_targets", "quat_rot_z", "symmetric_targets", "wrong_cell"]

WIDTH_WEIGHT = 0.01
#: Yaws of the rotated negatives: linspace(0, π, 6)[1:-1] = 36°, 72°, 108°, 144°.
NEGATIVE_YAWS = tuple(math.pi * k / 5 for k in range(1, 5))


#: The loss's settings are the planner's config: ``neg_rounds``, ``jitter``, ``focal_alpha``, ``focal_gamma``
#: and ``renoise_tries`` are declared and documented there (the paper's by default), and
#: ``LossSettings(neg_rounds=2)`` is an :class:`IGDConfig` with every other field at its default.
LossSettings = IGDConfig


# --------------------------------------------------------------------------------------------------
# quaternion symmetries, targets and noise
# --------------------------------------------------------------------------------------------------
def quat_rot_z(quat: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """``q · Rz(θ)`` (turn about the grasp's own z): ``quat (…, 4)`` (x, y, z, w), ``angle`` broadcastable to (…)."""
    x, y, z, w = quat.unbind(-1)
    angle = torch.as_tensor(angle, dtype=quat.dtype, device=quat.device)
    s, c = torch.sin(angle / 2), torch.cos(angle / 2)
    return torch.stack([x * c + y * s, y * c - x * s, z * c + w * s, w * c - z * s], dim=-1)


def symmetric_targets(quat: torch.Tensor) -> torch.Tensor:
    """The four quaternions of one parallel-jaw grasp: ``(…, 4)`` → ``(…, 4, 4)`` = [r, r·Rz(π), −r, −r·Rz(π)]."""
    turned = quat_rot_z(quat, math.pi)
    return torch.stack([quat, turned, -quat, -turned], dim=-2)


def wrong_cell(x_t: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """``(…, J)`` bool: noisy point ``x_t[…, j]`` is nearer some ``targets[…, k]``, k ≠ j, than ``targets[…, j]``.

    ``x_t, targets (…, J, D)``: each sample against the J targets of its own grasp (Euclidean distance).
    """
    dist = (x_t.unsqueeze(-2) - targets.unsqueeze(-3)).square().sum(-1)  # (…, J, J): [j, k] = |x_j − r_k|²
    own = torch.arange(targets.shape[-2], device=targets.device)
    return dist.argmin(dim=-1) != own


def noise_targets(scheduler, targets: torch.Tensor, active: torch.Tensor, tries: int,
                  generator: Optional[torch.Generator] = None):
    """Noise ``targets (…, J, 4)`` at random timesteps, with the re-noising rule on the ``active (…)`` grasps.

    Returns ``x_t (…, J, 4)``, ``noise (…, J, 4)``, ``timesteps (…, J)``, ``valid (…, J)`` (False: still
    in a wrong cell after ``tries`` redraws) and ``redrawn (…, J)`` (needed at least one redraw).
    """
    device = targets.device
    t = torch.randint(0, scheduler.num_train_timesteps, targets.shape[:-1], generator=generator, device=device)
    noise = torch.randn(targets.shape, generator=generator, device=device, dtype=targets.dtype)
    x_t = scheduler.add_noise(targets, noise, t)
    bad = wrong_cell(x_t, targets) & active.unsqueeze(-1)
    redrawn = bad.clone()
    for _ in range(tries):
        if not bool(bad.any()):
            break
        fresh = torch.randn(targets.shape, generator=generator, device=device, dtype=targets.dtype)
        noise = torch.where(bad.unsqueeze(-1), fresh, noise)
        x_t = scheduler.add_noise(targets, noise, t)
        bad = wrong_cell(x_t, targets) & active.unsqueeze(-1)
    return x_t, noise, t, ~bad, redrawn


def classifier_samples(p: torch.Tensor, targets: torch.Tensor, label: torch.Tensor, rounds: int, jitter: float,
                       generator: Optional[torch.Generator] = None):
    """The Grasp Classifier's samples of each grasp: its 4 targets (label y), then the negatives (label 0).

    ``p (S, K, 3)`` normalised, ``targets (S, K, 4, 4)``, ``label (S, K)``; ``jitter`` in metres.
    Returns ``p' (S, K, M, 3)``, ``r' (S, K, M, 4)``, ``y' (S, K, M)`` with ``M = 4 + 16 + 8 · rounds``,
    in the order [targets | 4 yaws × 4 targets | per round: 4 jittered targets, 4 turned targets].
    """
    s, k = label.shape
    yaws = torch.tensor(NEGATIVE_YAWS, dtype=targets.dtype, device=targets.device)
    turned = quat_rot_z(targets.unsqueeze(2), yaws[:, None]).reshape(s, k, 16, 4)  # (S, K, yaw·target, 4)
    p_jit = p[:, :, None, None] + torch.randn(s, k, rounds, 4, 3, generator=generator, device=p.device,
                                              dtype=p.dtype) * (jitter / SIZE)  # normalised units
    pick = torch.randint(0, len(NEGATIVE_YAWS), (s, k, rounds), generator=generator, device=p.device)
    q_turn = quat_rot_z(targets.unsqueeze(2), yaws[pick].unsqueeze(-1))  # (S, K, rounds, 4, 4)
    p_round = torch.stack([p_jit, p[:, :, None, None].expand_as(p_jit)], dim=3)  # (S, K, rounds, 2, 4, 3)
    q_round = torch.stack([targets.unsqueeze(2).expand_as(q_turn), q_turn], dim=3)  # (S, K, rounds, 2, 4, 4)
    m_round = 8 * rounds
    p_all = torch.cat([p[:, :, None].expand(s, k, 20, 3), p_round.reshape(s, k, m_round, 3)], dim=2)
    q_all = torch.cat([targets, turned, q_round.reshape(s, k, m_round, 4)], dim=2)
    y_all = torch.cat([label[:, :, None].expand(s, k, 4), label.new_zeros(s, k, 16 + m_round)], dim=2)
    return p_all, q_all, y_all


def focal_loss(logits: torch.Tensor, target: torch.Tensor, alpha: float = 0.5, gamma: float = 2.0) -> torch.Tensor:
    """Element-wise sigmoid focal loss (Lin et al. 2017) on logits: ``α_t (1 − p_t)^γ · BCE``.

    ``p_t = p y + (1 − p)(1 − y)``, ``α_t = α y + (1 − α)(1 − y)``, ``p = sigmoid(logits)``.
    """
    ce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    prob = torch.sigmoid(logits)
    p_t = prob * target + (1 - prob) * (1 - target)
    alpha_t = alpha * target + (1 - alpha) * (1 - target)
    return alpha_t * (1 - p_t).pow(gamma) * ce


# --------------------------------------------------------------------------------------------------
# the batch and the loss
# --------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _forward_process():
    """The DDPM schedule whose ``add_noise`` makes the training samples (T = 100, linear β)."""
    from igd.diffusion import make_scheduler

    return make_scheduler("ddpm")


def _ddpm_term(net, planes, p, feature, targets, label, generator):
    """L_ddpm and its bookkeeping: ``p (S, K, 3)``, ``feature (S, K, 96)``, ``targets (S, K, 4, 4)``.

    Only the positives' rows reach the ε-network (the others have weight y = 0): their P rows in scene
    order, each target drawn ``ddpm_draws`` (D) times, ``(D, P, 4)`` samples of its own t and ε.
    """
    settings = net.loss_settings
    scheduler = _forward_process()
    cond = net.condition(planes, p, feature)  # c_d(p), (S, K, 96)
    positive = label > 0
    p_pos, cond_pos, targets_pos = p[positive], cond[positive], targets[positive]  # (P, 3), (P, 96), (P, 4, 4)
    d, n, j = settings.ddpm_draws, len(p_pos), targets.shape[-2]
    targets_pos = targets_pos.unsqueeze(0).expand(d, n, j, 4)
    x_t, noise, t, valid, redrawn = noise_targets(scheduler, targets_pos, p_pos.new_ones(d, n, dtype=torch.bool),
                                                  settings.renoise_tries, generator)
    eps = net.denoiser(p_pos[None, :, None].expand(d, n, j, 3), x_t, t,
                       cond_pos[None, :, None].expand(d, n, j, cond.shape[-1]))
    weight = valid.to(eps.dtype)  # samples that reached their own target's cell
    loss = (weight * (eps - noise).square().mean(-1)).sum() / weight.sum().clamp(min=1.0)
    every = torch.ones_like(valid)
    stats = {"renoise_redrawn": _fraction(redrawn, every), "renoise_left": _fraction(~valid, every)}
    return loss, stats


def _classifier_rows(certain: Optional[torch.Tensor], shape) -> Optional[torch.Tensor]:
    """Indices ``(S, K')`` of the rows the Grasp Classifier is evaluated on: those that are not certain
    negatives, when every scene has the same number K' > 0 of them (the scene-batched dataset's layout:
    the C certain rows last); None to evaluate every row and mask (:func:`_classifier_mean`)."""
    if certain is None:
        return None
    certain = certain.reshape(shape)
    kept = (certain == 0).sum(dim=1)
    if int(kept.min()) != int(kept.max()) or int(kept[0]) == 0 or int(kept[0]) == shape[1]:
        return None
    return torch.argsort(certain, dim=1, stable=True)[:, :int(kept[0])]  # kept rows first, in their order


def _take_rows(x: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """``x (S, K, …)`` at ``rows (S, K')`` → ``(S, K', …)``."""
    index = rows.reshape(rows.shape + (1,) * (x.dim() - 2)).expand(rows.shape + x.shape[2:])
    return torch.gather(x, 1, index)


def _fraction(flags: torch.Tensor, among: torch.Tensor) -> float:
    return float((flags & among).sum()) / max(1, int(among.sum()))


def _classifier_mean(focal: torch.Tensor, certain: Optional[torch.Tensor], shape) -> torch.Tensor:
    """Mean of the classifier's ``focal (S, K, M)`` over the labelled grasps' samples: certain negatives
    (``certain`` 1) are left out (their position alone fails, which the affordance learns)."""
    if certain is None:
        return focal.mean()
    keep = (1.0 - certain.float().reshape(shape)).unsqueeze(-1).to(focal.dtype)  # (S, K, 1)
    return (focal * keep).sum() / (keep.sum() * focal.shape[-1]).clamp(min=1.0)


def igd_loss(net, batch: Dict[str, torch.Tensor],
             generator: Optional[torch.Generator] = None) -> Tuple[torch.Tensor, Dict[str, float]]:
    """IGD's loss of ``net`` (an :class:`~igd.planners.igd.model.IGDNet`) on ``batch`` → (loss, metrics).

    ``generator`` drives the timesteps, the noise and the negatives (None: torch's global generator).
    A batch without positives gives ``L_ddpm = L_w = 0`` (``no_positives = 1``), never NaN.
    """
    certain = batch.get(keys.CERTAIN)  # (S, K) or (B,): certain negatives, if the dataset added any
    batch = as_scene_batch(batch, "IGD")
    label = batch[keys.LABEL]  # (S, K)
    s, k = label.shape
    planes = net.encode(batch[keys.GRID])
    p = normalise(batch[keys.POS])
    features = net.sample(planes, torch.cat([p, normalise(batch[keys.OCC_POINTS])], dim=1))  # c(p), once
    feat_g, feat_o = features[:, :k], features[:, k:]
    n_pos = label.sum()

    aff_logit = net.affordance(planes, p, feat_g)
    loss_aff = F.binary_cross_entropy_with_logits(aff_logit, label)
    width_err = (net.width(planes, p, feat_g) - batch[keys.WIDTH] / WIDTH_SCALE).square()
    loss_width = (label * width_err).sum() / n_pos.clamp(min=1.0)
    occ_logit = net.occupancy(planes, normalise(batch[keys.OCC_POINTS]), feat_o)
    loss_occ = F.binary_cross_entropy_with_logits(occ_logit, batch[keys.OCC])

    targets = symmetric_targets(F.normalize(batch[keys.QUAT], dim=-1))  # (S, K, 4, 4)
    loss_ddpm, stats = _ddpm_term(net, planes, p, feat_g, targets, label, generator)

    settings = net.loss_settings
    rows = _classifier_rows(certain, label.shape)  # certain negatives skipped (their terms would be masked)
    p_k, targets_k, label_k = (p, targets, label) if rows is None else (
        _take_rows(p, rows), _take_rows(targets, rows), _take_rows(label, rows))
    p_c, q_c, y_c = classifier_samples(p_k, targets_k, label_k, settings.neg_rounds, settings.jitter, generator)
    k_c, m = p_c.shape[1], p_c.shape[2]
    grasp_logit = net.classify(planes, p_c.reshape(s, k_c * m, 3), q_c.reshape(s, k_c * m, 4)).reshape(s, k_c, m)
    focal = focal_loss(grasp_logit, y_c, settings.focal_alpha, settings.focal_gamma)
    loss_grasp = _classifier_mean(focal, certain, label.shape) if rows is None else focal.mean()

    loss = loss_ddpm + loss_aff + loss_grasp + WIDTH_WEIGHT * loss_width + loss_occ
    with torch.no_grad():
        metrics = {
            "loss": float(loss), "loss_ddpm": float(loss_ddpm), "loss_aff": float(loss_aff),
            "loss_grasp": float(loss_grasp), "loss_width": float(loss_width), "loss_occ": float(loss_occ),
            "aff_accuracy": float(((aff_logit > 0).float() == label).float().mean()),
            "grasp_accuracy": float(((grasp_logit > 0).float() == y_c).float().mean()),
            "occ_accuracy": float(((occ_logit > 0).float() == batch[keys.OCC]).float().mean()),
            "positives": float(label.mean()), "no_positives": float(n_pos == 0), **stats,
        }
    return loss, metrics
