"""SO(3) and SE(3) on torch tensors, batched over any leading axes ``...`` and differentiable.

Conventions (docs/lie.md):

- a pose ``H (..., 4, 4)`` maps points of its own frame into the parent frame: ``x_parent = R x + t``;
- quaternions are ``(x, y, z, w)`` (as everywhere in igd, and in roma);
- a tangent vector ``ξ (..., 6)`` is ``(v, ω)``: translation part first, rotation part second;
- two exponential maps: :func:`se3_exp` is the group's (``t = V(ω) v``); :func:`exp_so3r3` is the
  product group SO(3) × R³ (``t = v``), the parametrisation of SE(3)-DiF's projected loss and of the
  Lie-group Gaussian below, in which a perturbation adds to the translation and right-multiplies the
  rotation (:func:`perturb`).

==========  ==============  ===============================================
code        paper           meaning
==========  ==============  ===============================================
omega       ω               rotation vector (axis · angle), the so(3) part
theta       θ = ‖ω‖          rotation angle
v           v (ρ)           translation part of a tangent vector
V           V(ω)            left Jacobian of SO(3): t = V(ω) v in se3_exp
sigma       σ               the Gaussian's scale (one for all six axes)
==========  ==============  ===============================================
"""

from __future__ import annotations

from typing import Optional, Sequence

import roma
import torch

__all__ = [
    "hat", "vee", "so3_exp", "so3_log", "se3_exp", "se3_log", "exp_so3r3", "log_so3r3", "make_pose",
    "identity", "inverse", "perturb", "lie_gaussian_log_prob", "lie_gaussian_score", "random_rotations",
    "quat_to_rotmat", "rotmat_to_quat", "rotmat_to_sixd", "sixd_to_rotmat",
]

_SMALL = 1e-3  # below this angle (rad) the SE(3) coefficients use their Taylor series


def _check_last(x: torch.Tensor, shape: tuple, name: str) -> None:
    if tuple(x.shape[x.ndim - len(shape):]) != shape or x.ndim < len(shape):
        raise ValueError(f"{name} must have shape (..., {', '.join(map(str, shape))}), got {tuple(x.shape)}")


def hat(omega: torch.Tensor) -> torch.Tensor:
    """The skew matrix ``[ω]× (..., 3, 3)`` of ``omega (..., 3)``: ``[ω]× x = ω × x``."""
    _check_last(omega, (3,), "omega")
    x, y, z = omega.unbind(-1)
    o = torch.zeros_like(x)
    return torch.stack([o, -z, y, z, o, -x, -y, x, o], dim=-1).reshape(omega.shape[:-1] + (3, 3))


