"""Rigid transforms and rotation helpers (numpy side, on top of SciPy).

Quaternions are ``(x, y, z, w)`` everywhere (docs/frames.md). A :class:`Transform` ``T_a_b`` maps
points given in frame ``b`` into frame ``a``: ``p_a = T_a_b.apply(p_b)``; ``T_a_b * T_b_c = T_a_c``.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
from scipy.spatial.transform import Rotation

__all__ = ["Rotation", "Transform", "rot_z", "look_at", "spherical_eye", "is_rigid", "quat_angle_sym"]


class Transform:
    """A rigid transform: ``rotation`` (a SciPy ``Rotation``) then ``translation`` (3,)."""

    __slots__ = ("rotation", "translation")

    def __init__(self, rotation: Rotation, translation: Sequence[float] | np.ndarray):
        if not isinstance(rotation, Rotation):
            raise TypeError(f"rotation must be a scipy Rotation, got {type(rotation).__name__}")
        t = np.asarray(translation, dtype=np.float64).reshape(-1)
        if t.shape != (3,):
            raise ValueError(f"translation must have 3 elements, got shape {np.shape(translation)}")
        self.rotation = rotation
        self.translation = t

    # ---- constructors ----
    @classmethod
    def identity(cls) -> "Transform":
        return cls(Rotation.identity(), np.zeros(3))

    @classmethod
    def from_matrix(cls, m: np.ndarray) -> "Transform":
        m = np.asarray(m, dtype=np.float64)
        if m.shape != (4, 4):
            raise ValueError(f"a homogeneous transform must be 4x4, got shape {m.shape}")
        if not is_rigid(m):
            raise ValueError("matrix is not a rigid transform (rotation not orthonormal with det +1, "
                             "or last row not [0, 0, 0, 1])")
        return cls(Rotation.from_matrix(m[:3, :3]), m[:3, 3])

    @classmethod
    def from_list(cls, values: Iterable[float]) -> "Transform":
        """From ``[qx, qy, qz, qw, tx, ty, tz]`` (GIGA's ``extrinsics`` rows)."""
        v = np.asarray(list(values), dtype=np.float64)
        if v.shape != (7,):
            raise ValueError(f"expected [qx, qy, qz, qw, tx, ty, tz], got {v.shape[0]} values")
        return cls(Rotation.from_quat(v[:4]), v[4:])

    @classmethod
    def from_quat(cls, quat_xyzw: Sequence[float], translation: Sequence[float]) -> "Transform":
        return cls(Rotation.from_quat(np.asarray(quat_xyzw, dtype=np.float64)), translation)

    @classmethod
    def translation_only(cls, t: Sequence[float]) -> "Transform":
        return cls(Rotation.identity(), t)

    # ---- conversions ----
    def as_matrix(self) -> np.ndarray:
        m = np.eye(4)
        m[:3, :3] = self.rotation.as_matrix()
        m[:3, 3] = self.translation
        return m

    def to_list(self) -> np.ndarray:
        """``[qx, qy, qz, qw, tx, ty, tz]``."""
        return np.r_[self.rotation.as_quat(), self.translation]

    @property
    def quat(self) -> np.ndarray:
        return self.rotation.as_quat()

    # ---- algebra ----
    def __mul__(self, other: "Transform") -> "Transform":
        if not isinstance(other, Transform):
            return NotImplemented
        return Transform(self.rotation * other.rotation, self.rotation.apply(other.translation) + self.translation)

    def inverse(self) -> "Transform":
        inv = self.rotation.inv()
        return Transform(inv, -inv.apply(self.translation))

    def apply(self, points: np.ndarray) -> np.ndarray:
        """Transform points ``(..., 3)``."""
        p = np.asarray(points, dtype=np.float64)
        return self.rotation.apply(p.reshape(-1, 3)).reshape(p.shape) + self.translation

    def apply_vector(self, vectors: np.ndarray) -> np.ndarray:
        v = np.asarray(vectors, dtype=np.float64)
        return self.rotation.apply(v.reshape(-1, 3)).reshape(v.shape)

    def __repr__(self) -> str:
        q = np.round(self.quat, 4).tolist()
        t = np.round(self.translation, 4).tolist()
        return f"Transform(quat_xyzw={q}, translation={t})"


def rot_z(angle: float) -> Rotation:
    """Rotation by ``angle`` radians about ``z``."""
    return Rotation.from_rotvec([0.0, 0.0, angle])


def is_rigid(m: np.ndarray, atol: float = 1e-4) -> bool:
    """True if ``m`` (4, 4) is a proper rigid transform."""
    m = np.asarray(m, dtype=np.float64)
    if m.shape != (4, 4) or not np.all(np.isfinite(m)):
        return False
    r = m[:3, :3]
    return (np.allclose(r @ r.T, np.eye(3), atol=atol) and abs(np.linalg.det(r) - 1.0) < atol
            and np.allclose(m[3], [0, 0, 0, 1], atol=atol))


def look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray = np.array([0.0, 0.0, 1.0])) -> Transform:
    """``T_cam_world`` of an OpenCV camera (x right, y down, z forward) at ``eye`` looking at ``target``."""
    eye, target, up = (np.asarray(a, dtype=np.float64) for a in (eye, target, up))
    forward = target - eye
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, up)
    if np.linalg.norm(right) < 1e-9:  # looking straight along `up`: any right vector will do
        right = np.cross(forward, np.array([0.0, 1.0, 0.0]))
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    r_world_cam = np.stack([right, down, forward], axis=1)  # columns = camera axes in the world
    return Transform(Rotation.from_matrix(r_world_cam), eye).inverse()


def spherical_eye(origin: Sequence[float], r: float, theta: float, phi: float) -> np.ndarray:
    """``origin + r (sinθ cosφ, sinθ sinφ, cosθ)`` (docs/perception.md)."""
    return np.asarray(origin, dtype=np.float64) + r * np.array(
        [np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)])


def quat_angle_sym(q1: np.ndarray, q2: np.ndarray) -> np.ndarray:
    """Angle (rad) between parallel-jaw grasp orientations, modulo ``q ~ -q`` and the π turn about z.

    ``q1, q2``: (..., 4) quaternions ``(x, y, z, w)``.
    """
    r1 = Rotation.from_quat(np.asarray(q1).reshape(-1, 4))
    r2 = Rotation.from_quat(np.asarray(q2).reshape(-1, 4))
    a = (r1.inv() * r2).magnitude()
    b = (r1.inv() * r2 * rot_z(np.pi)).magnitude()
    return np.minimum(a, b).reshape(np.shape(q1)[:-1])
