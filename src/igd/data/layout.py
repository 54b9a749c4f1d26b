"""The on-disk layout of grasp datasets: GIGA's, so GIGA's released data reads as-is (docs/data.md,
"The raw root" and "The processed root").

Raw root (what ``igd generate`` writes)::

    setup.json                    size, intrinsic {width, height, K}, max_opening_width, finger_depth
    grasps.csv                    scene_id,qx,qy,qz,qw,x,y,z,width,label   (metres, world frame)
    scenes/<scene_id>.npz         depth_imgs (n, 480, 640) float32, extrinsics (n, 7) float32 [q, t] of T_cam_world
    mesh_pose_list/<scene_id>.npz pc: object array of (mesh path, scale, 4x4 pose) per object

Processed root (what ``igd process`` writes; GIGA's own processed roots hold the same files, except
that GIGA writes grasp positions and widths in voxel units with columns ``i, j, k``, and keeps the
occupancy files under the raw root: readers accept both)::

    setup.json, grasps.csv (cleaned and balanced)
    scenes/<scene_id>.npz         grid (1, 40, 40, 40) float32
    occ/<scene_id>/NNNN.npz       points (M, 3) float16 metres, occ (M,) bool
    splits.json                   {train: [scene ids], val: [scene ids]} (ours; GIGA's roots have none)

Every writer here is atomic (a temporary file renamed into place), so a killed process never
leaves half a file; every reader names the file when something is wrong with it.
"""

from __future__ import annotations

import csv
import json
import os
import pickle
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import Iterable, List, Sequence

import numpy as np

from igd.constants import FINGER_DEPTH, MAX_OPENING, RESOLUTION, SIZE, VOXEL_SIZE
from igd.errors import IGDError
from igd.perception.camera import DEFAULT_INTRINSIC, CameraIntrinsic

SETUP_FILE = "setup.json"
GRASPS_FILE = "grasps.csv"
SCENES_DIR = "scenes"
MESH_POSE_DIR = "mesh_pose_list"
OCC_DIR = "occ"
MINED_DIR = "mined"  # PROCESSED/mined/<name>/grasps.csv: igd mine (igd.train.mine)
GRASP_COLUMNS = ("scene_id", "qx", "qy", "qz", "qw", "x", "y", "z", "width", "label")
VOXEL_COLUMNS = ("scene_id", "qx", "qy", "qz", "qw", "i", "j", "k", "width", "label")  # GIGA processed
SCENE_KEYS = ("depth_imgs", "extrinsics")
GRID_KEY = "grid"
MESH_POSE_KEY = "pc"
OCC_KEYS = ("points", "occ")


# --------------------------------------------------------------------------------------------------
# atomic writes
# --------------------------------------------------------------------------------------------------
def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        _publish(f, tmp, path)


