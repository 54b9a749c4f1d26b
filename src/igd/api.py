"""The Python API: load a planner by name and detect grasps in one depth image, in the world frame.

    >>> import igd
    >>> detector = igd.load("vgn")                                   # doctest: +SKIP
    >>> grasps = detector.detect(depth, K, T_cam_world, workspace, top=10)   # doctest: +SKIP
    >>> grasps.poses[0], grasps.widths[0], grasps.scores[0]          # doctest: +SKIP

Frames (docs/frames.md):

- ``T_a_b`` maps points from frame ``b`` into frame ``a`` (:mod:`igd.geometry`).
- ``T_cam_world``: the camera's extrinsic, world -> camera, OpenCV camera (x right, y down,
  z forward). This is the benchmark's extrinsic; its inverse ``T_world_cam`` is the camera's pose.
- ``workspace``: a 0.3 m cube ``[0, 0.3]^3`` in its own corner frame, placed in the world by
  ``T_world_ws``; its ``z`` points up from the table. The planners see the TSDF of that cube.
- Grasps come back as TCP poses ``T_world_grasp`` (z = approach, y = closing), best first.

:class:`GraspDetector` maps the camera into the workspace frame, hands the image to the one path from
depth to observation (:func:`igd.perception.observe.observe_depth`, docs/perception.md: the checks,
the 40³ TSDF grid and the surface cloud, as the benchmark builds them), then ``planner.plan``
(workspace frame), then maps the poses to the world.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from igd.constants import SIZE
from igd.errors import IGDError
from igd.geometry import Rotation, Transform
from igd.perception.camera import (  # noqa: F401  (re-exported: the API reads these inputs)
    RIGID_TOLERANCE,
    as_extrinsic,
    as_intrinsic,
    as_transform,
    rigid_problem,
    transform_from_dict,
)
from igd.perception.observe import check_workspace_size, observe_depth
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


# --------------------------------------------------------------------------------------------------
# inputs: the workspace (transforms and intrinsics are read by igd.perception.camera)
# --------------------------------------------------------------------------------------------------
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
        object.__setattr__(self, "size", check_workspace_size(self.size))

    @classmethod
    def create(cls, x: Any = None) -> Workspace:
        """From a Workspace, None (the benchmark's), a 4x4 ``T_world_ws``, a Transform or a dict
        ``{"matrix" | "translation" + "quaternion", "size": 0.3}``."""
        if isinstance(x, Workspace):
            return x
        if x is None:
            return cls()
        if isinstance(x, dict):
            return cls(transform_from_dict(x, "workspace"), x.get("size", SIZE))
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

    poses: (N, 4, 4) TCP poses ``T_world_grasp`` (grasp frame of docs/frames.md); widths: (N,) metres;
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

    planner: any :class:`~igd.planners.base.Planner`; name: what to call it in outputs; threads: this
    process's planning threads (:func:`igd.threads.configure_threads`: default ``IGD_THREADS``, else
    ``OMP_NUM_THREADS``, else one per core waiting passively, or one if torch was loaded first with
    OpenMP's spinning; 0 leaves torch's settings alone).
    """

    def __init__(self, planner: Planner, name: str | None = None, threads: int | None = None):
        if not isinstance(planner, Planner):
            raise IGDError(f"GraspDetector needs an igd Planner, got {type(planner).__name__}")
        from igd.threads import configure_threads

        configure_threads(threads)
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
        """Check the inputs and build the observation of the workspace cube, as the benchmark does:
        :func:`igd.perception.observe.observe_depth` with its checks on and no noise.

        Args:
            depth: ``(H, W)`` float metres along the optical axis, 0 = no reading.
            intrinsics: :class:`~igd.perception.camera.CameraIntrinsic`, a dict or a 3x3 K
                (see :func:`as_intrinsic`).
            T_cam_world: world -> camera (OpenCV), a 4x4, a Transform or a dict (:func:`as_extrinsic`).
            workspace: :class:`Workspace`, a 4x4 ``T_world_ws``, a dict, or None for the benchmark's.

        Returns:
            The observation in the workspace frame: the 40³ grid, the 120³ surface cloud; its
            ``extrinsics`` hold ``[T_cam_ws]``.
        """
        ws = Workspace.create(workspace)
        T_cam_ws = as_extrinsic(T_cam_world) * ws.T_world_ws
        return observe_depth([depth], intrinsics, [T_cam_ws], size=ws.size)

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


def load(name_or_path: str, planner: str | None = None, weights: str | None = None, threads: int | None = None,
         **overrides) -> GraspDetector:
    """A :class:`GraspDetector` for a released name (:data:`igd.released.RELEASED`) or a checkpoint path.

    Args:
        name_or_path: ``vgn``, ``igd-packed``, ``giga-pile-authors``, ``topdown``, ... or a file; with
            ``weights``, a planner type (``giga``), as ``--planner`` / ``--weights`` in every command
            (:func:`igd.released.resolve_planner`).
        planner: the planner type of a file that does not say (a raw state dict of unknown layout);
            default: the released table, the checkpoint's type tag, or the raw state dict's keys (the
            authors' GIGA and VGN files are recognised).
        weights: a released name or checkpoint path for the planner type ``name_or_path``.
        threads: planning threads of this process (:func:`igd.threads.configure_threads`; default:
            ``IGD_THREADS``, else ``OMP_NUM_THREADS``, else one per core waiting passively, or one
            thread if torch was loaded before ``load``).
        overrides: planner config fields, e.g. ``threshold=0.8``, ``device="cuda"``.

    Raises:
        IGDError: unknown name, missing weights file (naming it), unreadable checkpoint, bad override.
    """
    from igd.planners.base import get_planner_class, load_planner, load_torch_file
    from igd.released import resolve_planner
    from igd.threads import configure_threads

    configure_threads(threads)  # before torch loads, while OpenMP's waiting can still be chosen
    choice = resolve_planner(name_or_path, weights)
    kind = planner or choice.planner
    if choice.weights is None:
        if get_planner_class(kind).learned:
            raise IGDError(f"planner '{kind}' needs weights: pass a released name or a checkpoint path")
        return GraspDetector(load_planner(kind, **overrides), name=choice.label, threads=threads)
    payload = load_torch_file(choice.weights)  # read once: it says its planner type and holds the weights
    if kind is None:
        kind = _weights_planner(payload, choice.weights)
    return GraspDetector(get_planner_class(kind).from_payload(payload, choice.weights, **overrides), name=choice.label,
                         threads=threads)


def checkpoint_planner(path) -> str:
    """The planner type a weights file is for: an igd checkpoint's type tag, or a raw state dict's layout
    (the planner whose ``recognises_state_dict`` accepts it). :class:`IGDError` when it cannot tell."""
    from igd.planners.base import load_torch_file

    return _weights_planner(load_torch_file(path), path)


def _weights_planner(payload: Any, path) -> str:
    """:func:`checkpoint_planner` of a file's contents already read."""
    from igd.planners.base import weights_planner

    kind = weights_planner(payload, path)
    if kind is not None:
        return kind
    raise IGDError(f"{path}: neither an igd checkpoint nor a state dict of a known layout (GIGA's, VGN's), so it "
                   "does not say which planner it is for: pass the planner type (--planner TYPE --weights PATH, "
                   "or planner='vgn')")
