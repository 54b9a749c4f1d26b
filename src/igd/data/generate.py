"""Self-supervised grasp data (docs/data.md, GIGA's protocol): scenes in parallel on Ray, resumable.

Layout of a raw root ``RAW`` (GIGA's, :mod:`igd.data.layout`, plus our bookkeeping)::

    RAW/setup.json  RAW/grasps.csv  RAW/scenes/<id>.npz  RAW/mesh_pose_list/<id>.npz
    RAW/.generate.json                 the run's settings (checked again on --resume)
    RAW/.parts/<index>_<id>.json       one file per finished scene: its rows and counts (the commit marker)
    RAW/stats.json                     scenes, skipped scenes, grasp points, positive rate, trials, speed

Scene ``index`` of a run with ``seed`` is a deterministic function of ``(settings, seed, index)``:
its id is a hash of (scene type, object set, seed, index) and every random choice comes from
``np.random.SeedSequence([seed, index])``, so scenes run in any order on any worker and a run gives
the same files whatever the number of workers. A scene lands in three atomic writes:
``scenes/<id>.npz`` and ``mesh_pose_list/<id>.npz`` first, then its part file. A scene without a
part file is redone; ``grasps.csv`` and ``stats.json`` are rebuilt from the part files (index
order) at the end of every run, so a kill at any moment neither loses nor duplicates a finished
scene.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import numbers
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Literal, Optional, Sequence, get_args

import numpy as np

from igd.configs import config_from_dict
from igd.data import layout
from igd.data.sampling import PROTOCOLS, TrialCounts, crop_to_valid_volume, make_labeller, sample_grasp_point
from igd.errors import IGDError
from igd.parallel import run_tasks

RUN_FILE = ".generate.json"
PARTS_DIR = ".parts"
STATS_FILE = "stats.json"
FORMAT = "igd-generate-v1"
OBJECT_COUNT_LAMBDA = 4  # objects per scene ~ Poisson(4) + 1 (docs/simulator.md, "Scenes")
SAMPLING_VIEWS = 6  # random views fused for the grasp-sampling cloud (docs/perception.md, "Camera views")
#: Settings that decide a run's files; a resume must match the stored run on each of them.
#: ``objects_sha256``: the digest of a folder of URDFs (None for our sets), so a changed folder is refused.
IDENTITY_FIELDS = ("format", "scene", "object_set", "objects_sha256", "seed", "grasps_per_scene", "protocol")

Scene = Literal["pile", "packed"]
Protocol = Literal["fast", "reference"]
assert set(get_args(Protocol)) == set(PROTOCOLS)


@dataclass
class GenerateConfig:
    """One ``igd generate`` run."""

    out: str
    """Raw root to write (GIGA layout, docs/data.md, "The raw root")."""
    scene: Scene = "pile"
    """Scene type: ``pile`` or ``packed`` (docs/simulator.md, "Scenes")."""
    scenes: int = 1
    """Scenes to generate (indices ``0 .. scenes-1``; a resume may extend a run)."""
    grasps_per_scene: int = 120
    """Grasp points sampled and labelled per scene (six yaw trials each)."""
    objects: str = "train"
    """Object split (``train``, joined to the scene: ``pile/train``), a full set name (``blocks``), or a
    downloaded folder of URDFs such as VGN's ``data/urdfs/pile/train`` (any value with a ``/`` that is
    not a set name; stored as an absolute path; docs/objects.md)."""
    seed: int = 0
    """Seed of the run: scene ``i`` is drawn from ``SeedSequence([seed, i])``."""
    protocol: Protocol = "fast"
    """Labelling protocol: ``fast`` (default) or ``reference`` (every yaw fully simulated)."""
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    """Parallel workers of a local Ray cluster; 1 runs serially in this process without Ray."""
    address: Optional[str] = None
    """Ray cluster address (``auto`` or ``host:port``); None starts a local cluster."""

    def __post_init__(self):
        if self.scene not in get_args(Scene):
            raise IGDError(f"scene: unknown scene type {self.scene!r}; expected one of {list(get_args(Scene))}")
        if self.protocol not in PROTOCOLS:
            raise IGDError(f"protocol: unknown value {self.protocol!r}; expected one of {list(PROTOCOLS)}")
        for name, minimum in (("scenes", 1), ("grasps_per_scene", 1), ("seed", 0), ("workers", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
                raise IGDError(f"{name}: expected an integer >= {minimum}, got {value!r}")
            setattr(self, name, int(value))
        self._check_objects()
        self.out = str(Path(self.out).expanduser().resolve())

    def _check_objects(self) -> None:
        """A set name must be known; a folder must hold readable URDFs whose meshes exist (it is then
        stored as its absolute path)."""
        from igd.sim.objects import object_folder, object_set_names

        if not isinstance(self.objects, str) or not self.objects:
            raise IGDError(f"objects: expected 'train', 'test', an object set name or a folder of URDFs, "
                           f"got {self.objects!r}")
        folder = object_folder(self.objects)
        if folder is not None:
            from igd.sim.folder import open_folder

            open_folder(folder)  # one line for a missing folder, a folder without URDFs, a broken URDF
            self.objects = folder
        elif self.object_set not in object_set_names():
            raise IGDError(f"objects: unknown object set '{self.object_set}' (from objects='{self.objects}', "
                           f"scene='{self.scene}'); expected one of {object_set_names()} or a folder of URDFs")

    @property
    def object_set(self) -> str:
        """``f"{scene}/{objects}"`` unless ``objects`` names a set or a folder (then its absolute path)."""
        if "/" in self.objects or self.objects == "blocks":
            return self.objects
        return f"{self.scene}/{self.objects}"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "GenerateConfig":
        """The config of :meth:`to_dict` or of a stored ``.generate.json`` (whose :meth:`identity` values
        that are not fields are left out); unknown keys are an error."""
        return config_from_dict(cls, d, derived=("format", "object_set", "objects_sha256"))

    @property
    def objects_sha256(self) -> Optional[str]:
        """Digest of the object folder's files (:func:`igd.sim.folder.folder_digest`); None for a set."""
        from igd.sim.objects import object_folder

        folder = object_folder(self.objects)
        if folder is None:
            return None
        from igd.sim.folder import folder_digest

        return folder_digest(folder)

    def identity(self) -> dict:
        """The values of :data:`IDENTITY_FIELDS` (what ``.generate.json`` is compared on at resume)."""
        d = {**self.to_dict(), "format": FORMAT, "object_set": self.object_set, "objects_sha256": self.objects_sha256}
        return {k: d[k] for k in IDENTITY_FIELDS}