def atomic_savez(path: Path, compressed: bool = True, **arrays) -> None:
    """``np.savez(_compressed)`` to ``path`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".npz")
    with os.fdopen(fd, "wb") as f:
        (np.savez_compressed if compressed else np.savez)(f, **arrays)
        _publish(f, tmp, path)


def _publish(f, tmp: str, path: Path) -> None:
    """Flush ``f`` to disk, give it the usual permissions (mkstemp makes it owner-only) and rename it
    to ``path``: a file that appears is complete, and files appear in the order they were written."""
    f.flush()
    os.fsync(f.fileno())
    os.chmod(tmp, 0o666 & ~_UMASK)
    os.replace(tmp, path)


def _read_umask() -> int:
    mask = os.umask(0o022)  # read it (once, at import: no other thread is creating files yet)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


# --------------------------------------------------------------------------------------------------
# setup.json
# --------------------------------------------------------------------------------------------------
def write_setup(root: Path, intrinsic: CameraIntrinsic = DEFAULT_INTRINSIC) -> None:
    setup = {"size": SIZE, "intrinsic": intrinsic.to_dict(), "max_opening_width": MAX_OPENING,
             "finger_depth": FINGER_DEPTH}
    atomic_write_bytes(Path(root) / SETUP_FILE, json.dumps(setup, indent=2).encode())


def read_setup(root: Path) -> dict:
    """``setup.json`` as ``{size, intrinsic: CameraIntrinsic, max_opening_width, finger_depth}``."""
    path = Path(root) / SETUP_FILE
    if not path.is_file():
        raise IGDError(f"{path}: missing; a dataset root needs setup.json (size, intrinsic, max_opening_width, finger_depth)")
    try:
        d = json.loads(path.read_text())
        return {"size": float(d["size"]), "intrinsic": CameraIntrinsic.from_dict(d["intrinsic"]),
                "max_opening_width": float(d["max_opening_width"]), "finger_depth": float(d["finger_depth"])}
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise IGDError(f"{path}: not a valid setup file ({type(e).__name__}: {e})") from e


def check_setup(root: Path, intrinsic: CameraIntrinsic = DEFAULT_INTRINSIC) -> dict:
    """Refuse a root made for another setup (workspace size, gripper or camera)."""
    setup = read_setup(root)
    expected = {"size": SIZE, "max_opening_width": MAX_OPENING, "finger_depth": FINGER_DEPTH}
    for key, value in expected.items():
        if not np.isclose(setup[key], value):
            raise IGDError(f"{Path(root) / SETUP_FILE}: {key} is {setup[key]}, this toolkit expects {value}")
    if setup["intrinsic"] != intrinsic:
        raise IGDError(f"{Path(root) / SETUP_FILE}: intrinsic {setup['intrinsic'].to_dict()} differs from "
                       f"the expected {intrinsic.to_dict()}")
    return setup


# --------------------------------------------------------------------------------------------------
# grasps.csv
# --------------------------------------------------------------------------------------------------
def format_grasp_rows(rows: Iterable[Sequence]) -> str:
    """CSV text (no header) of rows ``(scene_id, qx, qy, qz, qw, x, y, z, width, label)``."""
    lines = []
    for r in rows:
        sid, *vals, label = r
        lines.append(",".join([str(sid)] + [repr(float(v)) for v in vals] + [str(int(label))]))
    return "".join(line + "\n" for line in lines)


def read_grasps(root: Path) -> "np.ndarray":
    """``grasps.csv`` as a structured array with fields ``GRASP_COLUMNS`` (metres).

    GIGA's processed files (columns ``i, j, k``, voxel units) are converted to metres.
    """
    path = Path(root) / GRASPS_FILE
    if not path.is_file():
        raise IGDError(f"{path}: missing")
    with open(path, newline="") as f:
        reader = csv.reader(f)
        try:
            header = tuple(next(reader))
        except StopIteration:
            raise IGDError(f"{path}: empty file, expected the header {','.join(GRASP_COLUMNS)}") from None
        if header not in (GRASP_COLUMNS, VOXEL_COLUMNS):
            raise IGDError(f"{path}: columns {','.join(header)}; expected {','.join(GRASP_COLUMNS)}")
        rows: List[tuple] = []
        for n, row in enumerate(reader, start=2):
            if len(row) != len(GRASP_COLUMNS):
                raise IGDError(f"{path}: line {n} has {len(row)} fields, expected {len(GRASP_COLUMNS)} (truncated?)")
            try:
                rows.append((row[0], *map(float, row[1:9]), int(float(row[9]))))
            except ValueError as e:
                raise IGDError(f"{path}: line {n}: {e}") from e
    dtype = [("scene_id", "U64")] + [(c, "f8") for c in GRASP_COLUMNS[1:9]] + [("label", "i8")]
    out = np.array(rows, dtype=dtype)
    if header == VOXEL_COLUMNS:
        for c in ("x", "y", "z", "width"):
            out[c] *= VOXEL_SIZE
    return out


def write_grasps(root: Path, rows: Iterable[Sequence]) -> None:
    """Write a whole ``grasps.csv`` (header + rows) atomically."""
    text = ",".join(GRASP_COLUMNS) + "\n" + format_grasp_rows(rows)
    atomic_write_bytes(Path(root) / GRASPS_FILE, text.encode())


# --------------------------------------------------------------------------------------------------
# npz files
# --------------------------------------------------------------------------------------------------
def load_npz(path: Path, keys: Sequence[str], allow_pickle: bool = False) -> dict:
    """Load ``keys`` from an npz file; a clear error names the file if it is missing, corrupt or incomplete."""
    path = Path(path)
    if not path.is_file():
        raise IGDError(f"{path}: missing")
    try:
        with np.load(path, allow_pickle=allow_pickle) as data:
            missing = [k for k in keys if k not in data.files]
            if missing:
                raise IGDError(f"{path}: lacks key(s) {missing}; has {sorted(data.files)}")
            return {k: data[k] for k in keys}
    except IGDError:
        raise
    except (zipfile.BadZipFile, zlib.error, pickle.UnpicklingError, EOFError, OSError, ValueError) as e:
        raise IGDError(f"{path}: corrupt or truncated npz ({type(e).__name__}: {e})") from e


def write_sensor_data(root: Path, scene_id: str, depth_imgs: np.ndarray, extrinsics: np.ndarray) -> None:
    """``scenes/<id>.npz``: depth_imgs (n, H, W) float32, extrinsics (n, 7) float32 ``[qx,qy,qz,qw,tx,ty,tz]``."""
    atomic_savez(Path(root) / SCENES_DIR / f"{scene_id}.npz", depth_imgs=np.asarray(depth_imgs, np.float32),
                 extrinsics=np.asarray(extrinsics, np.float32))


def read_sensor_data(root: Path, scene_id: str, intrinsic: CameraIntrinsic = DEFAULT_INTRINSIC):
    path = Path(root) / SCENES_DIR / f"{scene_id}.npz"
    d = load_npz(path, SCENE_KEYS)
    depth, ext = d["depth_imgs"], d["extrinsics"]
    if depth.ndim != 3 or depth.shape[1:] != (intrinsic.height, intrinsic.width):
        raise IGDError(f"{path}: depth_imgs has shape {depth.shape}, expected (n, {intrinsic.height}, {intrinsic.width})")
    if ext.shape != (len(depth), 7):
        raise IGDError(f"{path}: extrinsics has shape {ext.shape}, expected ({len(depth)}, 7)")
    return depth.astype(np.float32, copy=False), ext.astype(np.float32, copy=False)


def write_mesh_pose_list(root: Path, scene_id: str, items: Sequence[tuple]) -> None:
    """``mesh_pose_list/<id>.npz`` key ``pc``: (mesh path str, scale float, pose (4, 4)) per object.

    Mesh paths should be relative to the object catalogue (see ``igd.sim.objects.relative_mesh_path``).
    """
    pc = np.empty(len(items), dtype=object)
    for i, (mesh, scale, pose) in enumerate(items):
        pc[i] = (str(mesh), float(scale), np.asarray(pose, dtype=np.float64).reshape(4, 4))
    atomic_savez(Path(root) / MESH_POSE_DIR / f"{scene_id}.npz", pc=pc)


def read_mesh_pose_list(root: Path, scene_id: str) -> List[tuple]:
    path = Path(root) / MESH_POSE_DIR / f"{scene_id}.npz"
    pc = load_npz(path, (MESH_POSE_KEY,), allow_pickle=True)[MESH_POSE_KEY]
    out = []
    for item in pc:
        try:
            mesh, scale, pose = item
            out.append((str(mesh), float(scale), np.asarray(pose, dtype=np.float64).reshape(4, 4)))
        except (TypeError, ValueError) as e:
            raise IGDError(f"{path}: each entry of 'pc' must be (mesh path, scale, 4x4 pose): {e}") from e
    return out


# --------------------------------------------------------------------------------------------------
# grasp rows: value checks (units, ranges)
# --------------------------------------------------------------------------------------------------
def check_grasps(grasps: np.ndarray, path: Path) -> np.ndarray:
    """Refuse rows that cannot be metres-and-unit-quaternion grasps; returns ``grasps``.

    ``grasps`` is what :func:`read_grasps` returns (metres); ``path`` names the file in errors.
    """
    num = np.stack([grasps[c] for c in GRASP_COLUMNS[1:9]], axis=1) if len(grasps) else np.zeros((0, 8))
    bad = np.flatnonzero(~np.isfinite(num).all(axis=1))
    if bad.size:
        raise IGDError(f"{path}: data row {bad[0] + 1} has NaN/inf values")
    labels = grasps["label"]
    if np.any((labels != 0) & (labels != 1)):
        raise IGDError(f"{path}: label must be 0 or 1, found {sorted(set(labels.tolist()) - {0, 1})[:3]}")
    norms = np.linalg.norm(num[:, :4], axis=1)
    if np.any(np.abs(norms - 1.0) > 1e-2):
        row = int(np.argmax(np.abs(norms - 1.0)))
        raise IGDError(f"{path}: data row {row + 1}: quaternion (qx,qy,qz,qw) has norm {norms[row]:.4g}, expected 1")
    if len(grasps) and (np.abs(num[:, 4:7]).max() > 2 * SIZE or num[:, 7].max() > SIZE):
        raise IGDError(f"{path}: positions/widths up to {np.abs(num[:, 4:8]).max():.4g} look like voxel units; "
                       f"columns x,y,z,width are metres in [0, {SIZE}] (GIGA's voxel files use columns i,j,k)")
    return grasps


# --------------------------------------------------------------------------------------------------
# processed root: grids, occupancy files, the validation split
# --------------------------------------------------------------------------------------------------
SPLITS_FILE = "splits.json"
GRID_SHAPE = (1, RESOLUTION, RESOLUTION, RESOLUTION)
OCC_FILE_GLOB = "[0-9][0-9][0-9][0-9].npz"


def grid_path(root: Path, scene_id: str) -> Path:
    return Path(root) / SCENES_DIR / f"{scene_id}.npz"


def write_grid(root: Path, scene_id: str, grid: np.ndarray) -> None:
    """``scenes/<id>.npz`` key ``grid`` ``(1, 40, 40, 40)`` float32, atomically."""
    grid = np.asarray(grid, dtype=np.float32)
    if grid.shape != GRID_SHAPE:
        raise IGDError(f"grid of scene {scene_id} has shape {grid.shape}, expected {GRID_SHAPE}")
    atomic_savez(grid_path(root, scene_id), **{GRID_KEY: grid})


def read_grid(root: Path, scene_id: str) -> np.ndarray:
    """The network grid of a processed scene, ``(1, 40, 40, 40)`` float32; errors name the file."""
    path = grid_path(root, scene_id)
    grid = load_npz(path, (GRID_KEY,))[GRID_KEY]
    if grid.shape != GRID_SHAPE or grid.dtype.kind != "f":
        raise IGDError(f"{path}: grid has shape {grid.shape} and dtype {grid.dtype}, expected {GRID_SHAPE} float32")
    if not np.isfinite(grid).all():
        raise IGDError(f"{path}: grid has NaN/inf values")
    return grid.astype(np.float32, copy=False)


def occ_dir(root: Path, scene_id: str) -> Path:
    return Path(root) / OCC_DIR / str(scene_id)


def occ_file_name(index: int) -> str:
    """``NNNN.npz`` (GIGA's ``%04d.npz``)."""
    return f"{index:04d}.npz"


def list_occ_files(root: Path, scene_id: str) -> List[Path]:
    """The occupancy files ``occ/<id>/NNNN.npz`` of a scene, sorted; ``[]`` if there are none."""
    folder = occ_dir(root, scene_id)
    return sorted(folder.glob(OCC_FILE_GLOB)) if folder.is_dir() else []


def read_occ_file(path: Path) -> tuple:
    """One occupancy file: ``points (M, 3)`` float32 metres, ``occ (M,)`` bool; errors name the file."""
    d = load_npz(path, OCC_KEYS)
    points, occ = d["points"], d["occ"]
    if points.ndim != 2 or points.shape[1] != 3 or occ.shape != (len(points),) or len(points) == 0:
        raise IGDError(f"{path}: points {points.shape} / occ {occ.shape}, expected (M, 3) and (M,) with M > 0")
    if points.dtype.kind != "f" or occ.dtype.kind not in "bui":
        raise IGDError(f"{path}: points {points.dtype} / occ {occ.dtype}, expected float16 and bool")
    points = points.astype(np.float32)
    if not np.isfinite(points).all():
        raise IGDError(f"{path}: points have NaN/inf values")
    return points, occ.astype(bool, copy=False)


def write_splits(root: Path, train: Sequence[str], val: Sequence[str]) -> None:
    """``splits.json`` ``{train: [scene ids], val: [scene ids]}`` atomically."""
    text = json.dumps({"train": list(map(str, train)), "val": list(map(str, val))}, indent=1)
    atomic_write_bytes(Path(root) / SPLITS_FILE, text.encode())


def read_splits(root: Path) -> dict | None:
    """``{train: [...], val: [...]}`` from ``splits.json``, or ``None`` if the root has none."""
    path = Path(root) / SPLITS_FILE
    if not path.is_file():
        return None
    try:
        d = json.loads(path.read_text())
        out = {k: [str(s) for s in d[k]] for k in ("train", "val")}
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise IGDError(f"{path}: expected {{\"train\": [scene ids], \"val\": [scene ids]}} ({type(e).__name__}: {e})") from e
    overlap = set(out["train"]) & set(out["val"])
    if overlap:
        raise IGDError(f"{path}: {len(overlap)} scene(s) in both train and val, e.g. {sorted(overlap)[0]}")
    return out