def vee(m: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`hat`: ``(..., 3, 3)`` skew matrices → ``(..., 3)``."""
    _check_last(m, (3, 3), "m")
    return torch.stack([m[..., 2, 1], m[..., 0, 2], m[..., 1, 0]], dim=-1)


def so3_exp(omega: torch.Tensor) -> torch.Tensor:
    """Rotation matrices ``(..., 3, 3)`` of rotation vectors ``omega (..., 3)`` (roma, Taylor near 0)."""
    _check_last(omega, (3,), "omega")
    return roma.rotvec_to_rotmat(omega)


def so3_log(rot: torch.Tensor) -> torch.Tensor:
    """Rotation vectors ``(..., 3)``, angle in [0, π], of rotation matrices ``rot (..., 3, 3)`` (roma)."""
    _check_last(rot, (3, 3), "rot")
    return roma.rotmat_to_rotvec(rot)


def _angle(omega: torch.Tensor):
    """θ (...,), θ² and the mask θ < _SMALL, with a θ that is safe to divide by (1 where small)."""
    theta2 = (omega * omega).sum(-1)
    small = theta2 < _SMALL ** 2
    theta = torch.sqrt(torch.where(small, torch.ones_like(theta2), theta2))
    return theta, theta2, small


def _left_jacobian(omega: torch.Tensor) -> torch.Tensor:
    """V(ω) = I + (1 − cos θ)/θ² [ω]× + (θ − sin θ)/θ³ [ω]×², ``(..., 3, 3)``."""
    theta, theta2, small = _angle(omega)
    a = torch.where(small, 0.5 - theta2 / 24.0, (1.0 - torch.cos(theta)) / theta ** 2)
    b = torch.where(small, 1.0 / 6.0 - theta2 / 120.0, (theta - torch.sin(theta)) / theta ** 3)
    w = hat(omega)
    eye = torch.eye(3, dtype=omega.dtype, device=omega.device).expand(w.shape)
    return eye + a[..., None, None] * w + b[..., None, None] * (w @ w)


def _left_jacobian_inverse(omega: torch.Tensor) -> torch.Tensor:
    """V(ω)⁻¹ = I − ½[ω]× + (1/θ² − cot(θ/2)/(2θ)) [ω]×², ``(..., 3, 3)`` (finite at θ = π)."""
    theta, theta2, small = _angle(omega)
    half = theta / 2.0
    c = torch.where(small, 1.0 / 12.0 + theta2 / 720.0,
                    1.0 / theta ** 2 - torch.cos(half) / (2.0 * theta * torch.sin(half)))
    w = hat(omega)
    eye = torch.eye(3, dtype=omega.dtype, device=omega.device).expand(w.shape)
    return eye - 0.5 * w + c[..., None, None] * (w @ w)


def make_pose(rot: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Homogeneous poses ``(..., 4, 4)`` from rotations ``(..., 3, 3)`` and translations ``(..., 3)``."""
    _check_last(rot, (3, 3), "rot")
    _check_last(t, (3,), "t")
    top = torch.cat([rot, t[..., None]], dim=-1)
    bottom = torch.zeros(top.shape[:-2] + (1, 4), dtype=top.dtype, device=top.device)
    bottom[..., 0, 3] = 1.0
    return torch.cat([top, bottom], dim=-2)


def identity(shape: Sequence[int] = (), dtype=torch.float32, device=None) -> torch.Tensor:
    """Identity poses ``(*shape, 4, 4)``."""
    return torch.eye(4, dtype=dtype, device=device).expand(tuple(shape) + (4, 4)).clone()


def inverse(h: torch.Tensor) -> torch.Tensor:
    """``H⁻¹ = [Rᵀ, −Rᵀ t]`` of poses ``h (..., 4, 4)``."""
    _check_last(h, (4, 4), "h")
    rt = h[..., :3, :3].transpose(-1, -2)
    return make_pose(rt, -(rt @ h[..., :3, 3:4])[..., 0])


def se3_exp(xi: torch.Tensor) -> torch.Tensor:
    """The exponential of SE(3): ``xi (..., 6) = (v, ω)`` → ``H = [Exp(ω), V(ω) v] (..., 4, 4)``."""
    _check_last(xi, (6,), "xi")
    v, omega = xi[..., :3], xi[..., 3:]
    return make_pose(so3_exp(omega), (_left_jacobian(omega) @ v[..., None])[..., 0])


def se3_log(h: torch.Tensor) -> torch.Tensor:
    """The logarithm of SE(3): ``H (..., 4, 4)`` → ``(v, ω) (..., 6)`` with ‖ω‖ ≤ π, ``v = V(ω)⁻¹ t``."""
    _check_last(h, (4, 4), "h")
    omega = so3_log(h[..., :3, :3])
    v = (_left_jacobian_inverse(omega) @ h[..., :3, 3:4])[..., 0]
    return torch.cat([v, omega], dim=-1)


def exp_so3r3(x: torch.Tensor) -> torch.Tensor:
    """The product group SO(3) × R³: ``x (..., 6) = (t, ω)`` → ``H = [Exp(ω), t]``."""
    _check_last(x, (6,), "x")
    return make_pose(so3_exp(x[..., 3:]), x[..., :3])


def log_so3r3(h: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`exp_so3r3`: ``H (..., 4, 4)`` → ``(t, Log(R)) (..., 6)``."""
    _check_last(h, (4, 4), "h")
    return torch.cat([h[..., :3, 3], so3_log(h[..., :3, :3])], dim=-1)


def perturb(h: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """``H ⊕ ε``: the translation plus ``ε[:3]``, the rotation right-multiplied by ``Exp(ε[3:])``
    (``h (..., 4, 4)``, ``eps (..., 6)``; the perturbation of the Lie-group Gaussian)."""
    _check_last(h, (4, 4), "h")
    _check_last(eps, (6,), "eps")
    return make_pose(h[..., :3, :3] @ so3_exp(eps[..., 3:]), h[..., :3, 3] + eps[..., :3])


def _relative(h: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    """``(t − t_μ, Log(R_μᵀ R)) (..., 6)``: where ``h`` lies from ``mean`` in the product group's chart."""
    _check_last(h, (4, 4), "h")
    _check_last(mean, (4, 4), "mean")
    dt = h[..., :3, 3] - mean[..., :3, 3]
    return torch.cat([dt, so3_log(mean[..., :3, :3].transpose(-1, -2) @ h[..., :3, :3])], dim=-1)


def lie_gaussian_log_prob(h: torch.Tensor, mean: torch.Tensor, sigma) -> torch.Tensor:
    """Log density (up to its constant) of the Lie-group Gaussian ``N_G(H; μ, σ² I)``, ``(...,)``:
    ``−½ ‖(t − t_μ, Log(R_μᵀ R))‖² / σ²`` — the paper's approximation (no Jacobian correction)."""
    x = _relative(h, mean)
    sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
    return -0.5 * (x * x).sum(-1) / sigma ** 2


def lie_gaussian_score(h: torch.Tensor, mean: torch.Tensor, sigma) -> torch.Tensor:
    """The score ``∂/∂ε log N_G(H ⊕ ε; μ, σ² I)`` at ``ε = 0``, ``(..., 6)``: ``−(t − t_μ, φ)/σ²`` with
    ``φ = Log(R_μᵀ R)`` (``J_r(φ)⁻ᵀ φ = φ``, so the closed form needs no Jacobian)."""
    x = _relative(h, mean)
    sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
    return -x / sigma[..., None] ** 2 if sigma.ndim else -x / sigma ** 2


def random_rotations(shape: Sequence[int] | int, generator: Optional[torch.Generator] = None,
                     dtype=torch.float32, device=None) -> torch.Tensor:
    """Rotations uniform on SO(3) (Haar), ``(*shape, 3, 3)``: normalised Gaussian quaternions from ``generator``."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    q = torch.randn(shape + (4,), generator=generator, dtype=dtype, device=device)
    return roma.unitquat_to_rotmat(q / q.norm(dim=-1, keepdim=True).clamp(min=1e-12))


def quat_to_rotmat(quat: torch.Tensor) -> torch.Tensor:
    """Rotation matrices ``(..., 3, 3)`` of quaternions ``(x, y, z, w) (..., 4)``, normalised first."""
    _check_last(quat, (4,), "quat")
    return roma.unitquat_to_rotmat(quat / quat.norm(dim=-1, keepdim=True).clamp(min=1e-12))


def rotmat_to_quat(rot: torch.Tensor) -> torch.Tensor:
    """Unit quaternions ``(x, y, z, w) (..., 4)`` with ``w ≥ 0`` of rotation matrices ``(..., 3, 3)``."""
    _check_last(rot, (3, 3), "rot")
    q = roma.rotmat_to_unitquat(rot)
    return torch.where(q[..., 3:4] < 0, -q, q)


def rotmat_to_sixd(rot: torch.Tensor) -> torch.Tensor:
    """The 6D representation (Zhou et al. 2019): the first two columns ``(r₁, r₂) (..., 6)``."""
    _check_last(rot, (3, 3), "rot")
    return torch.cat([rot[..., :, 0], rot[..., :, 1]], dim=-1)


def sixd_to_rotmat(sixd: torch.Tensor) -> torch.Tensor:
    """Rotation matrices ``(..., 3, 3)`` of 6D vectors ``(a₁, a₂) (..., 6)`` by Gram–Schmidt (roma):
    ``r₁ = a₁/‖a₁‖``, ``r₂`` the unit part of ``a₂`` orthogonal to ``r₁``, ``r₃ = r₁ × r₂``."""
    _check_last(sixd, (6,), "sixd")
    return roma.special_gramschmidt(torch.stack([sixd[..., :3], sixd[..., 3:]], dim=-1))
