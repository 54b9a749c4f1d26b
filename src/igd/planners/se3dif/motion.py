"""The learned energy as a cost: a grasp pose and the free-floating hand's approach to it, optimised together.

SE(3)-DiF's point (Urain et al., ICRA 2023, Sec. V-B): a smooth energy over grasp poses is a
differentiable cost a trajectory optimiser can minimise beside the motion's own costs. Here the
trajectory is ``W`` waypoints of the free-floating hand, ``H_0`` (the fixed start) … ``H_{W−1}`` (the
grasp), each a pose in the workspace frame (metres), and the cost is

    C = w_E · E(H_{W−1})                                              learned energy at the grasp
      + w_S · (W − 1) · Σ_i ‖t_{i+1} − t_i‖² + ρ² ‖Log(R_iᵀ R_{i+1})‖²   smoothness (uniform steps on a line)
      + w_C · Σ_i mean_j occ(H_i · y_j)                               collision with the observed scene
      + w_T · Σ_i mean_j relu(z_table − (H_i · y_j)_z)² / δ²             the table

where ``y_j`` are points on the hand's palm and open fingers (TCP frame, :data:`HAND_POINTS`) and
``occ`` is the observed inside of the TSDF (voxels behind the surface, ``1e-3 < grid < 0.5``), blurred by
one voxel and read trilinearly, so its gradient pushes the hand out. Every waypoint but the start moves
by a left perturbation ``H_i = [Exp(ε_ω) R_i⁰, t_i⁰ + ε_t]`` of the straight-line, geodesic
initialisation; Adam minimises ``C`` over the ``ε`` with a cosine-decayed step.

``energy`` is any callable ``energy(H (N, 4, 4)) -> (N,)`` differentiable in ``H`` (the planner passes
SE(3)-DiF's energy at the smallest noise level, :meth:`SE3DiFPlanner.energy_fn`); ``grid`` may be None
(no scene). ``igd bench --planner se3dif --set refine=motion`` executes the optimised grasp
(the benchmark's hand then approaches it along its own axis; the path is in ``Grasps.info``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Dict, Optional

import numpy as np

from igd.configs import check_int
from igd.constants import FINGER_DEPTH, MAX_OPENING, SIZE, TABLE_HEIGHT
from igd.errors import IGDError

__all__ = ["HAND_POINTS", "MotionConfig", "MotionResult", "collision_field", "optimise_grasp_and_motion",
           "refine_grasp"]


def _hand_points() -> np.ndarray:
    """Points on the open hand in the TCP frame (metres): the two fingers (outside the 0.08 m opening)
    from the palm to the tips, and the palm's front face."""
    y = 0.5 * MAX_OPENING + 0.01
    fingers = [(0.0, s * y, z) for s in (-1, 1) for z in np.linspace(0.0, FINGER_DEPTH, 3)]
    palm = [(x, yy, z) for x in (-0.02, 0.02) for yy in np.linspace(-0.09, 0.09, 5) for z in (-0.015, -0.06)]
    return np.array(fingers + palm, dtype=np.float32)


#: Collision points of the open hand, TCP frame, metres ``(26, 3)``.
HAND_POINTS = _hand_points()


