"""Vectorised NumPy TSDF fusion with Open3D ``UniformTSDFVolume`` semantics (docs/perception.md).

=====================  ======================================================================
code                   Open3D (legacy ``UniformTSDFVolume``, v0.20)
=====================  ======================================================================
``voxel``              ``voxel_length = size / resolution``, origin at ``(0, 0, 0)``
``voxel_centres``      voxel ``(i, j, k)`` sampled at ``((i, j, k) + 0.5) · voxel``
``u, v``               ``u = floor(x fx / z + cx + 0.5)``, the nearest pixel; the voxel is used
                       when ``z > 0`` and ``1e-4 ≤ x fx / z + cx + 0.5 < W − 1e-4`` (same for ``v``)
``sdf``                ``(depth[v, u] − z) · sqrt(1 + ((u−cx)/fx)² + ((v−cy)/fy)²)``: the depth
                       difference as a distance along the pixel's ray
``tsdf``, ``weight``   where ``0 < depth ≤ 2 m`` and ``sdf > −trunc``:
                       ``tsdf ← (tsdf·weight + min(1, sdf/trunc)) / (weight + 1)``, ``weight += 1``
``get_grid``           ``ExtractVoxelGrid`` colours: ``(tsdf+1)/2`` where ``weight > 0`` and
                       ``−0.98 ≤ tsdf < 0.98``, else 0 (VGN/GIGA's network input)
``get_cloud``          ``ExtractPointCloud``: zero crossings along the three axes, linearly
                       interpolated; normals from central differences of the trilinear TSDF
=====================  ======================================================================

Arrays are ``(R, R, R)`` with axes ``(x, y, z)``: ``tsdf[i, j, k]`` is the voxel at world
``((i, j, k) + 0.5) · voxel``. State is float32, like Open3D.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

import numpy as np
from scipy import ndimage

from igd.constants import HIGH_RES, HIGH_RES_TRUNCATION, RESOLUTION, SIZE, TRUNCATION
from igd.errors import IGDError
from igd.geometry import Transform
from igd.perception.camera import FAR, CameraIntrinsic
from igd.perception.depth import check_depth_layout

__all__ = ["TSDFVolume", "create_tsdf", "high_res_cloud", "voxel_centres", "GRID_TSDF_LIMIT"]

#: ``|tsdf|`` at or beyond this counts as "far free space / deep inside" in the grid and the cloud.
GRID_TSDF_LIMIT = 0.98
_PIXEL_MARGIN = 1e-4  # Open3D's safe image border


@lru_cache(maxsize=8)
def voxel_centres(size: float, resolution: int) -> np.ndarray:
    """Voxel-centre coordinates along one axis, ``(resolution,)`` float32: ``(i + 0.5) · size / resolution``.

    The grid is separable, so the world centre of voxel ``(i, j, k)`` is ``(c[i], c[j], c[k])``; the
    integration broadcasts these instead of storing ``R³ × 3`` points. Read-only, cached.
    """
    c = ((np.arange(resolution, dtype=np.float64) + 0.5) * (size / resolution)).astype(np.float32)
    c.setflags(write=False)
    return c


@lru_cache(maxsize=8)
def _ray_length_factor(intrinsic: CameraIntrinsic) -> np.ndarray:
    """``(H·W,)`` float32: ``sqrt(1 + x² + y²)``, the ray length per unit of depth at each pixel."""
    x = (np.arange(intrinsic.width, dtype=np.float32) - np.float32(intrinsic.cx)) / np.float32(intrinsic.fx)
    y = (np.arange(intrinsic.height, dtype=np.float32) - np.float32(intrinsic.cy)) / np.float32(intrinsic.fy)
    f = np.sqrt(x[None, :] ** 2 + y[:, None] ** 2 + np.float32(1.0)).astype(np.float32).ravel()
    f.setflags(write=False)
    return f


class TSDFVolume:
    """A cube ``[0, size]³`` of ``resolution³`` voxels fused from depth images.

    Args:
        size: side of the cube in metres (0.3 for the planners).
        resolution: voxels per side (40 for the networks, 120 for the surface cloud).
        truncation: truncation distance in metres; default 4 voxels (0.03 m at 40³, 0.01 m at 120³).

    Attributes:
        tsdf: ``(R, R, R)`` float32, axes ``(x, y, z)``, in ``[-1, 1]``; 0 where never updated.
        weight: ``(R, R, R)`` float32, number of views that updated each voxel.
    """

    def __init__(self, size: float = SIZE, resolution: int = RESOLUTION, truncation: float | None = None):
        if not size > 0:
            raise IGDError(f"TSDF size must be a positive length in metres, got {size}")
        if int(resolution) != resolution or resolution < 2:
            raise IGDError(f"TSDF resolution must be an integer >= 2, got {resolution}")
        self.size = float(size)
        self.resolution = int(resolution)
        self.voxel_size = self.size / self.resolution
        self.truncation = 4.0 * self.voxel_size if truncation is None else float(truncation)
        if not self.truncation > 0:
            raise IGDError(f"TSDF truncation must be a positive distance in metres, got {truncation}")
        shape = (self.resolution,) * 3
        self.tsdf = np.zeros(shape, np.float32)
        self.weight = np.zeros(shape, np.float32)

    def __repr__(self) -> str:
        return (f"TSDFVolume(size={self.size}, resolution={self.resolution}, truncation={self.truncation}, "
                f"views={int(self.weight.max()) if self.weight.size else 0})")

    # ---- fusion ----
    def integrate(self, depth: np.ndarray, intrinsic: CameraIntrinsic, extrinsic: Transform) -> None:
        """Fuse one depth image.

        Args:
            depth: ``(H, W)`` float32/float64 metres along the optical axis; 0 = no reading; pixels
                beyond ``FAR`` (2 m) are ignored.
            intrinsic: the camera; ``(H, W) == (intrinsic.height, intrinsic.width)``.
            extrinsic: ``T_cam_world`` (world -> OpenCV camera).
        """
        d = _checked_depth(depth, intrinsic)
        if not isinstance(extrinsic, Transform):
            raise IGDError(f"extrinsic must be an igd.geometry.Transform (T_cam_world), got "
                           f"{type(extrinsic).__name__}; use Transform.from_matrix(m) or Transform.from_list(v)")
        idx, pix, z = self._visible_voxels(intrinsic, extrinsic)
        depth_flat = np.where(d <= FAR, d, np.float32(0.0)).ravel()
        dist = depth_flat[pix]
        sdf = (dist - z) * _ray_length_factor(intrinsic)[pix]
        upd = (dist > 0) & (sdf > -np.float32(self.truncation))
        self._update(idx[upd], sdf[upd])

    def _visible_voxels(self, intrinsic: CameraIntrinsic, extrinsic: Transform):
        """Voxels in front of the camera that project into the image.

        Returns ``(idx, pix, z)``: flat voxel indices (M,), flat pixel indices ``v·W + u`` (M,) and
        camera-frame depths ``z`` (M,) float32.
        """
        c = voxel_centres(self.size, self.resolution)
        rot = extrinsic.rotation.as_matrix()
        t = extrinsic.translation
        # rows of K·[R | t] with Open3D's +0.5 rounding folded in: u + 0.5 = (row_u · p) / z
        k_rows = np.array([[intrinsic.fx, 0.0, intrinsic.cx + 0.5], [0.0, intrinsic.fy, intrinsic.cy + 0.5],
                           [0.0, 0.0, 1.0]])
        p = np.concatenate([k_rows @ rot, (k_rows @ t)[:, None]], axis=1).astype(np.float32)  # (3, 4)
        a, b, z = (_separable_affine(p[r], c) for r in range(3))
        with np.errstate(divide="ignore", invalid="ignore"):
            np.divide(a, z, out=a)
            np.divide(b, z, out=b)
        w, h = intrinsic.width, intrinsic.height
        ok = (z > 0) & (a >= _PIXEL_MARGIN) & (a < w - _PIXEL_MARGIN) & (b >= _PIXEL_MARGIN) & (b < h - _PIXEL_MARGIN)
        idx = np.flatnonzero(ok)
        u = a.ravel()[idx].astype(np.intp)
        v = b.ravel()[idx].astype(np.intp)
        return idx, v * w + u, z.ravel()[idx]

    def _update(self, idx: np.ndarray, sdf: np.ndarray) -> None:
        """Running average of ``min(1, sdf / trunc)`` into voxels ``idx`` (flat), weight += 1."""
        tsdf, weight = self.tsdf.reshape(-1), self.weight.reshape(-1)
        new = np.minimum(np.float32(1.0), sdf / np.float32(self.truncation))
        w = weight[idx]
        tsdf[idx] = (tsdf[idx] * w + new) / (w + np.float32(1.0))
        weight[idx] = w + np.float32(1.0)

    # ---- read-out ----
    def observed_band(self) -> np.ndarray:
        """``(R, R, R)`` bool: observed and ``-0.98 <= tsdf < 0.98`` (near a surface)."""
        return (self.weight > 0) & (self.tsdf >= -GRID_TSDF_LIMIT) & (self.tsdf < GRID_TSDF_LIMIT)

    def get_grid(self) -> np.ndarray:
        """The network input, ``(1, R, R, R)`` float32, axes ``(x, y, z)``: ``(tsdf + 1) / 2`` in the
        observed band (:meth:`observed_band`), 0 elsewhere. 0.5 is the surface."""
        band = self.observed_band()
        grid = np.where(band, (self.tsdf + np.float32(1.0)) * np.float32(0.5), np.float32(0.0))
        return grid.astype(np.float32, copy=False)[None]

    def get_cloud(self) -> tuple[np.ndarray, np.ndarray]:
        """Surface points and unit normals in world metres: ``points (N, 3)``, ``normals (N, 3)`` float64.

        A point is emitted for every pair of axis-neighbours ``(a, a + e_axis)``, both in the observed
        band and with opposite TSDF signs, at the linear zero crossing; voxels on the outer layer
        (index 0 or R-1) take no part, as in Open3D. Normals are ``∇tsdf`` (central differences,
        ±0.99 voxel, of the trilinearly interpolated TSDF), normalised: they point to free space.
        A normal whose gradient vanishes is left as 0.
        """
        points = [self._axis_crossings(axis) for axis in range(3)]
        pts = np.concatenate(points, axis=0) if points else np.zeros((0, 3))
        return pts, self._normals_at(pts)

    def _axis_crossings(self, axis: int) -> np.ndarray:
        """Zero crossings between voxel ``a`` and ``a + e_axis``, ``(M, 3)`` float64 world points."""
        r = self.resolution
        band, f = self.observed_band(), self.tsdf
        inner = [slice(1, r - 1)] * 3
        lo, hi = list(inner), list(inner)
        lo[axis], hi[axis] = slice(1, r - 2), slice(2, r - 1)
        f0, f1 = f[tuple(lo)], f[tuple(hi)]
        cross = band[tuple(lo)] & band[tuple(hi)] & (f0 * f1 < 0)
        ijk = np.argwhere(cross) + 1  # (M, 3) indices of voxel a
        r0, r1 = np.abs(f0[cross]).astype(np.float64), np.abs(f1[cross]).astype(np.float64)
        pts = (ijk + 0.5) * self.voxel_size
        pts[:, axis] += self.voxel_size * r0 / (r0 + r1)
        return pts

    def _normals_at(self, pts: np.ndarray) -> np.ndarray:
        """Normalised TSDF gradient at world points ``(N, 3)`` -> ``(N, 3)``."""
        if len(pts) == 0:
            return np.zeros((0, 3))
        grid_pts = pts / self.voxel_size - 0.5  # continuous voxel index
        h = 0.99
        grad = np.empty_like(pts)
        for axis in range(3):
            step = np.zeros(3)
            step[axis] = h
            plus = ndimage.map_coordinates(self.tsdf, (grid_pts + step).T, order=1, mode="nearest")
            minus = ndimage.map_coordinates(self.tsdf, (grid_pts - step).T, order=1, mode="nearest")
            grad[:, axis] = plus - minus
        norm = np.linalg.norm(grad, axis=1, keepdims=True)
        return np.divide(grad, norm, out=np.zeros_like(grad), where=norm > 0)


def _separable_affine(row: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``row · (c[i], c[j], c[k], 1)`` for every voxel: ``(R, R, R)`` float32 from a (4,) row."""
    out = (row[0] * c)[:, None, None] + (row[1] * c)[None, :, None]
    return out + (row[2] * c + row[3])[None, None, :]


