"""Pinhole camera intrinsics, extrinsics read from user input, and the benchmark's camera placements.

Camera frame: OpenCV (x right, y down, z forward). Extrinsic = ``T_cam_world`` (world -> camera);
docs/perception.md and docs/frames.md hold the conventions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from igd.errors import IGDError
from igd.geometry import Rotation, Transform, look_at, spherical_eye

NEAR, FAR = 0.1, 2.0  # m, the simulated camera's clipping planes (depth beyond FAR = no reading)
#: Tolerance of the rigidity checks on user matrices (orthonormality, det, last row, quaternion norm).
RIGID_TOLERANCE = 1e-3
#: Extrinsic conventions a dict may name; ``T_world_cam`` (the camera pose) is inverted on reading.
EXTRINSIC_CONVENTIONS = ("T_cam_world", "T_world_cam")


@dataclass(frozen=True)
class CameraIntrinsic:
    """Pinhole intrinsics in pixels."""

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float

    def __post_init__(self):
        if self.width <= 0 or self.height <= 0:
            raise IGDError(f"intrinsics: width and height must be positive, got {self.width}x{self.height}")
        if self.fx <= 0 or self.fy <= 0:
            raise IGDError(f"intrinsics: focal lengths must be positive pixels, got fx={self.fx}, fy={self.fy}")

    @property
    def K(self) -> np.ndarray:
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    def to_dict(self) -> dict:
        """GIGA's ``setup.json`` form: ``{width, height, K}`` with K row-major 3x3 flattened."""
        return {"width": self.width, "height": self.height, "K": self.K.flatten().tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "CameraIntrinsic":
        try:
            if "K" in d:
                k = np.asarray(d["K"], dtype=np.float64).reshape(3, 3)
                return cls(int(d["width"]), int(d["height"]), float(k[0, 0]), float(k[1, 1]), float(k[0, 2]),
                           float(k[1, 2]))
            return cls(int(d["width"]), int(d["height"]), float(d["fx"]), float(d["fy"]),
                       float(d["cx"]), float(d["cy"]))
        except (KeyError, ValueError, TypeError) as e:
            raise IGDError("intrinsics must be {width, height, K: 9 numbers} or {width, height, fx, fy, cx, cy}; "
                           f"got keys {sorted(d)}") from e

    def as_tuple(self) -> tuple:
        return tuple(asdict(self).values())


def as_intrinsic(x: Any, image_shape: tuple | None = None) -> CameraIntrinsic:
    """A :class:`CameraIntrinsic` from itself, a dict (``fx, fy, cx, cy, width, height`` or ``K, width,
    height``) or a 3x3 ``K`` array, whose width and height are then those of ``image_shape (H, W)``."""
    if isinstance(x, CameraIntrinsic):
        return x
    if isinstance(x, dict):
        intrinsic = CameraIntrinsic.from_dict(x)
        if not all(np.isfinite(v) for v in (intrinsic.fx, intrinsic.fy, intrinsic.cx, intrinsic.cy)):
            raise IGDError(f"intrinsics: fx, fy, cx, cy must be finite pixels, got {intrinsic}")
        return intrinsic
    k = np.asarray(x, dtype=np.float64) if not isinstance(x, (str, bytes)) else np.zeros(0)
    if k.shape != (3, 3) or image_shape is None:
        raise IGDError("intrinsics: expected a CameraIntrinsic, a dict {fx, fy, cx, cy, width, height} or a 3x3 "
                       f"K matrix, got {type(x).__name__} of shape {k.shape}")
    if not np.all(np.isfinite(k)) or not np.allclose(k[2], [0.0, 0.0, 1.0]) or k[0, 1] != 0 or k[1, 0] != 0:
        raise IGDError(f"intrinsics: K must be [[fx, 0, cx], [0, fy, cy], [0, 0, 1]], got {k.tolist()}")
    return CameraIntrinsic(int(image_shape[1]), int(image_shape[0]), k[0, 0], k[1, 1], k[0, 2], k[1, 2])


# --------------------------------------------------------------------------------------------------
# extrinsics (and any rigid transform) from user input
# --------------------------------------------------------------------------------------------------
def rigid_problem(m: np.ndarray, tol: float = RIGID_TOLERANCE) -> str | None:
    """What makes ``m`` not a proper rigid 4x4 transform, or None if it is one."""
    m = np.asarray(m, dtype=np.float64)
    if m.shape != (4, 4):
        return f"expected a 4x4 matrix, got shape {m.shape}"
    if not np.all(np.isfinite(m)):
        return "it contains NaN or inf"
    if not np.allclose(m[3], [0.0, 0.0, 0.0, 1.0], atol=tol):
        return f"its last row is {np.round(m[3], 6).tolist()}, expected [0, 0, 0, 1]"
    r = m[:3, :3]
    err = float(np.abs(r @ r.T - np.eye(3)).max())
    if err > tol:
        return f"its rotation block is not orthonormal (|R R^T - I| = {err:.3g}; scaled or sheared?)"
    det = float(np.linalg.det(r))
    if abs(det - 1.0) > tol:
        return f"its rotation block has determinant {det:.4g}, expected +1 (a reflection?)"
    return None


def transform_from_dict(d: dict, name: str) -> Transform:
    """``{"matrix": 4x4 (or 16 numbers, row-major)}`` or ``{"translation": [3], "quaternion": [x, y, z, w]}``."""
    if "matrix" in d:
        try:
            m = np.asarray(d["matrix"], dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise IGDError(f"{name}: 'matrix' must be 4x4 numbers (row-major): {e}") from e
        return as_transform(m.reshape(4, 4) if m.size == 16 else m, name)
    if "translation" in d and "quaternion" in d:
        try:
            t = np.asarray(d["translation"], dtype=np.float64).reshape(-1)
            q = np.asarray(d["quaternion"], dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as e:
            raise IGDError(f"{name}: 'translation' and 'quaternion' must be lists of numbers: {e}") from e
        if t.shape != (3,) or q.shape != (4,) or not (np.all(np.isfinite(t)) and np.all(np.isfinite(q))):
            raise IGDError(f"{name}: expected 'translation' [x, y, z] (m) and 'quaternion' [x, y, z, w], "
                           f"got {t.size} and {q.size} values (or NaN/inf)")
        norm = float(np.linalg.norm(q))
        if abs(norm - 1.0) > RIGID_TOLERANCE:
            raise IGDError(f"{name}: 'quaternion' has norm {norm:.4g}: expected a unit quaternion [x, y, z, w]")
        return Transform(Rotation.from_quat(q), t)
    raise IGDError(f"{name}: expected the key 'matrix' (4x4, row-major) or the keys 'translation' and "
                   f"'quaternion' [x, y, z, w]; got keys {sorted(d)}")


def as_transform(x: Any, name: str = "transform") -> Transform:
    """A :class:`Transform` from a Transform, a 4x4 array-like or a dict (see :func:`transform_from_dict`).

    Raises:
        IGDError: naming ``name``, when the matrix is not rigid (:func:`rigid_problem`).
    """
    if isinstance(x, Transform):
        return x
    if isinstance(x, dict):
        return transform_from_dict(x, name)
    try:
        m = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise IGDError(f"{name}: expected a 4x4 matrix, a Transform or a dict, got {type(x).__name__}") from e
    problem = rigid_problem(m)
    if problem:
        raise IGDError(f"{name} is not a rigid transform: {problem}")
    return Transform(Rotation.from_matrix(m[:3, :3]), m[:3, 3])


def as_extrinsic(x: Any, name: str = "T_cam_world") -> Transform:
    """``T_cam_world`` (world -> camera) from :func:`as_transform` input; a dict may say
    ``"convention": "T_world_cam"`` to give the camera pose instead (it is inverted here)."""
    convention = x.get("convention", "T_cam_world") if isinstance(x, dict) else "T_cam_world"
    if convention not in EXTRINSIC_CONVENTIONS:
        raise IGDError(f"{name}: 'convention' must be one of {list(EXTRINSIC_CONVENTIONS)} "
                       f"(T_cam_world: world -> camera; T_world_cam: the camera's pose), got {convention!r}")
    t = as_transform(x, name)
    return t.inverse() if convention == "T_world_cam" else t


# --------------------------------------------------------------------------------------------------
# the benchmark's cameras
# --------------------------------------------------------------------------------------------------
#: The simulated camera of the benchmark and the data (docs/perception.md).
DEFAULT_INTRINSIC = CameraIntrinsic(640, 480, 540.0, 540.0, 320.0, 240.0)

#: Benchmark side view: origin, r, θ, φ (docs/perception.md).
SIDE_VIEW_ORIGIN = np.array([0.15, 0.15, 0.10])
SIDE_VIEW = dict(r=0.6, theta=np.pi / 3, phi=-np.pi / 2)


def spherical_extrinsic(origin, r: float, theta: float, phi: float) -> Transform:
    """``T_cam_world`` of a camera on a sphere around ``origin`` looking at it, world up ``+z``."""
    return look_at(spherical_eye(origin, r, theta, phi), origin)


def side_view_extrinsic() -> Transform:
    return spherical_extrinsic(SIDE_VIEW_ORIGIN, **SIDE_VIEW)


def circle_extrinsics(n: int = 6, origin=(0.15, 0.15, 0.0), r: float = 0.6, theta: float = np.pi / 6) -> list[Transform]:
    """VGN's evaluation views: ``n`` cameras evenly on a circle at polar angle ``theta``."""
    return [spherical_extrinsic(np.asarray(origin), r, theta, 2.0 * np.pi * i / n) for i in range(n)]


def views(kind: str) -> list[Transform]:
    """The named view sets of the benchmark: ``side`` (default) or ``circle6``."""
    if kind == "side":
        return [side_view_extrinsic()]
    if kind == "circle6":
        return circle_extrinsics(6)
    raise IGDError(f"unknown view set '{kind}': expected 'side' or 'circle6'")
