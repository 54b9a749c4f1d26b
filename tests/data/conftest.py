"""Tiny dataset roots in exactly GIGA's layout, written directly with numpy (no simulator).

Each scene holds two or three boxes standing on the table. The stored view is the benchmark's side
view rendered analytically (:func:`igd.perception.depth.render_boxes`), and the box meshes are
written with trimesh, so depth images, meshes and poses agree exactly and occupancy labels can be
checked against the boxes.

- ``build_raw(folder, style)``: a raw root; ``style="relative"`` writes mesh paths relative to an
  object catalogue under ``$IGD_CACHE`` (what ``igd generate`` writes), ``style="absolute"``
  GIGA-style absolute paths (one of them a one-link URDF) in GIGA's ``(n, 3)`` object array.
- ``build_giga_processed(raw, folder)``: GIGA's processed root (voxel-unit ``i,j,k`` columns,
  grids) with the occupancy files under the *raw* root, as GIGA's scripts leave them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import trimesh
from scipy.spatial.transform import Rotation

from igd.constants import TABLE_HEIGHT, VOXEL_SIZE
from igd.data import layout
from igd.geometry import Transform
from igd.perception.camera import DEFAULT_INTRINSIC, side_view_extrinsic
from igd.perception.depth import render_boxes
from igd.perception.tsdf import create_tsdf

EXTENTS = {"box_901": (0.04, 0.05, 0.06), "box_902": (0.03, 0.03, 0.08), "box_903": (0.06, 0.04, 0.03)}
#: per scene: (box name, centre x, centre y, yaw in quarter turns, scale)
SCENES = (
    (("box_901", 0.11, 0.12, 0, 1.0), ("box_902", 0.19, 0.18, 1, 0.8)),
    (("box_903", 0.15, 0.10, 1, 1.0), ("box_901", 0.13, 0.20, 0, 0.9)),
    (("box_902", 0.09, 0.09, 0, 1.0), ("box_903", 0.20, 0.15, 0, 1.0), ("box_901", 0.14, 0.21, 1, 1.0)),
    (("box_901", 0.16, 0.15, 1, 1.0), ("box_902", 0.10, 0.20, 0, 1.0)),
)


def scene_id(i: int) -> str:
    """GIGA's scene ids are uuid4 hex strings."""
    return hashlib.md5(f"scene-{i}".encode()).hexdigest()


def world_boxes(objects) -> list:
    """``[(lower (3,), upper (3,)), ...]`` and ``[(name, scale, pose (4, 4)), ...]`` of a scene."""
    boxes, items = [], []
    for name, cx, cy, quarter, scale in objects:
        ext = np.array(EXTENTS[name]) * scale
        if quarter % 2:
            ext[[0, 1]] = ext[[1, 0]]
        centre = np.array([cx, cy, TABLE_HEIGHT + ext[2] / 2])
        pose = np.eye(4)
        pose[:3, :3] = Rotation.from_rotvec([0, 0, quarter * np.pi / 2]).as_matrix()
        pose[:3, 3] = centre
        boxes.append((centre - ext / 2, centre + ext / 2))
        items.append((name, scale, pose))
    return boxes, items


def inside_boxes(boxes, points: np.ndarray) -> np.ndarray:
    return np.any([np.all((points > lo) & (points < hi), axis=1) for lo, hi in boxes], axis=0)