def _checked_depth(depth, intrinsic: CameraIntrinsic) -> np.ndarray:
    """Dtype/shape check plus cheap value checks for the hot path; (H, W) float32."""
    if not isinstance(intrinsic, CameraIntrinsic):
        raise IGDError(f"intrinsic must be a CameraIntrinsic, got {type(intrinsic).__name__}")
    d = check_depth_layout(depth, intrinsic)
    lo, hi = float(np.min(d)), float(np.max(d))
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise IGDError("depth has NaN/inf pixels; use 0 for 'no reading'")
    if lo < 0:
        raise IGDError(f"depth has negative pixels (min {lo:.4g}): expected metres >= 0, 0 meaning 'no reading'")
    if hi > 100.0 * FAR and not np.any((d > 0) & (d <= FAR)):
        raise IGDError(f"depth has no reading within {FAR} m but values up to {hi:.4g}: it looks like "
                       "millimetres; expected metres (divide by 1000)")
    return d


def _fusion_args(depths, extrinsics) -> list:
    if isinstance(depths, np.ndarray) and depths.ndim == 2:
        depths = depths[None]
    if isinstance(extrinsics, Transform):
        extrinsics = [extrinsics]
    depths, extrinsics = list(depths), list(extrinsics)
    if len(depths) != len(extrinsics):
        raise IGDError(f"got {len(depths)} depth images but {len(extrinsics)} extrinsics: expected one "
                       "T_cam_world per image")
    return list(zip(depths, extrinsics))


