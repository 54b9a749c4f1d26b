"""The files of ``igd detect`` (docs/frames.md): depth images, K.json, T.json, WS.json, grasps.json,
and :func:`write_example`, which writes all the inputs for a simulated scene.

The public API (``__all__``, documented in the README and docs/frames.md, "Worked example"):
:func:`read_depth` -> ``(H, W)`` float32 metres, :func:`read_intrinsics` -> ``CameraIntrinsic``,
:func:`read_extrinsic` -> ``Transform`` ``T_cam_world``, :func:`read_workspace` -> ``Workspace``,
:func:`write_example`, :func:`write_grasps`. Their results go straight into
``igd.load(...).detect(depth, K, T_cam_world, workspace)``. Every reader raises
:class:`~igd.errors.IGDError` with one line that names the file.

=============  ===================================================================================
file           content
=============  ===================================================================================
depth          16-bit PNG in millimetres (``0`` = no reading), or ``.npy`` float ``(H, W)`` in metres;
               ``depth_scale`` (metres per stored unit) overrides either unit
K.json         ``{"width", "height", "fx", "fy", "cx", "cy"}`` or ``{"width", "height", "K": 3x3}``, pixels
T.json         the extrinsic ``T_cam_world`` (world -> OpenCV camera): ``{"matrix": 4x4 row-major}`` or
               ``{"translation": [x, y, z], "quaternion": [x, y, z, w]}``; ``"convention":
               "T_world_cam"`` gives the camera's pose instead (inverted on reading)
WS.json        the workspace corner pose ``T_world_ws`` (same keys as T.json) and ``"size": 0.3``
grasps.json    ``{"format", "planner", "frame": "world", "units", "workspace", "grasps": [{"pose",
               "position", "quaternion", "width", "score"}, ...]}``, best first
=============  ===================================================================================
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from igd.api import Detections, Workspace, as_extrinsic, as_intrinsic
from igd.errors import IGDError
from igd.perception.camera import CameraIntrinsic
from igd.perception.depth import MAX_PLAUSIBLE_DEPTH, check_depth

__all__ = [
    "EXAMPLE_FILES",
    "GRASPS_FORMAT",
    "PNG_DEPTH_SCALE",
    "read_depth",
    "read_extrinsic",
    "read_intrinsics",
    "read_workspace",
    "write_example",
    "write_grasps",
]

#: Metres per count of a 16-bit depth PNG (millimetres).
PNG_DEPTH_SCALE = 0.001
#: Tag of grasps.json.
GRASPS_FORMAT = "igd-grasps-v1"
#: What :func:`write_example` writes, by role.
EXAMPLE_FILES = {"depth_png": "depth.png", "depth_npy": "depth.npy", "intrinsics": "K.json",
                 "extrinsic": "T.json", "workspace": "WS.json"}
_PNG_MODES = ("I;16", "I;16L", "I;16B", "I")


# --------------------------------------------------------------------------------------------------
# readers
# --------------------------------------------------------------------------------------------------
def check_file(path: str | Path, what: str) -> Path:
    """``path`` as a Path if it is a file; else a one-line :class:`IGDError`: not found, or a directory."""
    path = Path(path)
    if path.is_dir():
        raise IGDError(f"{path} is a directory; expected the {what} file")
    if not path.is_file():
        raise IGDError(f"{path}: {what} file not found")
    return path


def read_json(path: str | Path, what: str) -> dict:
    """The JSON object in ``path``; ``what`` names the file's role in error messages."""
    path = check_file(path, what)
    try:
        data = json.loads(path.read_text())
    except UnicodeDecodeError as e:
        raise IGDError(f"{path}: the {what} file is not UTF-8 text JSON") from e
    except json.JSONDecodeError as e:
        raise IGDError(f"{path}: the {what} file is not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})") from e
    if not isinstance(data, dict):
        raise IGDError(f"{path}: the {what} file must hold a JSON object {{...}}, got {type(data).__name__}")
    return data


