"""The viewer's layers as plain arrays: surface mesh, heat points, grasp wireframes, denoising paths.

Everything here is in the workspace frame (metres, docs/frames.md) and planner-agnostic: the
layers come from the planner's declared capabilities (:meth:`~igd.planners.base.Planner.supports`):
the heat from ``affordance(grid)`` (IGD) or else ``volumes(grid)`` (VGN, GIGA: the quality), the
denoising paths from ``sample_trajectories(grid, point, n, seed)`` (IGD), the pose paths from
``pose_trajectories(grid, n, seed)`` (the pose-space planners: SE(3)-DiF's Langevin chains, dGrasp's
ascent); what it lacks is left out of the view with a note. The HTML page (:mod:`igd.viz.html`) and the PNG snapshot
(:mod:`igd.viz.snapshot`) draw the same :class:`ViewLayers`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from igd.constants import FINGER_DEPTH, RESOLUTION, VOXEL_SIZE
from igd.errors import IGDError

__all__ = ["ViewLayers", "colormap", "compute_layers", "drawables", "gripper_segments", "heat_points", "pose_path_segments",
           "surface_mesh", "trajectory_paths"]

#: Anchors of the colour maps (RGB in [0, 1]), interpolated linearly: ``viridis`` for grasp scores,
#: ``inferno`` for the heat; sample colours of the denoising paths (matplotlib's tab10).
CMAPS: dict[str, np.ndarray] = {
    "viridis": np.array([[0.267, 0.005, 0.329], [0.283, 0.141, 0.458], [0.254, 0.265, 0.530],
                         [0.207, 0.372, 0.553], [0.164, 0.471, 0.558], [0.128, 0.567, 0.551],
                         [0.135, 0.659, 0.518], [0.267, 0.749, 0.441], [0.478, 0.821, 0.318],
                         [0.741, 0.873, 0.150], [0.993, 0.906, 0.144]]),
    "inferno": np.array([[0.001, 0.000, 0.014], [0.122, 0.047, 0.282], [0.333, 0.059, 0.427],
                         [0.527, 0.129, 0.416], [0.729, 0.212, 0.333], [0.894, 0.353, 0.196],
                         [0.978, 0.557, 0.035], [0.975, 0.788, 0.184], [0.988, 0.998, 0.645]]),
}
SAMPLE_COLOURS = np.array([[0.122, 0.467, 0.706], [1.000, 0.498, 0.055], [0.173, 0.627, 0.173],
                           [0.839, 0.153, 0.157], [0.580, 0.404, 0.741], [0.549, 0.337, 0.294],
                           [0.890, 0.467, 0.761], [0.498, 0.498, 0.498], [0.737, 0.741, 0.133],
                           [0.090, 0.745, 0.812]])
#: Radius of the sphere on which the denoising paths are drawn (metres).
PATH_RADIUS = 0.06
#: Opening of the small grippers drawn at the end of each denoising path (metres).
PATH_GRIPPER_WIDTH = 0.05
#: Surface faces whose inward normal has a z above this (free side facing down) are dropped.
DOWNWARD = 0.7
#: The approach stem drawn behind the palm (metres).
STEM_LENGTH = 0.04


@dataclass
class ViewLayers:
    """What the viewer draws. Shapes: V vertices, F faces, P heat points, K grasps, S+1 steps, M samples."""

    title: str
    mesh_vertices: np.ndarray  # (V, 3) float32, metres
    mesh_faces: np.ndarray  # (F, 3) int32
    heat_points: np.ndarray  # (P, 3) float32, metres
    heat_values: np.ndarray  # (P,) float32 in [0, 1]
    heat_label: str  # e.g. "affordance a" or "quality q"
    grasp_poses: np.ndarray  # (K, 4, 4) TCP poses, best first
    grasp_widths: np.ndarray  # (K,) metres
    grasp_scores: np.ndarray  # (K,)
    traj_point: np.ndarray | None = None  # (3,) metres
    traj_quats: np.ndarray | None = None  # (S+1, M, 4) unit quaternions (x, y, z, w)
    pose_paths: np.ndarray | None = None  # (S+1, M, 4, 4) TCP poses of a pose-space sampler's chains, metres
    notes: list[str] = field(default_factory=list)  # what was left out, and why
    meta: dict[str, str] = field(default_factory=dict)  # planner, scene, seed, ...
    cloud_points: np.ndarray | None = None  # (N, 3) metres: the observation's surface cloud, if it has one
    objects: list = field(default_factory=list)  # true meshes of a simulated scene: (name, (V, 3) m, (F, 3))


def colormap(values: np.ndarray, name: str = "viridis", lo: float = 0.0, hi: float = 1.0) -> np.ndarray:
    """RGB colours ``(N, 3)`` in [0, 1] of ``values (N,)`` mapped from ``[lo, hi]`` (clipped)."""
    anchors = CMAPS[name]
    t = np.clip((np.asarray(values, dtype=np.float64) - lo) / max(hi - lo, 1e-9), 0.0, 1.0)
    x = np.linspace(0.0, 1.0, len(anchors))
    return np.stack([np.interp(t, x, anchors[:, c]) for c in range(3)], axis=-1).reshape(-1, 3)


# --------------------------------------------------------------------------------------------------
# surface
# --------------------------------------------------------------------------------------------------
def _fill_unobserved(grid: np.ndarray) -> np.ndarray:
    """The encoded grid ``(40, 40, 40)`` with each 0 voxel (unobserved, far free space or deep inside) set
    to 1, free space: the 0.5 level set is then the observed surface, closed a truncation band (3 cm)
    behind it, and the unobserved shadow behind objects stays empty (the network sees no more)."""
    return np.where(grid > 1e-3, grid, 1.0).astype(np.float32)


def surface_mesh(grid: np.ndarray, max_faces: int = 12000) -> tuple[np.ndarray, np.ndarray]:
    """Marching cubes of the encoded TSDF ``grid (1, 40, 40, 40)`` at 0.5 (the surface, docs/perception.md#tsdf).

    Returns ``vertices (V, 3)`` float32 metres (voxel centres at ``(i + 0.5) · 0.0075``) and ``faces (F, 3)``
    int32; a coarser step keeps ``F <= max_faces`` where it can. Empty arrays when there is no surface.
    """
    from skimage.measure import marching_cubes

    volume = _fill_unobserved(np.asarray(grid, dtype=np.float32).reshape((RESOLUTION,) * 3))
    if not (volume.min() < 0.5 < volume.max()):
        return np.zeros((0, 3), np.float32), np.zeros((0, 3), np.int32)
    for step in (1, 2, 3, 4):
        verts, faces, normals, _ = marching_cubes(volume, level=0.5, spacing=(VOXEL_SIZE,) * 3, step_size=step,
                                                  allow_degenerate=False)
        if len(faces) <= max_faces:
            break
    # skimage's normals point into the inside (lower values): drop the faces whose free side looks down
    # (the band's closing surface under the table): no camera above the table saw them
    faces = faces[normals[faces][:, :, 2].mean(axis=1) < DOWNWARD]
    used, faces = np.unique(faces, return_inverse=True)
    verts = (verts + 0.5 * VOXEL_SIZE).astype(np.float32)
    return verts[used], faces.reshape(-1, 3).astype(np.int32)


# --------------------------------------------------------------------------------------------------
# heat
# --------------------------------------------------------------------------------------------------
def heat_volume(planner, grid: np.ndarray) -> tuple[np.ndarray | None, str]:
    """``(volume (40, 40, 40), label)``: the affordance of a planner that has one (capability ``affordance``),
    else its quality volume (``volumes``); ``(None, why)`` for a planner with neither."""
    if planner.supports("affordance"):
        return np.asarray(planner.affordance(grid), dtype=np.float32), "affordance a"
    if planner.supports("volumes"):
        return np.asarray(planner.volumes(grid)[0], dtype=np.float32), "quality q"
    return None, f"planner '{planner.name}' has neither an affordance nor a quality volume: no heat layer"


def heat_points(volume: np.ndarray, grid: np.ndarray, threshold: float = 0.5,
                max_points: int = 3000) -> tuple[np.ndarray, np.ndarray]:
    """Voxels of ``volume (40, 40, 40)`` above ``threshold`` near the observed surface of ``grid``.

    Returns ``points (P, 3)`` at ``(i, j, k) · 0.0075`` m (where the dense planners place grasps) and
    ``values (P,)``, the ``max_points`` highest first.
    """
    from igd.planners.postprocess import surface_mask

    volume = np.asarray(volume, dtype=np.float32).reshape((RESOLUTION,) * 3)
    keep = surface_mask(grid) & (volume > threshold)
    index = np.argwhere(keep)
    values = volume[keep]
    order = np.argsort(-values, kind="stable")[:max_points]
    return (index[order] * VOXEL_SIZE).astype(np.float32), values[order].astype(np.float32)


# --------------------------------------------------------------------------------------------------
# grippers and denoising paths
# --------------------------------------------------------------------------------------------------
def gripper_segments(pose: np.ndarray, width: float) -> np.ndarray:
    """The gripper (docs/simulator.md#the-gripper) as line segments ``(4, 2, 3)`` in the workspace frame.

    In the TCP frame (docs/frames.md): palm ``(0, ±w/2, 0)``, two fingers from the palm to the fingertips
    ``FINGER_DEPTH`` ahead along ``z``, and the approach stem ``STEM_LENGTH`` behind the palm.
    """
    h = 0.5 * float(width)
    local = np.array([
        [[0, -h, 0], [0, h, 0]],  # palm
        [[0, -h, 0], [0, -h, FINGER_DEPTH]],  # finger
        [[0, h, 0], [0, h, FINGER_DEPTH]],  # finger
        [[0, 0, -STEM_LENGTH], [0, 0, 0]],  # approach stem
    ])
    pose = np.asarray(pose, dtype=np.float64)
    return local @ pose[:3, :3].T + pose[:3, 3]


def trajectory_paths(point: np.ndarray, quats: np.ndarray, radius: float = PATH_RADIUS) -> np.ndarray:
    """Where the hand comes from along each denoising path: ``point − radius · z(q)``, ``(M, S+1, 3)``,
    for ``quats (S+1, M, 4)`` (``z`` the approach axis of the grasp frame)."""
    from scipy.spatial.transform import Rotation

    steps, m = quats.shape[:2]
    approach = Rotation.from_quat(quats.reshape(-1, 4)).as_matrix()[:, :, 2].reshape(steps, m, 3)
    return (np.asarray(point)[None, None] - radius * approach).transpose(1, 0, 2)


def final_poses(point: np.ndarray, quats: np.ndarray) -> np.ndarray:
    """``(M, 4, 4)`` TCP poses at ``point`` with the last orientations of ``quats (S+1, M, 4)``."""
    from scipy.spatial.transform import Rotation

    poses = np.tile(np.eye(4), (quats.shape[1], 1, 1))
    poses[:, :3, :3] = Rotation.from_quat(quats[-1]).as_matrix()
    poses[:, :3, 3] = point
    return poses


def _trajectories(planner, grid, grasps, point, samples: int, seed: int, notes: list):
    """``(point (3,), quats (S+1, M, 4))`` or ``(None, None)`` with a note saying why."""
    if not planner.supports("sample_trajectories"):
        notes.append(f"planner '{planner.name}' has no diffusion sampler: no denoising paths")
        return None, None
    if point is None:
        if len(grasps) == 0:
            notes.append("no grasp and no --point: no denoising paths")
            return None, None
        point = np.asarray(grasps.poses[0][:3, 3])
    point = np.asarray(point, dtype=np.float64).reshape(-1)
    if point.shape != (3,) or np.any(point < 0.0) or np.any(point > RESOLUTION * VOXEL_SIZE):
        raise IGDError(f"the point of the denoising paths must be x y z in the workspace [0, 0.3]^3 m, got {point}")
    return point, np.asarray(planner.sample_trajectories(grid, point, n=samples, seed=seed), dtype=np.float32)


def _pose_paths(planner, grid, samples: int, seed: int, notes: list):
    """``(S+1, M, 4, 4)`` of :meth:`~igd.planners.base.Planner.pose_trajectories`, or None (a note when the planner
    has no sampler of either kind)."""
    if not planner.supports("pose_trajectories"):
        return None
    paths = np.asarray(planner.pose_trajectories(grid, n=samples, seed=seed), dtype=np.float64)
    if paths.ndim != 4 or paths.shape[1:] != (samples, 4, 4) or paths.shape[0] < 1:
        raise IGDError(f"planner '{planner.name}': pose_trajectories returned shape {paths.shape}, expected "
                       f"(steps + 1, {samples}, 4, 4)")
    return paths


def compute_layers(planner, observation, grasps, *, top: int = 5, point: Sequence[float] | None = None,
                   samples: int = 8, seed: int = 0, heat_threshold: float = 0.5, max_heat_points: int = 3000,
                   max_faces: int = 12000, title: str = "", meta: dict[str, str] | None = None,
                   objects: Sequence[tuple] = ()) -> ViewLayers:
    """The layers of one view: the TSDF surface (and the cloud) of ``observation``, the planner's heat, the
    ``top`` grasps of ``grasps`` and, for a diffusion planner, ``samples`` denoising paths at ``point``
    (default: the best grasp's position; metres) drawn with noise from ``seed``; for a pose-space planner
    (``pose_trajectories``) ``samples`` whole-pose paths from ``seed``. ``objects``: the true
    meshes ``(name, vertices (V, 3), faces (F, 3))`` of a simulated scene
    (:func:`igd.viz.simulated.scene_objects`), drawn as a layer of their own."""
    if top < 0 or samples < 1:
        raise IGDError(f"top must be >= 0 and samples >= 1, got top={top}, samples={samples}")
    if not 0.0 <= heat_threshold <= 1.0:
        raise IGDError(f"the heat threshold must be in [0, 1], got {heat_threshold}")
    grid = observation.grid
    notes: list[str] = []
    verts, faces = surface_mesh(grid, max_faces)
    if len(faces) == 0:
        notes.append("the TSDF holds no surface")
    volume, label = heat_volume(planner, grid)
    if volume is None:
        notes.append(label)
        hp, hv, label = np.zeros((0, 3), np.float32), np.zeros(0, np.float32), "none"
    else:
        hp, hv = heat_points(volume, grid, heat_threshold, max_heat_points)
    best = grasps.top(top)
    pose_notes: list[str] = []
    traj_point, traj_quats = _trajectories(planner, grid, grasps, point, samples, seed, pose_notes)
    pose_paths = _pose_paths(planner, grid, samples, seed, notes)
    if pose_paths is None:  # a pose-space planner's paths stand in for the denoising paths: no note then
        notes += pose_notes
    info = {"planner": planner.name}
    info.update({str(k): str(v) for k, v in (meta or {}).items()})
    info["heat threshold"] = f"{heat_threshold:g}"
    return ViewLayers(title=title or info["planner"], mesh_vertices=verts, mesh_faces=faces, heat_points=hp,
                      heat_values=hv, heat_label=label, grasp_poses=best.poses, grasp_widths=best.widths,
                      grasp_scores=best.scores, traj_point=traj_point, traj_quats=traj_quats, pose_paths=pose_paths,
                      notes=notes,
                      meta=info, cloud_points=None if observation.cloud is None else np.asarray(observation.cloud),
                      objects=list(objects))


# --------------------------------------------------------------------------------------------------
# drawables shared by the page and the snapshot
# --------------------------------------------------------------------------------------------------
def _circle_segments(centre: np.ndarray, radius: float, n: int = 48) -> np.ndarray:
    """Three great circles of a sphere as segments ``(3·n, 2, 3)``."""
    a = np.linspace(0.0, 2.0 * np.pi, n + 1)
    c, s, z = np.cos(a), np.sin(a), np.zeros_like(a)
    rings = [np.stack(v, axis=-1) for v in ((c, s, z), (c, z, s), (z, c, s))]
    pts = np.concatenate([np.stack([r[:-1], r[1:]], axis=1) for r in rings])
    return centre + radius * pts


def pose_path_segments(paths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Segments ``(L, 2, 3)`` and colours ``(L, 3)`` of pose paths ``(S+1, M, 4, 4)``: per sample the TCP's track
    (fading from grey at the start to the sample's colour), a grey approach stem at its start pose and a small
    gripper at its end pose."""
    segments, colours = [], []
    grey = np.array([0.75, 0.75, 0.75])
    steps = paths.shape[0]
    fade = np.linspace(0.0, 1.0, max(steps - 1, 1))[:, None]
    for m in range(paths.shape[1]):
        colour = SAMPLE_COLOURS[m % len(SAMPLE_COLOURS)]
        track = paths[:, m, :3, 3]
        if steps > 1:
            segments.append(np.stack([track[:-1], track[1:]], axis=1))
            colours.append((1 - fade) * grey + fade * colour)
        segments += [gripper_segments(paths[0, m], PATH_GRIPPER_WIDTH)[3:], gripper_segments(paths[-1, m],
                                                                                           PATH_GRIPPER_WIDTH)]
        colours += [grey[None], np.tile(colour, (4, 1))]
    if not segments:
        return np.zeros((0, 2, 3)), np.zeros((0, 3))
    return np.concatenate(segments), np.concatenate(colours)


def drawables(layers: ViewLayers) -> dict[str, dict[str, np.ndarray]]:
    """Per layer (``mesh``, ``heat``, ``grasps``, ``paths``, ``pose_paths``), the arrays to draw, colours RGB in [0, 1]:

    - ``mesh``: ``vertices (V, 3)``, ``faces (F, 3)``;
    - ``heat``: ``points (P, 3)``, ``colours (P, 3)`` (inferno from the threshold to 1);
    - ``grasps``: ``segments (4K, 2, 3)``, ``colours (4K, 3)`` (viridis of the score in [0, 1]);
    - ``paths``: ``segments (L, 2, 3)``, ``colours (L, 3)``: each sample's path on a sphere around the point
      (fading from grey at the noise to the sample's colour), its final gripper and the sphere's rings;
    - ``pose_paths``: ``segments (L, 2, 3)``, ``colours (L, 3)``: :func:`pose_path_segments`.
    """
    lo = float(layers.meta.get("heat threshold", 0.5))
    out = {"mesh": {"vertices": layers.mesh_vertices, "faces": layers.mesh_faces},
           "heat": {"points": layers.heat_points, "colours": colormap(layers.heat_values, "inferno", lo, 1.0)}}
    k = len(layers.grasp_scores)
    segs = [gripper_segments(p, w) for p, w in zip(layers.grasp_poses, layers.grasp_widths)]
    out["grasps"] = {"segments": np.concatenate(segs) if k else np.zeros((0, 2, 3)),
                     "colours": np.repeat(colormap(layers.grasp_scores), 4, axis=0)}
    segments, colours = [], []
    if layers.traj_quats is not None:
        point, quats = layers.traj_point, layers.traj_quats
        paths = trajectory_paths(point, quats)  # (M, S+1, 3)
        grey = np.array([0.75, 0.75, 0.75])
        fade = np.linspace(0.0, 1.0, paths.shape[1] - 1)[:, None]
        for m, (path, pose) in enumerate(zip(paths, final_poses(point, quats))):
            colour = SAMPLE_COLOURS[m % len(SAMPLE_COLOURS)]
            segments += [np.stack([path[:-1], path[1:]], axis=1), gripper_segments(pose, PATH_GRIPPER_WIDTH)]
            colours += [(1 - fade) * grey + fade * colour, np.tile(colour, (4, 1))]
        rings = _circle_segments(point, PATH_RADIUS)
        segments.append(rings)
        colours.append(np.tile([0.85, 0.85, 0.85], (len(rings), 1)))
    out["paths"] = {"segments": np.concatenate(segments) if segments else np.zeros((0, 2, 3)),
                    "colours": np.concatenate(colours) if colours else np.zeros((0, 3))}
    pose_segments, pose_colours = (pose_path_segments(layers.pose_paths) if layers.pose_paths is not None
                                   else (np.zeros((0, 2, 3)), np.zeros((0, 3))))
    out["pose_paths"] = {"segments": pose_segments, "colours": pose_colours}
    return out
