"""The Python API: load a planner by name and detect grasps in one depth image, in the world frame.

    >>> import igd
    >>> detector = igd.load("vgn")                                   # doctest: +SKIP
    >>> grasps = detector.detect(depth, K, T_cam_world, workspace, top=10)   # doctest: +SKIP
    >>> grasps.poses[0], grasps.widths[0], grasps.scores[0]          # doctest: +SKIP

Frames (docs/frames.md, SPEC.md §1 and §6):

- ``T_a_b`` maps points from frame ``b`` into frame ``a`` (:mod:`igd.geometry`).
- ``T_cam_world``: the camera's extrinsic, world -> camera, OpenCV camera (x right, y down,
  z forward). This is the benchmark's extrinsic; its inverse ``T_world_cam`` is the camera's pose.
- ``workspace``: a 0.3 m cube ``[0, 0.3]^3`` in its own corner frame, placed in the world by
  ``T_world_ws``; its ``z`` points up from the table. The planners see the TSDF of that cube.
- Grasps come back as TCP poses ``T_world_grasp`` (SPEC §1: z = approach, y = closing), best first.

:class:`GraspDetector` does depth check -> visibility check -> 40³ TSDF fusion over the workspace
(SPEC §8, as the benchmark) -> ``planner.plan`` (workspace frame) -> poses mapped to the world.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from igd.constants import RESOLUTION, SIZE
from igd.errors import IGDError
from igd.geometry import Rotation, Transform
from igd.perception.camera import FAR, CameraIntrinsic
from igd.perception.depth import check_depth, check_depth_layout, pixel_rays
from igd.planners.base import Grasps, Observation, Planner

__all__ = [
    "RIGID_TOLERANCE",
    "Detections",
    "GraspDetector",
    "Workspace",
    "as_extrinsic",
    "as_intrinsic",
    "as_transform",
    "load",
    "rigid_problem",
]

#: Tolerance of the rigidity checks on user matrices (orthonormality, det, last row, quaternion norm).
RIGID_TOLERANCE = 1e-3
#: Extrinsic conventions a dict may name; ``T_world_cam`` (the camera pose) is inverted on reading.
EXTRINSIC_CONVENTIONS = ("T_cam_world", "T_world_cam")


# --------------------------------------------------------------------------------------------------
# inputs: transforms, intrinsics, the workspace
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


def _transform_from_dict(d: dict, name: str) -> Transform:
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
    """A :class:`Transform` from a Transform, a 4x4 array-like or a dict (see :func:`_transform_from_dict`).

    Raises:
        IGDError: naming ``name``, when the matrix is not rigid (:func:`rigid_problem`).
    """
    if isinstance(x, Transform):
        return x
    if isinstance(x, dict):
        return _transform_from_dict(x, name)
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


@dataclass(frozen=True)
class Workspace:
    """The 0.3 m cube the planners look into, placed in the world by its corner frame.

    T_world_ws: pose of the corner frame in the world: the cube is ``[0, size]^3`` in that frame,
        its ``z`` up from the table (the benchmark's workspace is the identity).
    size: side in metres; the planners were trained on 0.3 m (40 voxels of 7.5 mm), so only 0.3.
    """

    T_world_ws: Transform = field(default_factory=Transform.identity)
    size: float = SIZE

    def __post_init__(self):
        object.__setattr__(self, "T_world_ws", as_transform(self.T_world_ws, "workspace pose T_world_ws"))
        if isinstance(self.size, bool) or not isinstance(self.size, (int, float)) or abs(self.size - SIZE) > 1e-9:
            raise IGDError(f"workspace size must be {SIZE} m (the cube the planners were trained on), "
                           f"got {self.size!r}")
        object.__setattr__(self, "size", float(self.size))

    @classmethod
    def create(cls, x: Any = None) -> Workspace:
        """From a Workspace, None (the benchmark's), a 4x4 ``T_world_ws``, a Transform or a dict
        ``{"matrix" | "translation" + "quaternion", "size": 0.3}``."""
        if isinstance(x, Workspace):
            return x
        if x is None:
            return cls()
        if isinstance(x, dict):
            return cls(_transform_from_dict(x, "workspace"), x.get("size", SIZE))
        return cls(as_transform(x, "workspace pose T_world_ws"))

    def corners(self) -> np.ndarray:
        """The cube's 8 corners in the world, ``(8, 3)`` metres."""
        unit = np.array([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)], dtype=np.float64)
        return self.T_world_ws.apply(unit * self.size)

    def contains(self, points_world: np.ndarray, margin: float = 1e-9) -> np.ndarray:
        """``(N,)`` bool: which world points ``(N, 3)`` lie in the cube."""
        p = self.T_world_ws.inverse().apply(np.asarray(points_world, dtype=np.float64).reshape(-1, 3))
        return np.all((p >= -margin) & (p <= self.size + margin), axis=1)

    def to_dict(self) -> dict:
        """The WS.json form: ``{"matrix": T_world_ws (4x4, row-major), "size": 0.3}``."""
        return {"matrix": (np.round(self.T_world_ws.as_matrix(), 12) + 0.0).tolist(), "size": round(self.size, 9)}


# --------------------------------------------------------------------------------------------------
# outputs
# --------------------------------------------------------------------------------------------------
@dataclass
class Detections:
    """Grasps in the WORLD frame, best first.

    poses: (N, 4, 4) TCP poses ``T_world_grasp`` (SPEC §1 grasp frame); widths: (N,) metres;
    scores: (N,) in [0, 1]; planner: the name it was loaded by; info: timings and counts.
    """

    poses: np.ndarray
    widths: np.ndarray
    scores: np.ndarray
    planner: str = ""
    info: dict[str, Any] = field(default_factory=dict)
    frame: ClassVar[str] = "world"

    @classmethod
    def from_grasps(cls, grasps: Grasps, T_world_ws: Transform, planner: str = "") -> Detections:
        """Map workspace-frame ``grasps`` to the world: ``T_world_grasp = T_world_ws · T_ws_grasp``."""
        poses = np.einsum("ij,njk->nik", T_world_ws.as_matrix(), grasps.poses)
        return cls(poses, grasps.widths.copy(), grasps.scores.copy(), planner, dict(grasps.info))

    def __len__(self) -> int:
        return len(self.scores)

    @property
    def positions(self) -> np.ndarray:
        """(N, 3) TCP positions in the world, metres."""
        return self.poses[:, :3, 3].copy()

    @property
    def quaternions(self) -> np.ndarray:
        """(N, 4) orientations ``(x, y, z, w)`` in the world."""
        if len(self) == 0:
            return np.zeros((0, 4))
        return Rotation.from_matrix(self.poses[:, :3, :3]).as_quat()

    def to_records(self) -> list:
        """One dict per grasp: ``pose`` (4x4 row-major), ``position``, ``quaternion`` (x, y, z, w), ``width``, ``score``."""
        return [{"pose": pose.tolist(), "position": pos.tolist(), "quaternion": quat.tolist(),
                 "width": float(w), "score": float(s)}
                for pose, pos, quat, w, s in zip(self.poses, self.positions, self.quaternions, self.widths,
                                                 self.scores)]


# --------------------------------------------------------------------------------------------------
# the detector
# --------------------------------------------------------------------------------------------------
class GraspDetector:
    """A planner with the perception in front of it: depth image in, world-frame grasps out.

    planner: any :class:`~igd.planners.base.Planner`; name: what to call it in outputs.
    """

    def __init__(self, planner: Planner, name: str | None = None):
        if not isinstance(planner, Planner):
            raise IGDError(f"GraspDetector needs an igd Planner, got {type(planner).__name__}")
        self.planner = planner
        self.name = name or planner.name

    def __repr__(self) -> str:
        return f"GraspDetector(name={self.name!r}, planner={type(self.planner).__name__})"

    def plan(self, observation: Observation) -> Grasps:
        """The planner's own contract: grasps in the workspace frame from an encoded TSDF grid."""
        if not isinstance(observation, Observation):
            observation = Observation(observation)  # a bare (1, 40, 40, 40) grid
        return self.planner.timed_plan(observation)

    def observe(self, depth: np.ndarray, intrinsics: Any, T_cam_world: Any, workspace: Any = None) -> Observation:
        """Check the inputs and fuse the 40³ TSDF of the workspace cube (SPEC §8), as the benchmark does.

        Args:
            depth: ``(H, W)`` float metres along the optical axis, 0 = no reading.
            intrinsics: :class:`CameraIntrinsic`, a dict or a 3x3 K (see :func:`as_intrinsic`).
            T_cam_world: world -> camera (OpenCV), a 4x4, a Transform or a dict (:func:`as_extrinsic`).
            workspace: :class:`Workspace`, a 4x4 ``T_world_ws``, a dict, or None for the benchmark's.

        Returns:
            The observation in the workspace frame; its ``extrinsics`` hold ``[T_cam_ws]``.
        """
        from igd.perception.tsdf import create_tsdf

        layout = check_depth_layout(depth)
        intrinsic = as_intrinsic(intrinsics, layout.shape)
        depth = check_depth(layout, intrinsic)
        ws = Workspace.create(workspace)
        T_cam_ws = as_extrinsic(T_cam_world) * ws.T_world_ws
        check_workspace_in_view(intrinsic, T_cam_ws, ws.size)
        check_depth_in_workspace(depth, intrinsic, T_cam_ws, ws.size)
        grid = create_tsdf(depth, intrinsic, [T_cam_ws], resolution=RESOLUTION, size=ws.size).get_grid()
        if not grid.any():
            raise IGDError("the fused TSDF grid of the workspace is empty: no surface was seen inside the cube; "
                           "check the extrinsic, the workspace pose and the depth units")
        return Observation(grid, depth=depth, intrinsic=intrinsic, extrinsics=[T_cam_ws])

    def detect(self, depth: np.ndarray, intrinsics: Any, T_cam_world: Any, workspace: Any = None,
               top: int | None = None) -> Detections:
        """Grasps in the world frame, best first: :meth:`observe`, :meth:`plan`, then ``T_world_ws ·``.

        ``top``: keep at most this many (None: all the planner returns). Arguments as in :meth:`observe`.
        """
        if top is not None and (isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1):
            raise IGDError(f"top must be a positive integer or None, got {top!r}")
        ws = Workspace.create(workspace)
        tic = time.perf_counter()
        observation = self.observe(depth, intrinsics, T_cam_world, ws)
        integration = time.perf_counter() - tic
        grasps = self.plan(observation)
        if top is not None:
            grasps = grasps.top(int(top))
        detections = Detections.from_grasps(grasps, ws.T_world_ws, self.name)
        detections.info["integration_time"] = integration
        return detections


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
    """Back-project the valid pixels (0 < depth <= 2 m); raise if none lands in the cube, else return how many do."""
    valid = (depth > 0) & (depth <= FAR)
    points_cam = pixel_rays(intrinsic)[valid] * depth[valid, None]  # (M, 3)
    p = T_cam_ws.inverse().apply(points_cam)
    inside = int(np.count_nonzero(np.all((p >= 0.0) & (p <= size), axis=1)))
    if inside == 0:
        raise IGDError(f"no depth reading falls inside the workspace cube ({int(valid.sum())} valid pixels, none "
                       f"within the {size:g} m cube): check the extrinsic (T_cam_world), the workspace pose and "
                       "the depth units (metres)")
    return inside


def load(name_or_path: str, planner: str | None = None, weights: str | None = None, **overrides) -> GraspDetector:
    """A :class:`GraspDetector` for a released name (:data:`igd.released.RELEASED`) or a checkpoint path.

    Args:
        name_or_path: ``vgn``, ``igd-packed``, ``giga-pile-authors``, ``topdown``, ... or a file; with
            ``weights``, a planner type (``giga``), as ``--planner`` / ``--weights`` in every command
            (:func:`igd.released.resolve_planner`).
        planner: the planner type of a file that does not say (a raw state dict of unknown layout);
            default: the released table, the checkpoint's type tag, or the raw state dict's keys (the
            authors' GIGA and VGN files are recognised).
        weights: a released name or checkpoint path for the planner type ``name_or_path``.
        overrides: planner config fields, e.g. ``threshold=0.8``, ``device="cuda"``.

    Raises:
        IGDError: unknown name, missing weights file (naming it), unreadable checkpoint, bad override.
    """
    from igd.planners.base import get_planner_class, load_planner
    from igd.released import resolve_planner

    choice = resolve_planner(name_or_path, weights)
    kind = planner or choice.planner
    if kind is None:
        kind = checkpoint_planner(choice.weights)
    if choice.weights is None and get_planner_class(kind).learned:
        raise IGDError(f"planner '{kind}' needs weights: pass a released name or a checkpoint path")
    return GraspDetector(load_planner(kind, choice.weights, **overrides), name=choice.label)


def checkpoint_planner(path) -> str:
    """The planner type a weights file is for: an igd checkpoint's type tag, or a raw state dict's layout
    (the planner whose ``recognises_state_dict`` accepts it). :class:`IGDError` when it cannot tell."""
    from igd.planners.base import CHECKPOINT_FORMAT, load_torch_file, state_dict_owner

    payload = load_torch_file(path)
    if isinstance(payload, dict) and payload.get("format") == CHECKPOINT_FORMAT:
        kind = payload.get("planner")
        if not isinstance(kind, str):
            raise IGDError(f"{path}: checkpoint lacks the key 'planner'")
        return kind
    owner = state_dict_owner(payload)  # the planner that recognises it as its released file
    if owner is not None:
        return owner
    raise IGDError(f"{path}: neither an igd checkpoint nor a state dict of a known layout (GIGA's, VGN's), so it "
                   "does not say which planner it is for: pass the planner type (--planner TYPE --weights PATH, "
                   "or planner='vgn')")
