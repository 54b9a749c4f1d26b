"""The one path from depth images to an :class:`~igd.planners.base.Observation` (docs/perception.md).

    depth (V, H, W) ──checks──> ──noise──> ──fuse──> 40³ grid (1, 40, 40, 40)
                                                 └─> 120³ surface cloud, cropped to the grasp volume

The API (:meth:`igd.api.GraspDetector.observe`), the benchmark (:func:`igd.bench.clutter_removal.look`),
data processing (:func:`igd.data.process.fuse_grid`) and the viewer (:func:`igd.viz.simulated.observe_scene`)
all call :func:`observe_depth`, so what a model is trained on and what it plans on are built by the
same code. Everything is in the workspace frame: the extrinsics are ``T_cam_ws`` and the cube is
``[0, size]^3``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Dict, Optional

import numpy as np

from igd.constants import RESOLUTION, SIZE, VALID_LOWER, VALID_UPPER
from igd.errors import IGDError
from igd.geometry import Transform
from igd.perception.camera import FAR, CameraIntrinsic, as_extrinsic, as_intrinsic
from igd.perception.depth import check_depth, check_depth_layout, pixel_rays

if TYPE_CHECKING:
    from igd.planners.base import Observation

__all__ = ["observe_depth", "check_workspace_size", "check_workspace_in_view", "check_depth_in_workspace",
           "crop_to_workspace", "SIZE_TOLERANCE"]

#: How far a workspace size may be from :data:`igd.constants.SIZE` (float noise of "0.3").
SIZE_TOLERANCE = 1e-9


def observe_depth(depths: Any, intrinsic: Any, extrinsics: Any, size: float = SIZE, noise: str = "none",
                  rng: Optional[np.random.Generator] = None, cloud: bool = True, check: bool = True,
                  timings: Optional[Dict[str, float]] = None) -> Observation:
    """Turn ``V`` depth images into the observation the planners read.

    Args:
        depths: one ``(H, W)`` image, a ``(V, H, W)`` stack or a list of ``V`` ``(H, W)`` images; float
            metres along the optical axis, 0 = no reading.
        intrinsic: :class:`CameraIntrinsic`, a dict or a 3x3 K (:func:`~igd.perception.camera.as_intrinsic`;
            a K takes its size from the first image).
        extrinsics: ``V`` extrinsics ``T_cam_ws`` (workspace -> camera), or one for a single image; each a
            Transform, a 4x4 or a dict (:func:`~igd.perception.camera.as_extrinsic`).
        size: side of the workspace cube, metres; only 0.3 (the planners were trained on it).
        noise: a depth noise model (:data:`igd.perception.noise.NOISE_MODELS`), applied to the images
            in order, each drawing from ``rng``.
        rng: the noise generator; may be None only for ``noise="none"``.
        cloud: also fuse the 120³ volume for the surface cloud (not needed for training grids).
        check: the checks of user input, on the images before noise: :func:`check_depth` (values,
            units), :func:`check_workspace_in_view` and :func:`check_depth_in_workspace` per view, and a
            non-empty grid. Off for the simulator's and the raw root's images, which still get the
            fusion's cheap checks (dtype, shape, NaN/inf, negative pixels).
        timings: if given, the seconds spent are added to its keys ``noise`` and ``integration``
            (the grid and the cloud), and ``check`` when ``check`` is on.

    Returns:
        ``Observation`` with ``grid (1, 40, 40, 40)`` float32, ``depth`` the first image after noise
        ``(H, W)`` float32, ``intrinsic``, ``extrinsics`` (the ``V`` ``T_cam_ws``) and ``cloud``: the
        ``(N, 3)`` float64 surface points inside the valid grasp volume (N may be 0), or None when
        ``cloud`` is off.

    Raises:
        IGDError: one line, on any bad input.
    """
    from igd.perception.noise import apply_noise
    from igd.perception.tsdf import create_tsdf, high_res_cloud
    from igd.planners.base import Observation

    tic = time.perf_counter()
    if rng is None and noise != "none":
        raise IGDError(f"depth noise '{noise}' needs rng, a numpy Generator (np.random.default_rng(seed)), "
                       "so that the same seed gives the same noise")
    rng = np.random.default_rng(0) if rng is None else rng  # 'none' draws nothing
    size = check_workspace_size(size)
    images = _as_images(depths)
    intrinsic = as_intrinsic(intrinsic, images[0].shape)
    views = _as_extrinsics(extrinsics, len(images))
    if check:
        images = [_checked_view(image, intrinsic, view, size, _name(i, len(images)))
                  for i, (image, view) in enumerate(zip(images, views))]
    checked = time.perf_counter()
    noisy = np.stack([apply_noise(image, noise, rng) for image in images]).astype(np.float32, copy=False)
    noised = time.perf_counter()
    grid = create_tsdf(noisy, intrinsic, views, resolution=RESOLUTION, size=size).get_grid()
    points = crop_to_workspace(high_res_cloud(noisy, intrinsic, views)[0]) if cloud else None
    fused = time.perf_counter()
    if check and not grid.any():
        raise IGDError("the fused TSDF grid of the workspace is empty: no surface was seen inside the cube; "
                       "check the extrinsic, the workspace pose and the depth units")
    if timings is not None:
        if check:
            timings["check"] = timings.get("check", 0.0) + (checked - tic)
        timings["noise"] = timings.get("noise", 0.0) + (noised - checked)
        timings["integration"] = timings.get("integration", 0.0) + (fused - noised)
    return Observation(grid, depth=noisy[0], intrinsic=intrinsic, extrinsics=views, cloud=points)


def _as_images(depths: Any) -> list:
    """The images of ``depths`` (one ``(H, W)``, a ``(V, H, W)`` stack or a list), dtype/rank checked."""
    if isinstance(depths, np.ndarray) and depths.ndim in (2, 3):
        depths = [depths] if depths.ndim == 2 else list(depths)
    if not isinstance(depths, (list, tuple)):
        raise IGDError(f"depths: expected an (H, W) image, a (V, H, W) stack or a list of (H, W) images, "
                       f"got {type(depths).__name__}")
    if not depths:
        raise IGDError("depths: got no depth image; expected at least one (H, W) image in metres")
    return [check_depth_layout(d, name=_name(i, len(depths))) for i, d in enumerate(depths)]


def _as_extrinsics(extrinsics: Any, n_images: int) -> list[Transform]:
    """``n_images`` extrinsics ``T_cam_ws`` from a list (or a ``(V, 4, 4)`` array); a single Transform, dict or
    ``(4, 4)`` array counts as one."""
    single = isinstance(extrinsics, (Transform, dict))
    single = single or (isinstance(extrinsics, np.ndarray) and extrinsics.ndim == 2)
    items = [extrinsics] if single else list(extrinsics)
    if len(items) != n_images:
        raise IGDError(f"got {n_images} depth images but {len(items)} extrinsics: expected one extrinsic "
                       "(T_cam_ws) per image")
    return [as_extrinsic(e, "extrinsic" if len(items) == 1 else f"extrinsics[{i}]") for i, e in enumerate(items)]


def _name(i: int, n: int) -> str:
    return "depth" if n == 1 else f"depth[{i}]"


def _checked_view(image: np.ndarray, intrinsic: CameraIntrinsic, T_cam_ws: Transform, size: float,
                  name: str) -> np.ndarray:
    """:func:`check_depth` of one image, then the cube in view and readings inside it; ``(H, W)`` float32 copy."""
    image = check_depth(image, intrinsic, name)
    check_workspace_in_view(intrinsic, T_cam_ws, size)
    check_depth_in_workspace(image, intrinsic, T_cam_ws, size)
    return image


# --------------------------------------------------------------------------------------------------
# the camera and view checks
# --------------------------------------------------------------------------------------------------
def check_workspace_size(size: Any) -> float:
    """The workspace side, metres: :data:`igd.constants.SIZE` for anything within :data:`SIZE_TOLERANCE`
    of it (so ``0.3`` fuses exactly as the benchmark's cube); :class:`IGDError` otherwise."""
    number = isinstance(size, (int, float, np.floating)) and not isinstance(size, bool)
    if not number or abs(size - SIZE) > SIZE_TOLERANCE:
        raise IGDError(f"workspace size must be {SIZE:g} m (the cube the planners were trained on), got {size!r}")
    return SIZE


def check_workspace_in_view(intrinsic: CameraIntrinsic, T_cam_ws: Transform, size: float = SIZE,
                            samples: int = 9) -> None:
    """Raise unless some of the workspace cube lies in front of the camera and inside the image.

    The cube is sampled on a ``samples³`` lattice (corners and centre included) in its corner frame.
    """
    axis = np.linspace(0.0, size, samples)
    lattice = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), axis=-1).reshape(-1, 3)
    p = T_cam_ws.apply(lattice)
    front = p[:, 2] > 1e-6
    if not front.any():
        raise IGDError("the workspace is behind the camera (every point of the cube has z <= 0 in the camera "
                       "frame): the extrinsic must be T_cam_world (world -> camera), not the camera pose "
                       "T_world_cam; and check the workspace pose")
    u = intrinsic.fx * p[front, 0] / p[front, 2] + intrinsic.cx
    v = intrinsic.fy * p[front, 1] / p[front, 2] + intrinsic.cy
    if not np.any((u >= 0) & (u < intrinsic.width) & (v >= 0) & (v < intrinsic.height)):
        raise IGDError(f"the workspace cube projects outside the {intrinsic.width}x{intrinsic.height} image: "
                       "the camera cannot see it; check the workspace pose and the extrinsic, which must be "
                       "T_cam_world (world -> camera), not the camera's pose T_world_cam")


def check_depth_in_workspace(depth: np.ndarray, intrinsic: CameraIntrinsic, T_cam_ws: Transform,
                             size: float = SIZE) -> int:
    """Back-project the valid pixels of ``depth (H, W)`` (0 < depth <= 2 m); raise if none lands in the
    cube, else return how many do."""
    valid = (depth > 0) & (depth <= FAR)
    points_cam = pixel_rays(intrinsic)[valid] * depth[valid, None]  # (M, 3)
    p = T_cam_ws.inverse().apply(points_cam)
    inside = int(np.count_nonzero(np.all((p >= 0.0) & (p <= size), axis=1)))
    if inside == 0:
        raise IGDError(f"no depth reading falls inside the workspace cube ({int(valid.sum())} valid pixels, none "
                       f"within the {size:g} m cube): check the extrinsic (T_cam_world), the workspace pose and "
                       "the depth units (metres)")
    return inside


def crop_to_workspace(points: np.ndarray) -> np.ndarray:
    """The points ``(N, 3)`` inside the valid grasp volume (docs/frames.md), as ``(M, 3)`` float64."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    inside = np.all((points >= VALID_LOWER) & (points <= VALID_UPPER), axis=1)
    return points[inside]
