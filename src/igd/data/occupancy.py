"""Occupancy labels: points in a scene labelled inside/outside its objects (GIGA's; docs/data.md,
"Processing and datasets").

A scene's objects come from its ``mesh_pose_list/<id>.npz`` (mesh path, scale, 4x4 pose per
object; paths relative to the object catalogue or GIGA's absolute ones, ``.obj`` or a one-link
``.urdf``). Points are drawn uniformly in the objects' joint bounding box padded by 2 cm, rounded
to float16 (the stored precision) and labelled *after* rounding, so every stored label is exact
for its stored point. They are written as ``occ/<id>/NNNN.npz`` (``points (M, 3) float16``,
``occ (M,) bool``), the folder renamed into place in one step.

Inside/outside is a ray-parity test along ``+z`` (:func:`points_inside_mesh`), vectorised and
exact in its tie-breaking: trimesh's ``contains`` needs ``rtree``/``embree``, which are not installed
here, and a winding-number sum costs ``O(points × faces)``.
"""

from __future__ import annotations

import os
import shutil
import xml.etree.ElementTree as ET
from functools import lru_cache
from pathlib import Path
from typing import List, Sequence, Tuple

import numpy as np

from igd.data import layout
from igd.errors import IGDError

__all__ = ["OCC_PADDING", "Mesh", "load_mesh", "scene_meshes", "points_inside_mesh", "points_inside_any",
           "sample_occupancy", "write_occupancy"]

OCC_PADDING = 0.02  # m, around the objects' joint bounding box (GIGA's sample_iou_points_uni)
_PAIR_BUDGET = 2_000_000  # (triangle, point) pairs tested at once

#: A triangle mesh: ``vertices (V, 3)`` float64 metres and ``faces (F, 3)`` int64.
Mesh = Tuple[np.ndarray, np.ndarray]


# --------------------------------------------------------------------------------------------------
# meshes of a scene
# --------------------------------------------------------------------------------------------------
def _urdf_visual_mesh(path: Path) -> Tuple[Path, np.ndarray]:
    """The visual mesh file of a one-link URDF and its scale ``(3,)`` (GIGA's fallback paths)."""
    try:
        node = ET.parse(path).getroot().find(".//visual/geometry/mesh")
    except ET.ParseError as e:
        raise IGDError(f"{path}: not a readable URDF ({e})") from e
    if node is None or not node.get("filename"):
        raise IGDError(f"{path}: no <visual><geometry><mesh filename=...> in this URDF")
    filename = node.get("filename").replace("package://", "")
    scale = np.array([float(s) for s in node.get("scale", "1 1 1").split()])
    return (path.parent / filename).resolve(), scale


@lru_cache(maxsize=512)
def load_mesh(path: str) -> Mesh:
    """``(vertices (V, 3), faces (F, 3))`` of a mesh file (any format trimesh reads) or a URDF's visual mesh.

    Cached per process: scenes share objects. The arrays are read-only.
    """
    import trimesh

    file, scale = Path(path), np.ones(3)
    if file.suffix.lower() == ".urdf":
        file, scale = _urdf_visual_mesh(file)
    if not file.is_file():
        raise IGDError(f"mesh file {file} is missing")
    try:
        mesh = trimesh.load(file, force="mesh", process=True)
    except Exception as e:  # trimesh raises many types for unreadable files
        raise IGDError(f"{file}: cannot read the mesh ({type(e).__name__}: {e})") from e
    vertices, faces = np.asarray(mesh.vertices, np.float64) * scale, np.asarray(mesh.faces, np.int64)
    if len(faces) == 0 or not np.isfinite(vertices).all():
        raise IGDError(f"{file}: the mesh has no faces or non-finite vertices")
    vertices.setflags(write=False)
    faces.setflags(write=False)
    return vertices, faces


def scene_meshes(items: Sequence[tuple], source: Path) -> List[Mesh]:
    """The objects of a scene at their poses: ``items`` = ``[(mesh path, scale, pose (4, 4)), ...]``
    as :func:`igd.data.layout.read_mesh_pose_list` returns them; ``source`` names the file in errors."""
    from igd.sim.objects import resolve_mesh_path

    meshes = []
    for mesh_path, scale, pose in items:
        try:
            vertices, faces = load_mesh(str(resolve_mesh_path(mesh_path)))
        except IGDError as e:
            raise IGDError(f"{source}: object mesh '{mesh_path}': {e}") from e
        world = vertices * scale @ pose[:3, :3].T + pose[:3, 3]
        meshes.append((world, faces))
    if not meshes:
        raise IGDError(f"{source}: the scene has no objects, so it has no occupancy to label")
    return meshes


