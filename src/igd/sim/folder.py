"""Object sets from a downloaded folder of URDFs, as VGN's and GIGA's data ship them (docs/objects.md).

A folder such as ``data/urdfs/pile/train`` holds one ``<name>.urdf`` per object with
``<name>_visual.obj`` and ``<name>_collision.obj`` beside it; the URDF names the two meshes and
carries the mass and the friction. The files are used as they are: nothing is processed or copied.
Each URDF becomes an :class:`~igd.sim.objects.ObjectAsset` whose ``urdf`` is the file itself,
``mesh`` its visual mesh (absolute path), ``mass`` the URDF's mass and ``extents`` the visual mesh's
bounding box as stored (remembered in ``<cache>/folders/``: large scans take a while to parse).

The references find a set's objects as the ``*.urdf`` files directly in its folder (not in
sub-folders) and load each with ``globalScaling = set scaling x scene scale``, where the set scaling
is 1.67 for ``blocks``, 0.7 for GIGA's ``google`` sets and 1 otherwise (all of ``pile/*`` and
``packed/*``): :data:`REFERENCE_SCALING`, keyed by the folder's path below its ``urdfs`` folder.

Every error is one :class:`~igd.errors.IGDError` line naming the file at fault.

    >>> from igd.sim.folder import load_folder, folder_digest
    >>> assets = load_folder("data/urdfs/packed/test")      # doctest: +SKIP
    >>> folder_digest("data/urdfs/packed/test")             # doctest: +SKIP
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import re
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Tuple, Union

import numpy as np

from igd.errors import IGDError

#: The references' extra ``globalScaling`` per object set (VGN: ``blocks``; GIGA adds the ``google``
#: sets); every other set, ``pile/*`` and ``packed/*`` among them, loads at 1.
REFERENCE_SCALING = {"blocks": 1.67, "google": 0.7, "google_pile": 0.7, "google_packed": 0.7}
URDF_SUFFIX = ".urdf"  # the references' rule: files whose suffix is exactly ".urdf"
_ZERO = 1e-9  # an <origin> closer than this to the identity counts as the identity

Signature = Tuple[Tuple[str, int, int], ...]


@dataclass(frozen=True)
class FolderObject:
    """What one URDF of a folder says (read without loading any mesh)."""

    name: str  # the URDF's file stem, e.g. "bigbird_cinnamon_toast_crunch"
    urdf: Path  # absolute
    visual: Path  # absolute path of the one visual mesh
    meshes: Tuple[Path, ...]  # every mesh file the URDF names (visual and collision), absolute
    mass: float  # kg, as in the URDF


@dataclass(frozen=True)
class ObjectFolder:
    """A folder's objects, in file-name order, and the set scaling the references give it."""

    path: Path  # absolute
    objects: Tuple[FolderObject, ...]
    scaling: float  # REFERENCE_SCALING of the folder's set name, else 1.0
    set_name: str  # the folder's path below its ``urdfs`` folder (e.g. "pile/train"), else its name


# --------------------------------------------------------------------------------------------------
# reading a folder
# --------------------------------------------------------------------------------------------------
def reference_set_name(path: Path) -> str:
    """The name the references would give the set in ``path``: the path below its last ``urdfs``
    folder (``data/urdfs/pile/train`` -> ``pile/train``), else the folder's own name."""
    parts = path.parts
    if "urdfs" in parts[:-1]:
        last = len(parts) - 1 - parts[::-1].index("urdfs")
        return "/".join(parts[last + 1:])
    return path.name


def _signature(path: Path) -> Signature:
    """``(name, size, mtime_ns)`` of every entry of ``path``: a changed file changes it."""
    out = []
    with os.scandir(path) as entries:
        for e in entries:
            st = e.stat()
            out.append((e.name, st.st_size, st.st_mtime_ns))
    return tuple(sorted(out))


def _missing_folder(value: str) -> IGDError:
    from igd.sim.objects import object_set_names

    return IGDError(f"objects: '{value}' is neither an object set ({', '.join(object_set_names())}) "
                    "nor an existing folder of URDFs")


def _folder(value: Union[str, os.PathLike]) -> Path:
    path = Path(value).expanduser().resolve()
    if not path.exists():
        raise _missing_folder(str(value))
    if not path.is_dir():
        raise IGDError(f"objects: {path} is a file; expected a folder of <name>.urdf files "
                       "(e.g. VGN's data/urdfs/packed/test)")
    return path