# --------------------------------------------------------------------------------------------------
# one scene (docs/data.md, "One scene")
# --------------------------------------------------------------------------------------------------
def scene_seed_sequence(seed: int, index: int) -> np.random.SeedSequence:
    return np.random.SeedSequence([seed, index])


def scene_id(cfg: GenerateConfig, index: int) -> str:
    """32 hex characters (like GIGA's ``uuid4().hex``), a function of the scene type, the object set,
    the seed and the index only: the same scene has the same id in every run, and pile and packed
    (or two object sets) generated with the same seed never share an id."""
    key = f"{cfg.scene}/{cfg.object_set}/{cfg.seed}/{index}".encode()
    return hashlib.blake2b(key, digest_size=16).hexdigest()


def sampling_extrinsics(rng: np.random.Generator, n: int = SAMPLING_VIEWS) -> list:
    """``n`` random ``T_cam_world`` around ``(0.15, 0.15, 0)``: ``r ~ U[1.6, 2.4]·0.3``,
    ``θ ~ U[0, π/4]``, ``φ ~ U[0, 2π)`` (docs/perception.md, "Camera views")."""
    from igd.constants import SIZE
    from igd.perception.camera import spherical_extrinsic

    origin = np.array([SIZE / 2, SIZE / 2, 0.0])
    out = []
    for _ in range(n):
        r = rng.uniform(1.6, 2.4) * SIZE
        theta = rng.uniform(0.0, np.pi / 4.0)
        phi = rng.uniform(0.0, 2.0 * np.pi)
        out.append(spherical_extrinsic(origin, r, theta, phi))
    return out