# --------------------------------------------------------------------------------------------------
# inside/outside: ray parity along +z
# --------------------------------------------------------------------------------------------------
def _cell_index(points_xy: np.ndarray) -> tuple:
    """Hash points ``(N, 2)`` into square xy cells of about 4 points each.

    Returns ``(lo (2,), cell size, (nx, ny), order (N,) points sorted by cell, start (nx·ny + 1,))``.
    """
    lo, hi = points_xy.min(axis=0), points_xy.max(axis=0)
    side = max(float((hi - lo).max()), 1e-9)
    n = max(1, int(np.sqrt(len(points_xy) / 4.0)))
    size = side / n * (1.0 + 1e-9)
    shape = np.floor((hi - lo) / size).astype(np.int64) + 1
    cells = np.floor((points_xy - lo) / size).astype(np.int64)
    flat = cells[:, 0] * shape[1] + cells[:, 1]
    order = np.argsort(flat, kind="stable")
    start = np.searchsorted(flat[order], np.arange(shape[0] * shape[1] + 1))
    return lo, size, shape, order, start


def _edge_setup(tri: np.ndarray) -> tuple:
    """Per triangle ``(F, 3, 3)``: canonical edge endpoints ``A, B (F, 3, 2)`` and signs ``(F, 3)``.

    Each edge is computed from its lexicographically smaller xy endpoint, so the two triangles
    sharing it evaluate bit-identical edge functions; a point exactly on an edge (or vertex) then
    counts as lying to the edge's left, which equals an infinitesimal shift of the point by
    ``(-ε², ε)``: it falls in exactly one triangle of a planar fan and parity stays right.
    """
    xy = tri[:, :, :2]
    p0, p1 = xy, np.roll(xy, -1, axis=1)  # edges v0→v1, v1→v2, v2→v0
    swap = (p0[..., 0] > p1[..., 0]) | ((p0[..., 0] == p1[..., 0]) & (p0[..., 1] > p1[..., 1]))
    a = np.where(swap[..., None], p1, p0)
    b = np.where(swap[..., None], p0, p1)
    e0, e1 = xy[:, 1] - xy[:, 0], xy[:, 2] - xy[:, 0]
    sigma = np.sign(e0[:, 0] * e1[:, 1] - e0[:, 1] * e1[:, 0])  # orientation of the projection
    return a, b, sigma[:, None] * np.where(swap, -1.0, 1.0), sigma