def grasp_rows(sid: str, boxes, rng: np.random.Generator) -> list:
    """14 rows: 4 positives above the boxes, 8 negatives anywhere, 2 rows outside [0.02, 0.28]^3."""
    rows = []
    for n in range(14):
        lo, hi = boxes[n % len(boxes)]
        if n < 4:
            pos, label, width = [(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, hi[2] - 0.01], 1, rng.uniform(0.02, 0.07)
        elif n < 12:
            pos, label, width = rng.uniform([0.03, 0.03, 0.06], [0.27, 0.27, 0.2]), 0, 0.08
        else:
            pos, label, width = ([0.01, 0.15, 0.1] if n == 12 else [0.15, 0.15, 0.29]), n % 2, 0.08
        rows.append((sid, *Rotation.random(random_state=rng).as_quat(), *pos, width, label))
    return rows


def _write_meshes(folder: Path, style: str) -> dict:
    """Box meshes centred at their origin → ``{name: stored mesh path}``."""
    paths = {}
    for name, ext in EXTENTS.items():
        mesh = trimesh.creation.box(extents=ext)
        if style == "relative":  # inside the object catalogue, marked as processed
            obj = folder / "objects" / "v1" / "gen" / name
            obj.mkdir(parents=True, exist_ok=True)
            mesh.export(obj / "mesh.obj")
            (obj / "meta.json").write_text(json.dumps({"mass": 0.1, "extents": list(ext)}))
            paths[name] = f"v1/gen/{name}/mesh.obj"
        else:
            folder.mkdir(parents=True, exist_ok=True)
            mesh.export(folder / f"{name}.obj")
            paths[name] = str((folder / f"{name}.obj").resolve())
    if style == "absolute":  # GIGA's fallback: a one-link URDF whose visual is the mesh
        urdf = folder / "box_903.urdf"
        urdf.write_text('<robot name="box_903"><link name="base"><visual><geometry>'
                        '<mesh filename="box_903.obj" scale="1 1 1"/></geometry></visual></link></robot>')
        paths["box_903"] = str(urdf.resolve())
    return paths


def _write_mesh_pose_list(root: Path, sid: str, items, paths: dict, style: str) -> None:
    if style == "relative":
        layout.write_mesh_pose_list(root, sid, [(paths[n], s, p) for n, s, p in items])
        return
    pc = np.empty((len(items), 3), dtype=object)  # what GIGA's np.savez_compressed(pc=list) stored
    for i, (name, scale, pose) in enumerate(items):
        pc[i, 0], pc[i, 1], pc[i, 2] = paths[name], scale, pose
    (root / layout.MESH_POSE_DIR).mkdir(parents=True, exist_ok=True)
    np.savez_compressed(root / layout.MESH_POSE_DIR / f"{sid}.npz", pc=pc)


def build_raw(folder: Path, style: str = "relative", mesh_folder: Path | None = None, n_scenes: int = 3,
              seed: int = 0) -> SimpleNamespace:
    """A raw root in GIGA's layout; returns ``root``, ``scenes`` {id: boxes}, ``mesh_folder``."""
    root, mesh_folder = Path(folder), Path(mesh_folder or Path(folder).parent / f"meshes-{style}")
    paths = _write_meshes(mesh_folder, style)
    layout.write_setup(root)
    rng = np.random.default_rng(seed)
    extrinsic = side_view_extrinsic()
    rows, scenes = [], {}
    for i, objects in enumerate(SCENES[:n_scenes]):
        sid = scene_id(i)
        boxes, items = world_boxes(objects)
        depth = render_boxes(DEFAULT_INTRINSIC, extrinsic, boxes)
        layout.write_sensor_data(root, sid, depth[None], extrinsic.to_list()[None])
        _write_mesh_pose_list(root, sid, items, paths, style)
        rows += grasp_rows(sid, boxes, rng)
        scenes[sid] = boxes
    layout.write_grasps(root, rows)
    return SimpleNamespace(root=root, scenes=scenes, mesh_folder=mesh_folder)


def build_giga_processed(raw: SimpleNamespace, folder: Path, occ_files: int = 2, points_per_file: int = 500,
                         seed: int = 0) -> Path:
    """GIGA's processed root from a raw root: voxel-unit ``grasps.csv``, ``scenes/<id>.npz`` grids,
    occupancy under ``RAW/occ/<id>/NNNN.npz`` (uncompressed, like GIGA's ``np.savez``)."""
    root, rng = Path(folder), np.random.default_rng(seed)
    grasps = layout.read_grasps(raw.root)
    inside = np.all([(grasps[c] >= 0.02) & (grasps[c] <= 0.28) for c in "xyz"], axis=0)
    lines = [",".join(layout.VOXEL_COLUMNS)]
    for r in grasps[inside]:
        vox = [r[c] / VOXEL_SIZE for c in ("x", "y", "z", "width")]
        lines.append(",".join([r["scene_id"], *(repr(float(r[c])) for c in ("qx", "qy", "qz", "qw")),
                               *(repr(float(v)) for v in vox[:3]), repr(float(vox[3])), str(r["label"])]))
    root.mkdir(parents=True, exist_ok=True)
    (root / layout.GRASPS_FILE).write_text("\n".join(lines) + "\n")
    (root / layout.SCENES_DIR).mkdir(exist_ok=True)
    for sid, boxes in raw.scenes.items():
        depth, ext = layout.read_sensor_data(raw.root, sid)
        grid = create_tsdf(depth, DEFAULT_INTRINSIC, [Transform.from_list(e) for e in ext]).get_grid()
        np.savez_compressed(root / layout.SCENES_DIR / f"{sid}.npz", grid=grid)
        lo = np.min([b[0] for b in boxes], axis=0) - 0.02
        hi = np.max([b[1] for b in boxes], axis=0) + 0.02
        (raw.root / "occ" / sid).mkdir(parents=True, exist_ok=True)
        for n in range(occ_files):
            points = (lo + rng.random((points_per_file, 3)) * (hi - lo)).astype(np.float16)
            occ = inside_boxes(boxes, points.astype(np.float64))
            np.savez(raw.root / "occ" / sid / f"{n:04d}.npz", points=points, occ=occ)
    return root


@pytest.fixture
def catalogue(tmp_path, monkeypatch) -> Path:
    """An object catalogue in ``tmp_path/cache`` (``$IGD_CACHE``) for relative mesh paths."""
    monkeypatch.setenv("IGD_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def raw(tmp_path, catalogue) -> SimpleNamespace:
    """A fresh raw root with catalogue-relative mesh paths (what ``igd generate`` writes)."""
    return build_raw(tmp_path / "raw", "relative", mesh_folder=catalogue)


@pytest.fixture
def giga_raw(tmp_path) -> SimpleNamespace:
    """A fresh raw root with GIGA's absolute mesh paths and ``(n, 3)`` object arrays."""
    return build_raw(tmp_path / "giga-raw", "absolute")


@pytest.fixture(scope="module")
def processed(tmp_path_factory) -> SimpleNamespace:
    """A raw root (relative paths) and the processed root ``igd process`` makes of it (shared, read-only)."""
    from igd.data.process import ProcessConfig, process_dataset

    base = tmp_path_factory.mktemp("processed")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IGD_CACHE", str(base / "cache"))
        raw = build_raw(base / "raw", "relative", mesh_folder=base / "cache", n_scenes=4)
        cfg = ProcessConfig(raw=str(raw.root), out=str(base / "out"), occ_points=3000, occ_files=3,
                            val_fraction=0.25, seed=3)
        summary = process_dataset(cfg, progress=False)
    return SimpleNamespace(raw=raw, root=base / "out", cfg=cfg, summary=summary)


@pytest.fixture(scope="module")
def giga(tmp_path_factory) -> SimpleNamespace:
    """GIGA's released layout: a processed root (voxel units, no occ/) and its raw root holding occ/."""
    base = tmp_path_factory.mktemp("giga")
    raw = build_raw(base / "raw", "absolute", n_scenes=3)
    return SimpleNamespace(raw=raw, root=build_giga_processed(raw, base / "processed"))


@pytest.fixture(scope="session")
def helpers() -> SimpleNamespace:
    """The builders above, for tests (a conftest is not importable by name when the suite runs as a whole)."""
    return SimpleNamespace(build_raw=build_raw, build_giga_processed=build_giga_processed, inside_boxes=inside_boxes,
                           scene_id=scene_id, world_boxes=world_boxes, SCENES=SCENES)