@dataclass(frozen=True)
class MotionConfig:
    """Weights and steps of :func:`optimise_grasp_and_motion`."""

    waypoints: int = 8
    """W: poses of the path, the start and the grasp included (>= 2)."""
    iterations: int = 100
    """Adam steps."""
    lr_translation: float = 3e-3
    """Adam's step on the translations, metres."""
    lr_rotation: float = 2e-2
    """Adam's step on the rotations, radians."""
    energy_weight: float = 1.0
    """w_E."""
    smooth_weight: float = 10.0
    """w_S (per m² of squared step)."""
    rotation_scale: float = 0.1
    """ρ: metres per radian in the smoothness term."""
    collision_weight: float = 10.0
    """w_C."""
    table_weight: float = 10.0
    """w_T."""
    table_margin: float = 0.01
    """δ: the table term's length scale, metres."""

    def __post_init__(self):
        check_int(self, "waypoints", 2)
        check_int(self, "iterations", 1)
        for name in ("lr_translation", "lr_rotation", "energy_weight", "smooth_weight", "rotation_scale",
                     "collision_weight", "table_weight", "table_margin"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise IGDError(f"MotionConfig.{name} must be a finite number >= 0, got {value!r}")


@dataclass
class MotionResult:
    """What :func:`optimise_grasp_and_motion` found."""

    grasp: np.ndarray
    """(4, 4) the optimised grasp (TCP pose, metres)."""
    waypoints: np.ndarray
    """(W, 4, 4) the path, start first, the grasp last."""
    costs: Dict[str, float] = field(default_factory=dict)
    """The terms before (``*_initial``) and after optimisation."""


def collision_field(grid: Optional[np.ndarray]):
    """The observed inside of ``grid (1, 40, 40, 40)`` blurred by one voxel, ``(1, 1, 40, 40, 40)`` float32 (None
    for no grid)."""
    import torch
    from scipy import ndimage

    if grid is None:
        return None
    g = np.asarray(grid, dtype=np.float32).reshape((40, 40, 40))
    inside = ((g > 1e-3) & (g < 0.5)).astype(np.float32)
    return torch.from_numpy(ndimage.gaussian_filter(inside, 1.0).astype(np.float32))[None, None]


def _sample_field(volume, p):
    """Trilinear read of ``volume (1, 1, X, Y, Z)`` (voxel centres at ``(i + 0.5) · 0.0075``) at ``p (N, 3)`` m."""
    import torch.nn.functional as F

    u = (2.0 * p / SIZE - 1.0).flip(-1)  # grid_sample's (x, y, z) index (W, H, D) = our (z, y, x)
    return F.grid_sample(volume, u.reshape(1, -1, 1, 1, 3), align_corners=False, padding_mode="zeros").reshape(-1)


def _initial_path(start, grasp, w: int):
    """``(W, 4, 4)``: translations on the segment, rotations on the geodesic from ``start`` to ``grasp``."""
    import torch

    from igd.lie import make_pose, so3_exp, so3_log

    s = torch.linspace(0.0, 1.0, w, dtype=start.dtype)[:, None]
    omega = so3_log(start[:3, :3].T @ grasp[:3, :3])
    rot = start[:3, :3] @ so3_exp(s * omega)
    return make_pose(rot, (1 - s) * start[:3, 3] + s * grasp[:3, 3])


def _costs(path, energy, volume, points, config: MotionConfig) -> Dict[str, object]:
    import torch

    from igd.lie import so3_log

    steps = path[1:, :3, 3] - path[:-1, :3, 3]
    turns = so3_log(path[:-1, :3, :3].transpose(-1, -2) @ path[1:, :3, :3])
    smooth = (len(path) - 1) * ((steps ** 2).sum() + config.rotation_scale ** 2 * (turns ** 2).sum())
    world = torch.einsum("wij,pj->wpi", path[:, :3, :3], points) + path[:, None, :3, 3]  # (W, P, 3)
    collision = _sample_field(volume, world.reshape(-1, 3)).reshape(world.shape[:2]).mean(1).sum() \
        if volume is not None else path.sum() * 0.0
    table = (torch.relu(TABLE_HEIGHT - world[..., 2]) ** 2).mean(1).sum() / config.table_margin ** 2
    e = energy(path[-1:]).reshape(())
    total = (config.energy_weight * e + config.smooth_weight * smooth + config.collision_weight * collision
             + config.table_weight * table)
    return {"total": total, "energy": e, "smooth": smooth, "collision": collision, "table": table}


def optimise_grasp_and_motion(energy: Callable, grid: Optional[np.ndarray], grasp: np.ndarray, start: np.ndarray,
                              config: MotionConfig = MotionConfig()) -> MotionResult:
    """Optimise ``grasp (4, 4)`` and a ``config.waypoints``-pose path from the fixed ``start (4, 4)`` to it
    (metres, workspace frame) under the cost of the module docstring; ``grid`` ``(1, 40, 40, 40)`` or None."""
    import torch

    from igd.lie import make_pose, so3_exp

    grasp, start = (np.asarray(a, dtype=np.float64) for a in (grasp, start))
    for name, a in (("grasp", grasp), ("start", start)):
        if a.shape != (4, 4) or not np.all(np.isfinite(a)):
            raise IGDError(f"optimise_grasp_and_motion: {name} must be a finite (4, 4) pose in metres, got shape {a.shape}")
    dtype = torch.float32
    path0 = _initial_path(torch.tensor(start, dtype=dtype), torch.tensor(grasp, dtype=dtype), config.waypoints)
    volume = collision_field(grid)
    points = torch.from_numpy(HAND_POINTS)
    eps_t = torch.zeros(config.waypoints - 1, 3, requires_grad=True)
    eps_r = torch.zeros(config.waypoints - 1, 3, requires_grad=True)
    optim = torch.optim.Adam([{"params": [eps_t], "lr": config.lr_translation},
                              {"params": [eps_r], "lr": config.lr_rotation}])
    base = [g["lr"] for g in optim.param_groups]

    def path():
        moved = make_pose(so3_exp(eps_r) @ path0[1:, :3, :3], path0[1:, :3, 3] + eps_t)
        return torch.cat([path0[:1], moved])

    with torch.no_grad():
        initial = {f"{k}_initial": float(v) for k, v in _costs(path0, energy, volume, points, config).items()}
    for i in range(config.iterations):
        for group, lr in zip(optim.param_groups, base):
            group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * i / config.iterations))
        optim.zero_grad()
        _costs(path(), energy, volume, points, config)["total"].backward()
        optim.step()
    with torch.no_grad():
        final = path().double()
        costs = {k: float(v) for k, v in _costs(final.float(), energy, volume, points, config).items()}
    return MotionResult(final[-1].numpy(), final.numpy(), {**initial, **costs})


def refine_grasp(energy: Callable, grid: Optional[np.ndarray], grasp: np.ndarray,
                 config: MotionConfig = MotionConfig(), standoff: float = 0.15) -> MotionResult:
    """:func:`optimise_grasp_and_motion` from the start ``standoff`` metres back along ``grasp``'s approach axis
    (the planner's ``refine='motion'``)."""
    grasp = np.asarray(grasp, dtype=np.float64)
    start = grasp.copy()
    start[:3, 3] = grasp[:3, 3] - standoff * grasp[:3, 2]
    return optimise_grasp_and_motion(energy, grid, grasp, start, config)

