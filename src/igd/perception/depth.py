"""Depth images: validation, and analytic rendering of boxes for tests and benchmarks (docs/perception.md).

A depth image is a 2-D ``(H, W)`` float array in **metres**, measured along the optical axis; ``0``
means "no reading". Every function that takes a depth image from a user checks it here first, so a
millimetre PNG or a NaN hole fails with one line that says what is wrong and what is expected.
"""

from __future__ import annotations

import numpy as np

from igd.constants import TABLE_HEIGHT
from igd.errors import IGDError
from igd.geometry import Transform
from igd.perception.camera import FAR, CameraIntrinsic

__all__ = ["check_depth", "check_depth_layout", "check_finite_nonnegative", "pixel_rays", "render_boxes",
           "MAX_PLAUSIBLE_DEPTH"]

#: A median valid depth above this (metres) is taken as a sign of millimetre units.
MAX_PLAUSIBLE_DEPTH = 10.0


def check_depth_layout(depth, intrinsic: CameraIntrinsic | None = None, name: str = "depth") -> np.ndarray:
    """Cheap checks of dtype and shape only; returns ``depth`` as a float32 ``(H, W)`` array (no copy if already).

    Used on hot paths (TSDF fusion) where :func:`check_depth`'s median is too costly.
    """
    arr = np.asarray(depth)
    if arr.dtype.kind in "iub":
        raise IGDError(f"{name} has integer dtype {arr.dtype}: expected float metres; "
                       "convert a millimetre PNG with depth.astype(np.float32) / 1000")
    if arr.dtype.kind != "f":
        raise IGDError(f"{name} has dtype {arr.dtype}: expected a float32/float64 array in metres")
    if arr.ndim != 2:
        raise IGDError(f"{name} must be a 2-D (H, W) array in metres, got shape {arr.shape}")
    if intrinsic is not None and arr.shape != (intrinsic.height, intrinsic.width):
        raise IGDError(f"{name} has shape {arr.shape} (H, W) but the intrinsics are "
                       f"{intrinsic.width}x{intrinsic.height} (W x H): expected shape "
                       f"({intrinsic.height}, {intrinsic.width})")
    return arr.astype(np.float32, copy=False)


def check_finite_nonnegative(arr: np.ndarray, name: str = "depth") -> None:
    """Raise if ``arr`` has NaN/inf or negative pixels."""
    bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
    if bad:
        raise IGDError(f"{name} has {bad} NaN/inf pixels; use 0 for 'no reading'")
    if arr.size and float(arr.min()) < 0.0:
        n = int(np.count_nonzero(arr < 0))
        raise IGDError(f"{name} has {n} negative pixels (min {float(arr.min()):.4g}): expected metres >= 0, "
                       "0 meaning 'no reading'")


def check_depth(depth, intrinsic: CameraIntrinsic | None = None, name: str = "depth") -> np.ndarray:
    """Validate a depth image and return a float32 copy.

    Args:
        depth: ``(H, W)`` float32/float64 array, metres along the optical axis, ``0`` = no reading.
        intrinsic: if given, ``(H, W)`` must equal ``(intrinsic.height, intrinsic.width)``.
        name: what to call the array in error messages.

    Returns:
        ``(H, W)`` float32 copy of ``depth``.

    Raises:
        IGDError: integer dtype (millimetre PNG), not 2-D, shape mismatch with ``intrinsic``,
            NaN/inf or negative pixels, no valid reading at all, or a median valid depth above
            :data:`MAX_PLAUSIBLE_DEPTH` (millimetres).
    """
    arr = np.array(check_depth_layout(depth, intrinsic, name), dtype=np.float32, copy=True)
    check_finite_nonnegative(arr, name)
    valid = arr[arr > 0]
    if valid.size == 0:
        raise IGDError(f"{name} image has no valid reading (all pixels are 0): expected depths in metres > 0")
    median = float(np.median(valid))
    if median > MAX_PLAUSIBLE_DEPTH:
        raise IGDError(f"{name} median is {median:.4g}, which looks like millimetres: expected metres "
                       "(divide by 1000)")
    return arr


def pixel_rays(intrinsic: CameraIntrinsic) -> np.ndarray:
    """Camera-frame ray of every pixel centre, ``(H, W, 3)`` float64 with ``z = 1``.

    Pixel ``(v, u)`` looks along ``((u - cx) / fx, (v - cy) / fy, 1)`` — the convention under which a
    point projects to the pixel ``round(x fx / z + cx)`` (Open3D's, docs/perception.md).
    """
    u = (np.arange(intrinsic.width) - intrinsic.cx) / intrinsic.fx
    v = (np.arange(intrinsic.height) - intrinsic.cy) / intrinsic.fy
    rays = np.ones((intrinsic.height, intrinsic.width, 3))
    rays[..., 0] = u[None, :]
    rays[..., 1] = v[:, None]
    return rays


def render_boxes(intrinsic: CameraIntrinsic, extrinsic: Transform, boxes=(),
                 table_height: float | None = TABLE_HEIGHT, far: float = FAR) -> np.ndarray:
    """Analytic depth image of axis-aligned boxes on an infinite table plane — no simulator needed.

    Args:
        intrinsic: the camera.
        extrinsic: ``T_cam_world``.
        boxes: iterable of ``(lower (3,), upper (3,))`` world corners in metres.
        table_height: ``z`` of the table plane, or ``None`` for no table.
        far: hits beyond this depth read 0 ("no reading"), like the simulated camera.

    Returns:
        ``(H, W)`` float32 depth along the optical axis, metres, 0 where nothing is hit.
    """
    t_world_cam = extrinsic.inverse()
    dirs = t_world_cam.apply_vector(pixel_rays(intrinsic)).reshape(-1, 3)  # z_cam = 1 per unit of t
    eye = t_world_cam.translation
    t_hit = np.full(len(dirs), np.inf)
    if table_height is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (table_height - eye[2]) / dirs[:, 2]
        t_hit = np.where(t > 0, t, np.inf)
    for lower, upper in boxes:
        t_hit = np.minimum(t_hit, _ray_box(eye, dirs, np.asarray(lower, float), np.asarray(upper, float)))
    depth = np.where(np.isfinite(t_hit) & (t_hit <= far), t_hit, 0.0)
    return depth.reshape(intrinsic.height, intrinsic.width).astype(np.float32)


def _ray_box(eye: np.ndarray, dirs: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Slab test: ray parameter of the first hit of ``eye + t·dirs`` (N, 3) with a box, inf if none."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t0 = (lower - eye) / dirs
        t1 = (upper - eye) / dirs
    t_near = np.nanmax(np.minimum(t0, t1), axis=1)
    t_far = np.nanmin(np.maximum(t0, t1), axis=1)
    hit = (t_near <= t_far) & (t_far > 0)
    return np.where(hit, np.where(t_near > 0, t_near, t_far), np.inf)