@dataclass
class SceneResult:
    """What one scene produced. ``depth (1, H, W)``/``extrinsics (1, 7)``/``mesh_pose_list`` are
    None for a skipped scene (empty cloud); ``rows`` are ``grasps.csv`` rows."""

    index: int
    scene_id: str
    skipped: bool
    object_count: int  # drawn, Poisson(4) + 1
    objects: int  # in the scene once built (packed placement may fail, piles may lose objects)
    rows: List[tuple]
    counts: TrialCounts
    seconds: float
    depth: Optional[np.ndarray] = None
    extrinsics: Optional[np.ndarray] = None
    mesh_pose_list: Optional[list] = None

    def part(self) -> dict:
        """The part file's content (everything but the arrays)."""
        return {"format": FORMAT, "index": self.index, "scene_id": self.scene_id, "skipped": self.skipped,
                "object_count": self.object_count, "objects": self.objects, "rows": [list(r) for r in self.rows],
                "counts": dataclasses.asdict(self.counts), "seconds": self.seconds}


def build_scene(sim, rng: np.random.Generator):
    """Build a scene with ``Poisson(4) + 1`` objects and its sampling cloud.

    Returns ``(object_count, points (N, 3), normals (N, 3))``, the cloud cropped to the valid volume.
    """
    from igd.perception.camera import DEFAULT_INTRINSIC
    from igd.perception.tsdf import high_res_cloud

    object_count = int(rng.poisson(OBJECT_COUNT_LAMBDA)) + 1
    sim.reset(object_count, seed=int(rng.integers(2**31)))
    extrinsics = sampling_extrinsics(rng)
    depths = np.stack([sim.render(e) for e in extrinsics])
    points, normals = crop_to_valid_volume(*high_res_cloud(depths, DEFAULT_INTRINSIC, extrinsics))
    return object_count, points, normals


def side_view(sim):
    """The stored input view, noise-free: ``(depth (1, H, W) float32, extrinsics (1, 7) float32)``."""
    from igd.perception.camera import side_view_extrinsic

    extrinsic = side_view_extrinsic()
    return sim.render(extrinsic)[None].astype(np.float32), extrinsic.to_list()[None].astype(np.float32)


def stored_mesh_path(cfg: GenerateConfig) -> Callable:
    """How ``mesh_pose_list`` names an object's mesh: relative to the object catalogue for our sets
    (valid on any machine), the visual mesh's absolute path for a folder's objects (as GIGA's files
    do; ``resolve_mesh_path`` takes absolute paths as they are)."""
    from igd.sim.objects import object_folder, relative_mesh_path

    if object_folder(cfg.objects) is not None:
        return lambda asset: str(asset.mesh)
    return relative_mesh_path


def generate_scene(sim, cfg: GenerateConfig, index: int, labeller=None) -> SceneResult:
    """Scene ``index`` of the run, docs/data.md's "One scene" from start to end, in ``sim``."""
    start = time.perf_counter()
    sid = scene_id(cfg, index)
    rng = np.random.default_rng(scene_seed_sequence(cfg.seed, index))
    labeller = labeller or make_labeller(cfg.protocol)
    # build the scene, render the 6 sampling views, fuse the 120^3 cloud, crop it
    object_count, points, normals = build_scene(sim, rng)
    if len(points) == 0:  # nothing to grasp: skip the scene
        return SceneResult(index, sid, True, object_count, sim.num_objects, [], TrialCounts(),
                           time.perf_counter() - start)
    depth, extrinsics = side_view(sim)
    mesh_path = stored_mesh_path(cfg)
    mesh_pose_list = [(mesh_path(asset), scale, pose) for asset, scale, pose in sim.mesh_pose_list()]
    # save the state; sample and label the grasp points (steps 1-5)
    counts_before = dataclasses.replace(labeller.counts, causes=dict(labeller.counts.causes))
    labeller.begin(sim)
    try:
        rows = [labeller.label(*sample_grasp_point(points, normals, rng)).row(sid)
                for _ in range(cfg.grasps_per_scene)]
    finally:
        labeller.end()
    counts = _difference(labeller.counts, counts_before)
    return SceneResult(index, sid, False, object_count, len(mesh_pose_list), rows, counts,
                       time.perf_counter() - start, depth, extrinsics, mesh_pose_list)