def _in_file(path: Path, func, *args):
    """Run a parser; prefix its IGDError with the file name."""
    try:
        return func(*args)
    except IGDError as e:
        raise IGDError(f"{path}: {e}") from e


def read_intrinsics(path: str | Path) -> CameraIntrinsic:
    """K.json -> :class:`CameraIntrinsic`."""
    return _in_file(Path(path), as_intrinsic, read_json(path, "intrinsics"))


def read_extrinsic(path: str | Path):
    """T.json -> ``T_cam_world`` (:class:`~igd.geometry.Transform`, world -> camera)."""
    return _in_file(Path(path), as_extrinsic, read_json(path, "extrinsic"), "extrinsic")


def read_workspace(path: str | Path) -> Workspace:
    """WS.json -> :class:`~igd.api.Workspace`."""
    return _in_file(Path(path), Workspace.create, read_json(path, "workspace"))


def read_depth(path: str | Path, depth_scale: float | None = None) -> np.ndarray:
    """A depth image file -> ``(H, W)`` float32 metres (0 = no reading), checked.

    ``.png``: 16-bit single channel, millimetres unless ``depth_scale`` (metres per count) says
    otherwise. ``.npy``: float metres, or any numeric dtype with an explicit ``depth_scale``.
    """
    path = Path(path)
    if depth_scale is not None and not (np.isfinite(depth_scale) and depth_scale > 0):
        raise IGDError(f"--depth-scale must be a positive number of metres per stored unit, got {depth_scale}")
    check_file(path, "depth image")
    suffix = path.suffix.lower()
    if suffix == ".png":
        raw, scale = _read_png(path), PNG_DEPTH_SCALE if depth_scale is None else depth_scale
    elif suffix == ".npy":
        raw, scale = _read_npy(path, depth_scale), 1.0 if depth_scale is None else depth_scale
    else:
        raise IGDError(f"{path}: unknown depth format '{suffix}': expected a 16-bit .png (millimetres) "
                       "or a .npy (metres)")
    if raw.ndim != 2:
        raise IGDError(f"{path}: depth must be one 2-D (H, W) image, got shape {raw.shape}")
    depth = raw.astype(np.float64) * scale
    valid = depth[np.isfinite(depth) & (depth > 0)]
    if valid.size and float(np.median(valid)) > MAX_PLAUSIBLE_DEPTH:
        unit = "counts x --depth-scale" if depth_scale is not None else (
            "millimetres" if suffix == ".png" else "metres")
        raise IGDError(f"{path}: the median depth is {float(np.median(valid)):.4g} m, which looks like millimetres "
                       f"read as metres (this file is read as {unit}); expected metres: divide by 1000 "
                       "or pass --depth-scale 0.001")
    return check_depth(depth.astype(np.float32), name=str(path))