def open_folder(value: Union[str, os.PathLike]) -> ObjectFolder:
    """Read the URDFs of the folder ``value`` (no meshes are loaded); cached until a file changes.

    Raises :class:`IGDError` for a missing folder, a folder without URDFs, an unreadable URDF, or
    a URDF whose mesh file is missing.
    """
    path = _folder(value)
    return _open(path, _signature(path))


@functools.lru_cache(maxsize=16)
def _open(path: Path, signature: Signature) -> ObjectFolder:
    urdfs = sorted(path / name for name, _, _ in signature if name.endswith(URDF_SUFFIX) and (path / name).is_file())
    if not urdfs:
        below = sorted(p.name for p in path.iterdir() if p.is_dir() and any(p.glob(f"*{URDF_SUFFIX}")))
        hint = f"; its sub-folders {', '.join(below)} have some" if below else ""
        raise IGDError(f"objects: no {URDF_SUFFIX} file in {path}{hint}; expected <name>.urdf files beside "
                       "their meshes (e.g. VGN's data/urdfs/packed/test)")
    set_name = reference_set_name(path)
    return ObjectFolder(path, tuple(read_urdf(u) for u in urdfs), REFERENCE_SCALING.get(set_name, 1.0), set_name)


def _origin_is_identity(urdf: Path, element: ET.Element) -> bool:
    origin = element.find("origin")
    if origin is None:
        return True
    values = f"{origin.get('xyz', '0 0 0')} {origin.get('rpy', '0 0 0')}".replace(",", " ").split()
    try:
        return all(abs(float(v)) < _ZERO for v in values)
    except ValueError as e:
        raise IGDError(f"{urdf}: unreadable <origin> ({e})") from e


def _mesh_file(urdf: Path, element: ET.Element, role: str) -> Optional[Path]:
    """The mesh file of a <visual> or <collision> element (None for a primitive), checked to exist."""
    node = element.find("geometry/mesh")
    if node is None:
        return None
    filename = (node.get("filename") or "").replace("package://", "")
    if not filename:
        raise IGDError(f"{urdf}: a <{role}> mesh has no filename")
    file = (urdf.parent / filename).resolve()
    if not file.is_file():
        raise IGDError(f"{urdf}: its {role} mesh {file} is missing")
    return file


def read_urdf(urdf: Path) -> FolderObject:
    """One object of a folder: a one-link URDF in VGN's format (see the module docstring)."""
    try:
        root = ET.parse(urdf).getroot()
    except (ET.ParseError, OSError) as e:
        raise IGDError(f"{urdf}: not a readable URDF ({e})") from e
    links = root.findall("link")
    if root.tag != "robot" or len(links) != 1 or root.find("joint") is not None:
        raise IGDError(f"{urdf}: expected a <robot> with one <link> and no joints (one rigid object)")
    link = links[0]
    visuals, collisions = link.findall("visual"), link.findall("collision")
    if len(visuals) != 1 or visuals[0].find("geometry/mesh") is None:
        raise IGDError(f"{urdf}: expected one <visual> with a mesh, found {len(visuals)} <visual> element(s)")
    if not collisions:
        raise IGDError(f"{urdf}: no <collision>; the object would fall through the table")
    visual = _mesh_file(urdf, visuals[0], "visual")
    scale = visuals[0].find("geometry/mesh").get("scale", "1 1 1")
    try:
        unit = all(abs(float(s) - 1.0) < _ZERO for s in scale.split())
    except ValueError as e:
        raise IGDError(f"{urdf}: unreadable visual mesh scale '{scale}'") from e
    if not (unit and _origin_is_identity(urdf, visuals[0])):
        raise IGDError(f"{urdf}: the visual mesh must sit at the link origin at scale 1 (no <origin>, no scale), "
                       "as in VGN's and GIGA's URDFs")
    meshes = [visual] + [m for c in collisions if (m := _mesh_file(urdf, c, "collision")) is not None]
    inertial = link.find("inertial")
    node = inertial.find("mass") if inertial is not None else None
    try:
        mass = float(node.get("value")) if node is not None else math.nan
    except (TypeError, ValueError):
        mass = math.nan
    if not (math.isfinite(mass) and mass > 0.0):
        raise IGDError(f"{urdf}: expected <inertial><mass value=...> with a positive mass in kg")
    if not _origin_is_identity(urdf, inertial):
        raise IGDError(f"{urdf}: the centre of mass must be the link origin (no <inertial><origin>), "
                       "as in VGN's and GIGA's URDFs")
    return FolderObject(urdf.stem, urdf.resolve(), visual, tuple(dict.fromkeys(meshes)), mass)