def _orient(p: np.ndarray, r: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Twice the signed xy area of the triangles ``(p, r, s)``, each ``(M, >=2)`` → ``(M,)``."""
    return (r[:, 0] - p[:, 0]) * (s[:, 1] - p[:, 1]) - (r[:, 1] - p[:, 1]) * (s[:, 0] - p[:, 0])


def _crossings(tri: np.ndarray, edges: tuple, t: np.ndarray, q: np.ndarray) -> np.ndarray:
    """For pairs (triangle ``t`` (M,), point ``q`` (M, 3)): does the ray ``q + s·e_z, s > 0`` cross it? (M,)"""
    a, b, sign, _ = edges
    inside = np.ones(len(t), bool)
    for i in range(3):
        ai, bi = a[t, i], b[t, i]
        e = (bi[:, 0] - ai[:, 0]) * (q[:, 1] - ai[:, 1]) - (bi[:, 1] - ai[:, 1]) * (q[:, 0] - ai[:, 0])
        inside &= sign[t, i] * np.where(e == 0, 1.0, np.sign(e)) > 0
    t, q = t[inside], q[inside]
    v = tri[t]
    area = _orient(v[:, 0], v[:, 1], v[:, 2])
    w0, w1 = _orient(v[:, 1], v[:, 2], q) / area, _orient(v[:, 2], v[:, 0], q) / area
    z = w0 * v[:, 0, 2] + w1 * v[:, 1, 2] + (1.0 - w0 - w1) * v[:, 2, 2]
    out = np.zeros(len(inside), bool)
    out[np.flatnonzero(inside)] = z > q[:, 2]
    return out


def _pairs(tri_cells: tuple, index: tuple) -> tuple:
    """Every (triangle, point) pair whose point lies in a cell the triangle's xy box covers.

    ``tri_cells = (ids (T,), lo (T, 2), hi (T, 2))`` inclusive cell ranges → ``(t (M,), point (M,))``.
    """
    ids, c_lo, c_hi = tri_cells
    _, _, shape, order, start = index
    n_y = c_hi[:, 1] - c_lo[:, 1] + 1
    n_cells = (c_hi[:, 0] - c_lo[:, 0] + 1) * n_y
    tc = np.repeat(np.arange(len(ids)), n_cells)
    local = np.arange(len(tc)) - np.repeat(np.cumsum(n_cells) - n_cells, n_cells)
    cell = (c_lo[tc, 0] + local // n_y[tc]) * shape[1] + c_lo[tc, 1] + local % n_y[tc]
    count = start[cell + 1] - start[cell]
    tp = np.repeat(tc, count)
    offset = np.arange(len(tp)) - np.repeat(np.cumsum(count) - count, count)
    return ids[tp], order[np.repeat(start[cell], count) + offset]


def points_inside_mesh(vertices: np.ndarray, faces: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``(N,)`` bool: which ``points (N, 3)`` lie inside the closed mesh ``(vertices (V, 3), faces (F, 3))``.

    Counts the crossings of the ray from each point along ``+z`` (odd = inside). Needs a watertight
    mesh (the object catalogue's are); cost ~ faces + points under the mesh's footprint.
    """
    points = np.asarray(points, np.float64)
    out = np.zeros(len(points), bool)
    v_lo, v_hi = vertices.min(axis=0), vertices.max(axis=0)
    cand = np.flatnonzero(np.all((points >= v_lo) & (points <= v_hi), axis=1))
    if len(cand) == 0:
        return out
    q_all = points[cand]
    tri = np.asarray(vertices, np.float64)[faces]
    edges = _edge_setup(tri)
    index = _cell_index(q_all[:, :2])
    lo, size, shape = index[0], index[1], index[2]
    keep = np.flatnonzero(edges[3] != 0)  # a vertical triangle is never crossed by a vertical ray
    c_lo = np.clip(np.floor((tri[keep, :, :2].min(axis=1) - lo) / size).astype(np.int64), 0, shape - 1)
    c_hi = np.clip(np.floor((tri[keep, :, :2].max(axis=1) - lo) / size).astype(np.int64), 0, shape - 1)
    table = np.zeros((shape[0] + 1, shape[1] + 1), np.int64)  # summed-area table of points per cell
    table[1:, 1:] = np.diff(index[4]).reshape(shape).cumsum(0).cumsum(1)
    cost = (table[c_hi[:, 0] + 1, c_hi[:, 1] + 1] - table[c_lo[:, 0], c_hi[:, 1] + 1]
            - table[c_hi[:, 0] + 1, c_lo[:, 1]] + table[c_lo[:, 0], c_lo[:, 1]])
    parity = np.zeros(len(cand), np.int64)
    bounds = np.searchsorted(np.cumsum(cost), np.arange(1, cost.sum() // _PAIR_BUDGET + 1) * _PAIR_BUDGET)
    for chunk in np.split(np.arange(len(keep)), np.unique(bounds)):
        if len(chunk):
            t, p = _pairs((keep[chunk], c_lo[chunk], c_hi[chunk]), index)
            parity += np.bincount(p, weights=_crossings(tri, edges, t, q_all[p]), minlength=len(cand)).astype(np.int64)
    out[cand] = parity % 2 == 1
    return out


def points_inside_any(meshes: Sequence[Mesh], points: np.ndarray) -> np.ndarray:
    """``(N,)`` bool: inside at least one of ``meshes``."""
    occ = np.zeros(len(points), bool)
    for vertices, faces in meshes:
        occ |= points_inside_mesh(vertices, faces, points)
    return occ


# --------------------------------------------------------------------------------------------------
# sampling and files
# --------------------------------------------------------------------------------------------------
def sample_occupancy(meshes: Sequence[Mesh], n_points: int, rng: np.random.Generator,
                     padding: float = OCC_PADDING) -> Tuple[np.ndarray, np.ndarray]:
    """Uniform points in the meshes' joint bounding box padded by ``padding`` and their labels.

    Returns ``points (n_points, 3)`` float16 metres and ``occ (n_points,)`` bool, labelled at the
    float16 positions.
    """
    lo = np.min([v.min(axis=0) for v, _ in meshes], axis=0) - padding
    hi = np.max([v.max(axis=0) for v, _ in meshes], axis=0) + padding
    points = (lo + rng.random((n_points, 3)) * (hi - lo)).astype(np.float16)
    return points, points_inside_any(meshes, points.astype(np.float64))


def write_occupancy(root: Path, scene_id: str, points: np.ndarray, occ: np.ndarray, n_files: int) -> None:
    """``occ/<id>/0000.npz ...`` (``n_files`` near-equal parts), the folder renamed into place at once."""
    final = layout.occ_dir(root, scene_id)
    tmp = final.parent / f".tmp-{scene_id}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for i, (p, o) in enumerate(zip(np.array_split(points, n_files), np.array_split(occ, n_files))):
        np.savez_compressed(tmp / layout.occ_file_name(i), points=p.astype(np.float16), occ=o.astype(bool))
    if final.exists():
        shutil.rmtree(final)
    os.rename(tmp, final)