def _read_png(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.load()
            mode = img.mode
            arr = np.asarray(img)
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise IGDError(f"{path}: cannot read the PNG ({e})") from e
    if mode not in _PNG_MODES:
        raise IGDError(f"{path}: PNG mode {mode} ({arr.dtype}, shape {arr.shape}): expected a 16-bit "
                       "single-channel depth PNG in millimetres (an 8-bit or colour image holds no depth)")
    return arr


def _read_npy(path: Path, depth_scale: float | None) -> np.ndarray:
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise IGDError(f"{path}: cannot read the .npy file ({' '.join(str(e).split())})") from e
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "fiu":
        raise IGDError(f"{path}: expected a numeric depth array, got dtype {getattr(arr, 'dtype', type(arr))}")
    if arr.dtype.kind in "iu" and depth_scale is None:
        raise IGDError(f"{path}: integer dtype {arr.dtype}: a .npy depth is read as float metres; for integer "
                       "millimetres pass --depth-scale 0.001")
    return arr


# --------------------------------------------------------------------------------------------------
# writers
# --------------------------------------------------------------------------------------------------
def grasps_document(detections: Detections, workspace: Workspace, extra: dict[str, Any] | None = None) -> dict:
    """The grasps.json object for ``detections`` (world frame, best first)."""
    doc = {"format": GRASPS_FORMAT, "planner": detections.planner, "frame": detections.frame,
           "units": {"position": "m", "width": "m", "score": "[0, 1]", "quaternion": "[x, y, z, w]"},
           "pose": "T_world_grasp: TCP pose in the world (z = approach, y = closing; docs/frames.md)",
           "workspace": workspace.to_dict()}
    doc.update(extra or {})
    doc["grasps"] = detections.to_records()
    return doc


def write_grasps(path: str | Path, detections: Detections, workspace: Workspace,
                 extra: dict[str, Any] | None = None) -> Path:
    """Write grasps.json (see :func:`grasps_document`); returns the path."""
    path = Path(path)
    if path.is_dir():
        raise IGDError(f"{path} is a directory; expected the grasps file to write, e.g. {path / 'grasps.json'}")
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_json(path, grasps_document(detections, workspace, extra))
    return path


def dumps(data: Any, indent: str = "  ", _level: int = 0) -> str:
    """JSON text with every list of numbers (a vector, a matrix row) on one line."""
    pad, inner = indent * _level, indent * (_level + 1)
    if isinstance(data, dict) and data:
        items = [f"{inner}{json.dumps(str(k))}: {dumps(v, indent, _level + 1)}" for k, v in data.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(data, (list, tuple)) and data and any(isinstance(v, (dict, list, tuple)) for v in data):
        items = [f"{inner}{dumps(v, indent, _level + 1)}" for v in data]
        return "[\n" + ",\n".join(items) + f"\n{pad}]"
    return json.dumps(data)


def _write_json(path: Path, data: dict) -> None:
    path.write_text(dumps(data) + "\n")


def write_example(folder: str | Path, scene: str = "packed", objects: str = "packed/test", seed: int = 0,
                  object_count: int = 5) -> dict[str, Path]:
    """Render a simulated scene from the benchmark's side view and write ``igd detect``'s inputs.

    Writes ``depth.png`` (16-bit mm), ``depth.npy`` (float32 m), ``K.json``, ``T.json``
    (``T_cam_world``) and ``WS.json`` (the benchmark's workspace: the identity corner pose) into
    ``folder``; returns their paths by role (:data:`EXAMPLE_FILES`). Needs pybullet.
    """
    from PIL import Image

    from igd.perception.camera import DEFAULT_INTRINSIC, side_view_extrinsic
    from igd.sim.simulation import ClutterRemovalSim

    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise IGDError(f"{folder} is a file; expected a folder to write the example inputs into")
    folder.mkdir(parents=True, exist_ok=True)
    extrinsic = side_view_extrinsic()
    sim = ClutterRemovalSim(scene, objects)
    try:
        sim.reset(object_count, seed)
        depth = sim.render(extrinsic, DEFAULT_INTRINSIC)
    finally:
        sim.close()
    paths = {role: folder / name for role, name in EXAMPLE_FILES.items()}
    np.save(paths["depth_npy"], depth.astype(np.float32))
    Image.fromarray(np.round(depth / PNG_DEPTH_SCALE).astype(np.uint16)).save(paths["depth_png"])
    _write_json(paths["intrinsics"], {"width": DEFAULT_INTRINSIC.width, "height": DEFAULT_INTRINSIC.height,
                                      "fx": DEFAULT_INTRINSIC.fx, "fy": DEFAULT_INTRINSIC.fy,
                                      "cx": DEFAULT_INTRINSIC.cx, "cy": DEFAULT_INTRINSIC.cy})
    _write_json(paths["extrinsic"], {"convention": "T_cam_world",
                                     "matrix": (np.round(extrinsic.as_matrix(), 12) + 0.0).tolist()})
    _write_json(paths["workspace"], Workspace().to_dict())
    return paths