# --------------------------------------------------------------------------------------------------
# what the rest of the package uses
# --------------------------------------------------------------------------------------------------
_VERTEX = re.compile(rb"^v[ \t]+(\S+)[ \t]+(\S+)[ \t]+(\S+)", re.MULTILINE)


def mesh_extents(path: Path) -> tuple:
    """Bounding-box extents ``(x, y, z)`` in metres of a mesh file as stored (``.obj`` read directly)."""
    if path.suffix.lower() == ".obj":
        rows = _VERTEX.findall(path.read_bytes())
        vertices = np.array(rows, dtype=np.float64) if rows else np.zeros((0, 3))
    else:
        import trimesh

        vertices = np.asarray(trimesh.load(path, force="mesh", process=False).vertices, dtype=np.float64)
    if len(vertices) == 0 or not np.isfinite(vertices).all():
        raise IGDError(f"{path}: the mesh has no vertices or non-finite ones")
    return tuple(float(e) for e in vertices.max(axis=0) - vertices.min(axis=0))


def extents_file(path: Path) -> Path:
    """Where the extents of a folder's visual meshes are remembered: ``<cache>/folders/<key>.json``,
    one entry per mesh with the size and mtime it was read at (a changed mesh is read again)."""
    from igd.cache import cache_root

    return cache_root() / "folders" / f"{hashlib.sha256(str(path).encode()).hexdigest()[:16]}.json"


def _all_extents(folder: ObjectFolder) -> list:
    """The visual meshes' extents, read once per mesh version (large scans take a while to parse)."""
    file = extents_file(folder.path)
    try:
        known = json.loads(file.read_text())
    except (OSError, ValueError):
        known = {}
    known = known if isinstance(known, dict) else {}
    fresh, out = {}, []
    for obj in folder.objects:
        stamp = list(_stat_key(obj.visual))
        entry = known.get(str(obj.visual))
        ok = isinstance(entry, list) and len(entry) == 3 and entry[:2] == stamp
        extents = tuple(float(e) for e in entry[2]) if ok else mesh_extents(obj.visual)
        fresh[str(obj.visual)] = [*stamp, list(extents)]
        out.append(extents)
    if fresh != known:
        try:  # written whole and renamed into place: concurrent processes never read half a file
            file.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(fd, "w") as f:
                    json.dump(fresh, f)
                os.replace(tmp, file)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        except OSError:  # a read-only cache only costs the next process the reading
            pass
    return out


_ASSETS: Dict[tuple, list] = {}


def load_folder(value: Union[str, os.PathLike]) -> list:
    """The folder's objects as :class:`~igd.sim.objects.ObjectAsset` s, in file-name order."""
    from igd.sim.objects import ObjectAsset

    folder = open_folder(value)
    key = (folder.path, _signature(folder.path))
    if key not in _ASSETS:
        _ASSETS.clear()  # one folder at a time is what a process uses
        _ASSETS[key] = [ObjectAsset(name=o.name, urdf=o.urdf, mesh=o.visual, mass=o.mass, extents=extents)
                        for o, extents in zip(folder.objects, _all_extents(folder))]
    return list(_ASSETS[key])


def folder_scaling(value: Union[str, os.PathLike]) -> float:
    """The references' extra ``globalScaling`` of the folder's set (:data:`REFERENCE_SCALING`)."""
    return open_folder(value).scaling


def folder_digest(value: Union[str, os.PathLike]) -> str:
    """SHA-256 (hex) over the folder's object files: per URDF in name order, its path and its mesh
    files' paths (relative to the folder) with the SHA-256 of each file's bytes. Files no URDF names
    do not count; renaming, adding, removing or editing an object does."""
    folder = open_folder(value)
    h = hashlib.sha256()
    for obj in folder.objects:
        for file in (obj.urdf, *obj.meshes):
            h.update(os.path.relpath(file, folder.path).replace(os.sep, "/").encode() + b"\0")
            h.update(_file_sha256(file, *_stat_key(file)).encode() + b"\n")
    return h.hexdigest()


def _stat_key(file: Path) -> tuple:
    st = file.stat()
    return st.st_size, st.st_mtime_ns


@functools.lru_cache(maxsize=4096)
def _file_sha256(file: Path, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(file, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
