"""Pinhole camera intrinsics and the benchmark's camera placements (SPEC.md §6).

Camera frame: OpenCV (x right, y down, z forward). Extrinsic = ``T_cam_world`` (world -> camera).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from igd.errors import IGDError
from igd.geometry import Transform, look_at, spherical_eye

NEAR, FAR = 0.1, 2.0  # m, the simulated camera's clipping planes (depth beyond FAR = no reading)


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


#: The simulated camera of the benchmark and the data (SPEC §6).
DEFAULT_INTRINSIC = CameraIntrinsic(640, 480, 540.0, 540.0, 320.0, 240.0)

#: Benchmark side view: origin, r, θ, φ (SPEC §6).
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
