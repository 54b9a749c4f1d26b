"""Post-processing shared by the dense and implicit planners (docs/planners.md, "Post-processing").

A planner that predicts quality, orientation and width on the 40^3 grid hands its three volumes to
:func:`detect`, which runs the reference pipeline of VGN (Breyer et al. 2020, ``detection.py``) as
GIGA extended it (Jiang et al. 2021, ``detection_implicit.py``):

=========================  ========================================================================
step                       what
=========================  ========================================================================
:func:`process`            Gaussian smoothing of quality (σ = 1 voxel), :func:`surface_mask`,
                           width range, zeroed borders (:func:`zero_borders`)
:func:`select`             quality threshold (``force``: keep the single best if none passes),
                           non-maximum suppression (4-voxel maximum filter), sort by score
:func:`order_detections`   ``order="best"``: all detections, best first (GIGA's ``--best``);
                           ``order="random"``: one uniformly drawn detection (VGN's own protocol)
=========================  ========================================================================

Volumes are numpy arrays with axes ``(x, y, z)``: ``grid (40, 40, 40)`` the encoded TSDF
(docs/perception.md#tsdf), ``qual (40, 40, 40)`` in [0, 1], ``rot (4, 40, 40, 40)`` quaternions ``(x, y, z, w)``,
``width (40, 40, 40)`` in **metres** (VGN predicts voxel units: its planner converts first).

Why ``order="random"`` returns one grasp: :class:`~igd.planners.base.Grasps` is always sorted by
score and the benchmark executes ``grasps[0]``. VGN's protocol shuffles its detections and executes
the first, i.e. a uniform draw; returning exactly that drawn grasp keeps both the ``Grasps``
contract and the benchmark free of planner-specific ordering. ``info["candidates"]`` says how many
detections it was drawn from; use ``order="best"`` to see them all.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal, Optional

import numpy as np
from scipy import ndimage

from igd.configs import check_bool, check_choice, check_int, check_number, config_from_dict
from igd.constants import RESOLUTION, SIZE, VOXEL_SIZE
from igd.errors import IGDError
from igd.planners.base import Grasps

__all__ = ["PostprocessConfig", "PRESETS", "surface_mask", "zero_borders", "process", "select",
           "order_detections", "detect"]

Order = Literal["best", "random"]
_ORDERS = ("best", "random")


@dataclass
class PostprocessConfig:
    """Settings of :func:`detect`. Defaults are GIGA's protocol (docs/planners.md); see :data:`PRESETS`."""

    threshold: float = 0.5
    """Quality threshold on the smoothed, masked quality (GIGA's protocol 0.5; VGN's own 0.9)."""
    force: bool = False
    """If no voxel passes ``threshold``, keep the single best voxel with quality > 0 instead of nothing."""
    order: Order = "best"
    """'best': every detection, best first; 'random': one detection drawn uniformly (VGN's protocol)."""
    sigma: float = 1.0
    """Standard deviation of the Gaussian smoothing of quality, in voxels (0 turns it off)."""
    out_th: float = 0.5
    """Grid values above this are observed free space ("outside") for the surface mask."""
    dilation: int = 2
    """Voxels kept = observed free space dilated by this many voxels, never into observed-inside voxels."""
    min_width: float = 0.033 * SIZE
    """Smallest accepted predicted width, metres (GIGA: 0.033 normalised = 9.9 mm)."""
    max_width: float = 0.233 * SIZE
    """Largest accepted predicted width, metres (GIGA: 0.233 normalised = 69.9 mm)."""
    border_xy: int = 2
    """Voxel layers zeroed at each x and y border (GIGA's ``bound``: int(0.02 / 0.0075) = 2)."""
    border_z: int = 7
    """Voxel layers zeroed at the bottom in z (GIGA's ``bound``: int(0.055 / 0.0075) = 7)."""
    max_filter_size: int = 4
    """Window of the non-maximum suppression (maximum filter), voxels."""

    def __post_init__(self):
        check_number(self, "threshold", 0.0, 1.0)
        check_number(self, "out_th", 0.0, 1.0)
        check_choice(self, "order", _ORDERS)
        check_bool(self, "force")
        if not (isinstance(self.sigma, (int, float)) and self.sigma >= 0):
            raise IGDError(f"PostprocessConfig.sigma must be >= 0 voxels, got {self.sigma!r}")
        if not 0.0 <= self.min_width < self.max_width:
            raise IGDError(f"PostprocessConfig: need 0 <= min_width < max_width (metres), "
                           f"got min_width={self.min_width}, max_width={self.max_width}")
        for name, lo, hi in (("dilation", 0, RESOLUTION), ("border_xy", 0, RESOLUTION // 2 - 1),
                             ("border_z", 0, RESOLUTION - 1), ("max_filter_size", 1, RESOLUTION)):  # voxels
            check_int(self, name, lo, hi)

    @classmethod
    def preset(cls, name: str, **overrides) -> "PostprocessConfig":
        """A named preset (:data:`PRESETS`) with some fields replaced, e.g. ``preset("vgn", threshold=0.8)``."""
        if name not in PRESETS:
            raise IGDError(f"unknown post-processing preset {name!r}: expected one of {sorted(PRESETS)}")
        return config_from_dict(cls, {**dataclasses.asdict(PRESETS[name]), **overrides})


PRESETS = {
    # GIGA's benchmark protocol (docs/planners.md, "Post-processing"): threshold 0.5, bounded workspace,
    # best grasp executed.
    "giga": PostprocessConfig(),
    # VGN's own detection.py: threshold 0.9, widths in [1.33, 9.33] voxels, no border zeroing,
    # detections shuffled and the first executed (a uniform draw).
    "vgn": PostprocessConfig(threshold=0.9, order="random", min_width=1.33 * VOXEL_SIZE,
                             max_width=9.33 * VOXEL_SIZE, border_xy=0, border_z=0),
}


# --------------------------------------------------------------------------------------------------
# the steps
# --------------------------------------------------------------------------------------------------
def _check_volume(name: str, vol: np.ndarray, lead: tuple = ()) -> np.ndarray:
    vol = np.asarray(vol)
    shape = lead + (RESOLUTION,) * 3
    if vol.shape != shape:
        raise IGDError(f"{name} must have shape {shape}, got {vol.shape}")
    return vol


def surface_mask(grid: np.ndarray, out_th: float = 0.5, iterations: int = 2) -> np.ndarray:
    """Voxels near the observed surface: ``(40, 40, 40)`` bool.

    grid: (40, 40, 40) or (1, 40, 40, 40) encoded TSDF. ``outside = grid > out_th`` (observed free
    space near a surface), ``inside = 1e-3 < grid < out_th`` (observed, behind a surface); the mask is
    ``outside`` dilated ``iterations`` times without ever growing into ``inside`` (VGN's ``process``).
    """
    grid = np.asarray(grid)
    grid = _check_volume("grid", grid[0] if grid.ndim == 4 else grid)
    outside = grid > out_th
    inside = (grid > 1e-3) & (grid < out_th)
    if iterations == 0:
        return outside
    return ndimage.binary_dilation(outside, iterations=iterations, mask=~inside)


def zero_borders(qual: np.ndarray, border_xy: int = 2, border_z: int = 7) -> np.ndarray:
    """Copy of ``qual (40, 40, 40)`` with ``border_xy`` layers at each x/y side and the bottom ``border_z`` z layers zeroed.

    GIGA's ``bound``: keeps grasp centres inside the valid volume ``[0.02, 0.28]^2 x [0.055, 0.3]``.
    """
    qual = np.array(qual, copy=True)
    if border_xy > 0:
        qual[:border_xy], qual[-border_xy:] = 0.0, 0.0
        qual[:, :border_xy], qual[:, -border_xy:] = 0.0, 0.0
    if border_z > 0:
        qual[:, :, :border_z] = 0.0
    return qual


def process(grid: np.ndarray, qual: np.ndarray, rot: np.ndarray, width: np.ndarray,
            cfg: Optional[PostprocessConfig] = None) -> np.ndarray:
    """The masked, smoothed quality ``qual' (40, 40, 40)``; zero where no grasp may be proposed.

    grid: (40, 40, 40) or (1, 40, 40, 40); qual, width (m): (40, 40, 40); rot: (4, 40, 40, 40),
    unused here but checked, so that a caller's volumes travel together.
    """
    cfg = cfg or PostprocessConfig()
    qual = _check_volume("qual", qual).astype(np.float64)
    _check_volume("rot", rot, (4,))
    width = _check_volume("width", width)
    if cfg.sigma > 0:
        qual = ndimage.gaussian_filter(qual, sigma=cfg.sigma, mode="nearest")
    qual[~surface_mask(grid, cfg.out_th, cfg.dilation)] = 0.0
    qual[(width < cfg.min_width) | (width > cfg.max_width)] = 0.0
    return zero_borders(qual, cfg.border_xy, cfg.border_z)


def select(qual: np.ndarray, rot: np.ndarray, width: np.ndarray, threshold: float,
           max_filter_size: int = 4, force: bool = False) -> Grasps:
    """Grasps at the local maxima of ``qual`` above ``threshold``, best first.

    qual: (40, 40, 40) processed quality; rot: (4, 40, 40, 40) quaternions (x, y, z, w);
    width: (40, 40, 40) metres. A grasp sits at voxel ``(i, j, k) · 0.0075`` m (no half voxel:
    docs/planners.md, "Post-processing") with orientation ``rot[:, i, j, k]``. ``force``: if no voxel
    reaches ``threshold``, keep the single best local maximum with quality > 0. Returns
    :class:`Grasps` with ``poses (N, 4, 4)``.
    """
    qual = np.array(_check_volume("qual", qual), dtype=np.float64, copy=True)
    rot, width = _check_volume("rot", rot, (4,)), _check_volume("width", width)
    best_only = force and not np.any(qual >= threshold)
    if not best_only:
        qual[qual < threshold] = 0.0
    # non-maximum suppression: keep voxels equal to the maximum of their window (VGN's select)
    local_max = ndimage.maximum_filter(qual, size=max_filter_size)
    qual = np.where((qual == local_max) & (qual > 0), qual, 0.0)
    index = np.argwhere(qual > 0)  # (N, 3)
    grasps = _grasps_at(index, qual, rot, width)
    grasps.info["forced"] = bool(best_only and len(grasps) > 0)
    return grasps.top(1) if best_only else grasps


def _grasps_at(index: np.ndarray, qual: np.ndarray, rot: np.ndarray, width: np.ndarray) -> Grasps:
    """Grasps at voxel indices ``index (N, 3)``."""
    from scipy.spatial.transform import Rotation

    if len(index) == 0:
        return Grasps.empty()
    i, j, k = index.T
    poses = np.tile(np.eye(4), (len(index), 1, 1))
    poses[:, :3, :3] = Rotation.from_quat(rot[:, i, j, k].T.astype(np.float64)).as_matrix()
    poses[:, :3, 3] = index * VOXEL_SIZE
    return Grasps(poses, width[i, j, k], qual[i, j, k])


def order_detections(grasps: Grasps, order: Order, rng: Optional[np.random.Generator] = None) -> Grasps:
    """``order="best"``: ``grasps`` unchanged; ``"random"``: one detection drawn uniformly with ``rng``.

    ``info["candidates"]`` = number of detections before the draw (see the module docstring).
    """
    grasps.info["candidates"] = len(grasps)
    grasps.info["order"] = order
    if order == "best" or len(grasps) == 0:
        return grasps
    if rng is None:
        raise IGDError("order='random' needs a seeded numpy Generator (rng)")
    i = int(rng.integers(len(grasps)))
    return Grasps(grasps.poses[i:i + 1], grasps.widths[i:i + 1], grasps.scores[i:i + 1], dict(grasps.info))


def detect(grid: np.ndarray, qual: np.ndarray, rot: np.ndarray, width: np.ndarray,
           cfg: Optional[PostprocessConfig] = None, rng: Optional[np.random.Generator] = None) -> Grasps:
    """:func:`process`, :func:`select` and :func:`order_detections` in one call (shapes as there)."""
    cfg = cfg or PostprocessConfig()
    qual = process(grid, qual, rot, width, cfg)
    grasps = select(qual, rot, width, cfg.threshold, cfg.max_filter_size, cfg.force)
    return order_detections(grasps, cfg.order, rng)