def create_tsdf(depths, intrinsic: CameraIntrinsic, extrinsics: Sequence[Transform],
                resolution: int = RESOLUTION, size: float = SIZE) -> TSDFVolume:
    """Fuse ``depths`` ``(V, H, W)`` (or a list of ``(H, W)``) seen from ``extrinsics`` (V ``T_cam_world``).

    Truncation: 0.03 m at 40³, 0.01 m at 120³ (docs/perception.md), 4 voxels otherwise.
    """
    trunc = {RESOLUTION: TRUNCATION, HIGH_RES: HIGH_RES_TRUNCATION}.get(resolution) if size == SIZE else None
    vol = TSDFVolume(size=size, resolution=resolution, truncation=trunc)
    for depth, extrinsic in _fusion_args(depths, extrinsics):
        vol.integrate(depth, intrinsic, extrinsic)
    return vol


def high_res_cloud(depths, intrinsic: CameraIntrinsic,
                   extrinsics: Sequence[Transform]) -> tuple[np.ndarray, np.ndarray]:
    """Surface cloud of the 120³ volume (2.5 mm voxels, 1 cm truncation): ``(points (N, 3), normals (N, 3))``."""
    return create_tsdf(depths, intrinsic, extrinsics, resolution=HIGH_RES).get_cloud()