def _difference(after: TrialCounts, before: TrialCounts) -> TrialCounts:
    causes = {k: v - before.causes.get(k, 0) for k, v in after.causes.items() if v - before.causes.get(k, 0)}
    return TrialCounts(after.trials - before.trials, after.simulated - before.simulated,
                       after.steps - before.steps, causes)


# --------------------------------------------------------------------------------------------------
# the raw root: files, parts, the stored settings
# --------------------------------------------------------------------------------------------------
def part_path(out: str | Path, index: int, sid: str) -> Path:
    return Path(out) / PARTS_DIR / f"{index:06d}_{sid}.json"


def write_scene(out: str | Path, result: SceneResult) -> None:
    """Land one scene: its npz files first, then its part file (the commit marker)."""
    out = Path(out)
    if not result.skipped:
        layout.write_sensor_data(out, result.scene_id, result.depth, result.extrinsics)
        layout.write_mesh_pose_list(out, result.scene_id, result.mesh_pose_list)
    layout.atomic_write_bytes(part_path(out, result.index, result.scene_id),
                              json.dumps(result.part(), separators=(",", ":")).encode())


def read_part(out: str | Path, cfg: GenerateConfig, index: int) -> tuple[Optional[dict], Optional[str]]:
    """The stored part of scene ``index`` or None, and why it is unusable (None if simply missing)."""
    out, sid = Path(out), scene_id(cfg, index)
    path = part_path(out, index, sid)
    if not path.exists():
        return None, None
    try:
        part = json.loads(path.read_text())
        ok = (part["format"] == FORMAT and part["index"] == index and part["scene_id"] == sid
              and isinstance(part["rows"], list) and all(len(r) == len(layout.GRASP_COLUMNS) for r in part["rows"]))
        TrialCounts(**part["counts"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        return None, f"{path} is corrupt ({type(e).__name__})"
    if not ok:
        return None, f"{path} does not describe scene {index} ({sid}) of this run"
    if not part["skipped"]:
        for folder in (layout.SCENES_DIR, layout.MESH_POSE_DIR):
            if not (out / folder / f"{sid}.npz").is_file():
                return None, f"{out / folder / f'{sid}.npz'} is missing"
    return part, None


def _stored_run(out: Path) -> Optional[dict]:
    path = out / RUN_FILE
    if not path.exists():
        return None
    try:
        stored = json.loads(path.read_text())
        if not isinstance(stored, dict):
            raise ValueError("not an object")
    except (OSError, ValueError) as e:
        raise IGDError(f"{path}: cannot read the stored settings ({e}); choose another --out") from e
    return stored


def prepare_out(cfg: GenerateConfig, resume: bool) -> None:
    """Create the raw root, or check it for a resume (settings, ``setup.json``); write the settings."""
    out = Path(cfg.out)
    if out.exists() and not out.is_dir():
        raise IGDError(f"--out {out} is a file; expected a folder")
    stored = _stored_run(out) if out.exists() else None
    if out.exists() and any(out.iterdir()):
        if not resume:
            raise IGDError(f"{out} is not empty; pass --resume to continue a run or choose another --out")
        if stored is None:
            raise IGDError(f"cannot resume {out}: it has no {RUN_FILE}, so it was not written by 'igd generate'")
        layout.check_setup(out)
        current = cfg.identity()
        diffs = [f"{k}: {stored.get(k)!r} (stored) != {current[k]!r} (now)" for k in IDENTITY_FIELDS
                 if stored.get(k) != current[k]]
        if diffs:
            raise IGDError(f"cannot resume {out}: it was generated with other settings ({'; '.join(diffs)}); "
                           "use the stored settings or choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    if not (out / layout.SETUP_FILE).exists():
        layout.write_setup(out)
    for folder in (out / PARTS_DIR, out / layout.SCENES_DIR, out / layout.MESH_POSE_DIR):
        folder.mkdir(exist_ok=True)
        for stale in folder.glob(".*.tmp"):  # half-written files of a killed run
            stale.unlink(missing_ok=True)
        for stale in folder.glob(".*.npz"):
            stale.unlink(missing_ok=True)
    layout.atomic_write_bytes(out / RUN_FILE, json.dumps({**cfg.to_dict(), **cfg.identity()}, indent=1).encode())


# --------------------------------------------------------------------------------------------------
# one simulator per worker process
# --------------------------------------------------------------------------------------------------
_CONTEXT: Dict[str, object] = {"key": None, "sim": None}


def worker_sim(cfg: GenerateConfig):
    """This process's simulator for ``cfg``'s scene type and object set, built once and kept."""
    key = (cfg.scene, cfg.object_set)
    if _CONTEXT["key"] != key:
        close_worker_sim()
        from igd.sim.simulation import ClutterRemovalSim

        _CONTEXT.update(key=key, sim=ClutterRemovalSim(cfg.scene, cfg.object_set, gui=False))
    return _CONTEXT["sim"]


def close_worker_sim() -> None:
    from igd.sim.probe import close_probe_world

    sim = _CONTEXT["sim"]
    _CONTEXT.update(key=None, sim=None)
    if sim is not None:
        sim.close()
    close_probe_world()


def scene_task(cfg_dict: dict, index: int) -> SceneResult:
    """One scene in this process: the body of a Ray task and of the serial loop alike."""
    cfg = GenerateConfig.from_dict(cfg_dict)
    return generate_scene(worker_sim(cfg), cfg, index)


def run_scenes(cfg: GenerateConfig, todo: Sequence[int], on_result: Callable[[SceneResult], None]) -> None:
    """Generate the ``todo`` scenes, in this process (its simulator closed after) or as Ray tasks; each
    result is handed over as soon as it is ready."""
    run_tasks(scene_task, cfg.to_dict(), [(index,) for index in todo], on_result,
              workers=cfg.workers, address=cfg.address, describe=lambda key: f"scene {key[0]}",
              close=close_worker_sim)


# --------------------------------------------------------------------------------------------------
# the whole run
# --------------------------------------------------------------------------------------------------
def summarise(parts: Sequence[dict], wall_time: float, new_trials: int) -> dict:
    """``stats.json``: totals over the parts; speeds of this invocation (``new_trials`` in ``wall_time``)."""
    counts = TrialCounts()
    for part in parts:
        counts.add(TrialCounts(**part["counts"]))
    points = sum(len(p["rows"]) for p in parts)
    positives = sum(int(r[-1]) for p in parts for r in p["rows"])
    worker_seconds = sum(float(p["seconds"]) for p in parts)
    return {"scenes": sum(not p["skipped"] for p in parts), "skipped_scenes": sum(bool(p["skipped"]) for p in parts),
            "objects_drawn": sum(int(p["object_count"]) for p in parts),
            "objects": sum(int(p.get("objects", 0)) for p in parts if not p["skipped"]),
            "grasp_points": points, "positives": positives,
            "positive_rate": positives / points if points else None,
            "trials": counts.trials, "simulated_trials": counts.simulated, "physics_steps": counts.steps,
            "causes": dict(sorted(counts.causes.items())),
            "wall_time": wall_time, "trials_per_second": new_trials / wall_time if wall_time > 0 else None,
            "worker_seconds": worker_seconds,
            "points_per_worker_second": points / worker_seconds if worker_seconds > 0 else None}


def finish(cfg: GenerateConfig, parts: Sequence[dict], wall_time: float, new_trials: int) -> dict:
    """Write ``grasps.csv`` (the parts' rows, index order) and ``stats.json``; returns the stats."""
    out = Path(cfg.out)
    parts = sorted(parts, key=lambda p: p["index"])
    layout.write_grasps(out, [tuple(r) for p in parts for r in p["rows"]])
    stats = {**summarise(parts, wall_time, new_trials), "seed": cfg.seed, "scene": cfg.scene,
             "object_set": cfg.object_set, "objects_sha256": cfg.objects_sha256, "protocol": cfg.protocol,
             "grasps_per_scene": cfg.grasps_per_scene}
    layout.atomic_write_bytes(out / STATS_FILE, json.dumps(stats, indent=1).encode())
    return stats


def format_stats(stats: dict) -> str:
    """The end-of-run summary, one line per number."""
    rate = stats["positive_rate"]
    tps = stats["trials_per_second"]
    return "\n".join([
        f"scenes            {stats['scenes']} (+{stats['skipped_scenes']} skipped: empty cloud)",
        f"grasp points      {stats['grasp_points']}",
        f"positive rate     {'-' if rate is None else f'{100 * rate:.1f}%'} ({stats['positives']} positives)",
        f"trials            {stats['trials']} ({stats['simulated_trials']} simulated, protocol {stats['protocol']})",
        f"trials per second {'-' if tps is None else f'{tps:.1f}'} (this run)",
        f"wall time         {stats['wall_time']:.1f} s (this run)"])


def _progress(cfg: GenerateConfig, done: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=cfg.scenes, initial=done, unit="scene", desc=f"generate {cfg.scene}", disable=not enabled,
                dynamic_ncols=True, file=sys.stderr)


def collect_parts(cfg: GenerateConfig, warn: Callable[[str], None]) -> Dict[int, dict]:
    """The usable parts of scenes ``0 .. scenes-1``; an unusable one is reported and will be redone."""
    parts = {}
    for index in range(cfg.scenes):
        part, problem = read_part(cfg.out, cfg, index)
        if part is not None:
            parts[index] = part
        elif problem is not None:
            warn(f"redoing scene {index}: {problem}")
    return parts


def run_generate(cfg: GenerateConfig, progress: bool = True, resume: bool = False,
                 warn: Callable[[str], None] = lambda m: print(f"igd: note: {m}", file=sys.stderr)) -> dict:
    """Generate every scene of ``cfg`` not yet in ``cfg.out``, then rebuild ``grasps.csv`` and
    ``stats.json``; returns the stats. ``resume=False`` refuses a non-empty ``out``."""
    from igd.sim.objects import load_object_set

    start = time.perf_counter()
    load_object_set(cfg.object_set)  # build missing objects here, so workers never race to build them
    prepare_out(cfg, resume)
    parts = collect_parts(cfg, warn)
    todo = [i for i in range(cfg.scenes) if i not in parts]
    bar = _progress(cfg, len(parts), progress)
    new = {"trials": 0, "points": 0, "positives": 0}

    def on_result(result: SceneResult) -> None:
        write_scene(cfg.out, result)
        parts[result.index] = result.part()
        new["trials"] += result.counts.trials
        new["points"] += len(result.rows)
        new["positives"] += sum(int(r[-1]) for r in result.rows)
        rate = new["positives"] / new["points"] if new["points"] else 0.0
        bar.set_postfix_str(f"positives {100 * rate:.1f}% trials/s {new['trials'] / (time.perf_counter() - start):.0f}",
                            refresh=False)
        bar.update(1)

    try:
        run_scenes(cfg, todo, on_result)
    finally:
        bar.close()
    return finish(cfg, [parts[i] for i in range(cfg.scenes)], time.perf_counter() - start, new["trials"])
