"""dGrasp's implicit policy: ``argmax_p Ψ(p | o)`` by Adam gradient ascent from many random initial poses.

===================  ===============================================================================
code                 what
===================  ===============================================================================
``initial_poses``    positions at voxels near the observed surface inside the valid grasp volume
                     (jittered within the voxel), rotations uniform on SO(3)
``ascend``           Adam on −Ψ: 'sequential' = position steps, then rotation steps (each phase its
                     own Adam state); 'synchronous' = both at once; after every step the rotation is
                     put back on its manifold (:func:`~igd.planners.dgrasp.poses.tidy`)
``select``           poses inside the valid volume, best Ψ first, a greedy non-maximum suppression on
                     the TCP position, at most ``max_grasps``
===================  ===============================================================================

Adam acts element-wise, so every pose climbs on its own and a chunked ascent is the same as one of all
poses at once. ``value`` is any function ``p (N, D) → Ψ (N,)``: the network's, or a toy one in tests.
"""

from __future__ import annotations

from typing import Callable, List, NamedTuple, Optional

import numpy as np
import torch

from igd.constants import RESOLUTION, SIZE, VALID_LOWER, VALID_UPPER, VOXEL_SIZE
from igd.lie import random_rotations
from igd.planners.dgrasp import poses
from igd.planners.postprocess import surface_mask

__all__ = ["Ascent", "ascend", "candidate_voxels", "initial_poses", "select"]


class Ascent(NamedTuple):
    """The result of :func:`ascend` on N poses."""

    p: torch.Tensor
    """(N, D) final pose vectors."""
    psi: torch.Tensor
    """(N,) Ψ at the final poses."""
    path: Optional[List[torch.Tensor]]
    """Pose vectors (N, D) before the first step and after every step (``keep_path``), else None."""


def candidate_voxels(grid: np.ndarray) -> np.ndarray:
    """Indices ``(V, 3)`` of the voxels near the observed surface (:func:`surface_mask`) whose lattice point
    ``(i, j, k) · 0.0075`` m lies in the valid grasp volume."""
    mask = surface_mask(grid)
    index = np.arange(RESOLUTION) * VOXEL_SIZE
    for axis in range(3):
        inside = (index >= VALID_LOWER[axis]) & (index <= VALID_UPPER[axis])
        shape = [1, 1, 1]
        shape[axis] = RESOLUTION
        mask = mask & inside.reshape(shape)
    return np.argwhere(mask)


def initial_poses(grid: np.ndarray, n: int, rotation: str, generator: torch.Generator) -> Optional[torch.Tensor]:
    """``n`` pose vectors ``(n, D)`` (float32, on the generator's device) at random voxels of
    :func:`candidate_voxels` (uniform jitter of ± half a voxel), rotations uniform; None if there are none."""
    voxels = candidate_voxels(grid)
    if len(voxels) == 0:
        return None
    device = generator.device
    voxels = torch.as_tensor(voxels, dtype=torch.float32, device=device)
    pick = torch.randint(len(voxels), (n,), generator=generator, device=device)
    jitter = torch.rand((n, 3), generator=generator, device=device) - 0.5
    t = (voxels[pick] + jitter) * VOXEL_SIZE
    rot = random_rotations(n, generator, device=device)
    return poses.from_matrices(rot, t, rotation)


def _phases(mode: str, position_steps: int, rotation_steps: int, synchronous_steps: int):
    """``[(steps, move position, move rotation)]`` of an ascent mode."""
    if mode == "sequential":
        return [(position_steps, True, False), (rotation_steps, False, True)]
    if mode == "synchronous":
        return [(synchronous_steps, True, True)]
    raise ValueError(f"ascent mode must be 'sequential' or 'synchronous', got {mode!r}")


def ascend(value: Callable[[torch.Tensor], torch.Tensor], p0: torch.Tensor, rotation: str, mode: str,
           position_steps: int, rotation_steps: int, synchronous_steps: int, position_lr: float,
           rotation_lr: float, keep_path: bool = False) -> Ascent:
    """Maximise ``value`` from ``p0 (N, D)`` by Adam (see the module docstring); the weights behind ``value``
    get no gradients. Returns the final poses, their Ψ and (``keep_path``) every step's poses."""
    x = p0[:, :3].detach().clone().requires_grad_(True)
    r = poses.tidy(p0[:, 3:].detach(), rotation).clone().requires_grad_(True)
    path = [torch.cat([x, r], dim=-1).detach().clone()] if keep_path else None
    for steps, move_x, move_r in _phases(mode, position_steps, rotation_steps, synchronous_steps):
        groups = ([{"params": [x], "lr": position_lr}] if move_x else []) + \
                 ([{"params": [r], "lr": rotation_lr}] if move_r else [])
        optimiser = torch.optim.Adam(groups, maximize=True)
        moving = [g["params"][0] for g in groups]
        for _ in range(steps):
            with torch.enable_grad():
                psi = value(torch.cat([x, r], dim=-1))
                grads = torch.autograd.grad(psi.float().sum(), moving)
            for param, grad in zip(moving, grads):
                param.grad = grad
            optimiser.step()
            with torch.no_grad():
                r.copy_(poses.tidy(r, rotation))
            if keep_path:
                path.append(torch.cat([x, r], dim=-1).detach().clone())
    p = torch.cat([x, r], dim=-1).detach()
    with torch.no_grad():
        psi = value(p).float()
    return Ascent(p, psi, path)


def select(h: np.ndarray, psi: np.ndarray, max_grasps: int, nms_distance: float, min_psi: float = -np.inf):
    """Indices into ``h (N, 4, 4)`` (metres) of the kept grasps, best ``psi`` first: TCP inside the valid
    grasp volume, ``psi ≥ min_psi``, greedy non-maximum suppression (a grasp within ``nms_distance`` m of
    a kept one is dropped), at most ``max_grasps``."""
    t = h[:, :3, 3]
    ok = np.all((t >= VALID_LOWER) & (t <= VALID_UPPER), axis=1) & np.isfinite(psi) & (psi >= min_psi)
    ok &= np.all(np.isfinite(h.reshape(len(h), -1)), axis=1) & np.all((t >= 0) & (t <= SIZE), axis=1)
    order = [i for i in np.argsort(-psi, kind="stable") if ok[i]]
    kept: List[int] = []
    for i in order:
        if len(kept) >= max_grasps:
            break
        if not kept or np.min(np.linalg.norm(t[kept] - t[i], axis=1)) >= nms_distance:
            kept.append(i)
    return np.asarray(kept, dtype=np.int64)
