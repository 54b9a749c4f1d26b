"""``igd process``: a raw root (GIGA layout) → a processed root the datasets train on (docs/data.md,
"Processing and datasets").

Steps:

1. **clean/balance** (GIGA's ``clean_balance_data.py``): drop rows whose position is outside
   ``[0.02, 0.28]³``; drop random negatives (seeded) until negatives = positives (nothing is
   dropped if there are fewer negatives than positives); scenes no row refers to are left out.
2. **grid**: each scene's stored view(s), with the chosen depth noise (a generator seeded from
   ``(seed, scene_id)``), fused into the ``(1, 40, 40, 40)`` network grid → ``scenes/<id>.npz``.
3. **occupancy** (:mod:`igd.data.occupancy`) → ``occ/<id>/NNNN.npz``.
4. **split by scene**: ``splits.json`` ``{train: [...], val: [...]}``, shuffled from the seed.

Every scene is a deterministic function of ``(settings, scene_id)``, so scenes run in any order on
any worker (in this process with ``workers=1``, else as Ray tasks) with identical files. A scene's
occupancy folder is renamed into place first and its grid file last, so "the grid exists" means
"the scene is done"; a killed run keeps its finished scenes and ``resume=True`` does the rest.
``grasps.csv``, ``setup.json`` and ``splits.json`` are written when every scene is done.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from igd.configs import config_from_dict
from igd.data import layout
from igd.errors import IGDError
from igd.parallel import run_tasks

__all__ = ["ProcessConfig", "PROCESS_FILE", "BALANCE_LOWER", "BALANCE_UPPER", "balance_masks", "clean_and_balance",
           "split_scenes", "scene_rng", "fuse_grid", "process_scene", "process_dataset", "format_summary"]

PROCESS_FILE = "process.json"  # the settings of a processed root (checked on --resume) and its summary
# positions kept by clean/balance, every axis (docs/data.md, "Processing and datasets")
BALANCE_LOWER, BALANCE_UPPER = 0.02, 0.28
RESULT_FIELDS = ("noise", "seed", "occ_points", "occ_files", "val_fraction")  # settings that change files
_NOISE_STREAM, _OCC_STREAM = 0, 1


@dataclass
class ProcessConfig:
    """Settings of ``igd process``."""

    raw: str  #: the raw root (setup.json, grasps.csv, scenes/, mesh_pose_list/)
    out: str  #: the processed root to write
    noise: str = "dex"  #: depth noise model applied before fusion (igd.perception.noise)
    seed: int = 0  #: seeds balancing, noise, occupancy points and the split
    occ_points: int = 100_000  #: occupancy points per scene (0: no occupancy)
    occ_files: int = 10  #: files the occupancy points of a scene are split into
    val_fraction: float = 0.1  #: fraction of scenes in the validation split
    workers: int = 1  #: parallel workers of a local Ray cluster; 1 runs in this process
    address: Optional[str] = None  #: a running Ray cluster ('auto' or host:port)

    def __post_init__(self):
        from igd.perception.noise import NOISE_MODELS

        if self.noise not in NOISE_MODELS:
            raise IGDError(f"noise must be one of {', '.join(NOISE_MODELS)}, got '{self.noise}'")
        if self.occ_points < 0:
            raise IGDError(f"occ_points must be >= 0 (0: no occupancy), got {self.occ_points}")
        if self.occ_points and not 1 <= self.occ_files <= self.occ_points:
            raise IGDError(f"occ_files must be in [1, occ_points = {self.occ_points}], got {self.occ_files}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise IGDError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if self.workers < 1:
            raise IGDError(f"workers must be >= 1, got {self.workers}")
        if Path(self.raw).resolve() == Path(self.out).resolve():
            raise IGDError(f"the processed root must differ from the raw root {self.raw}: its grasps.csv would be overwritten")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ProcessConfig":
        """The config of :meth:`to_dict` (``process.json``'s ``config``); unknown keys are an error."""
        return config_from_dict(cls, d)


# --------------------------------------------------------------------------------------------------
# rows and scenes
# --------------------------------------------------------------------------------------------------
def balance_masks(grasps: np.ndarray, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    """GIGA's clean/balance as masks over ``grasps`` (structured, metres): ``(inside (N,), keep (N,))``;
    the kept rows are ``inside & keep``, the negatives balancing dropped ``inside & ~keep``."""
    pos = np.stack([grasps["x"], grasps["y"], grasps["z"]], axis=1)
    inside = np.all((pos >= BALANCE_LOWER) & (pos <= BALANCE_UPPER), axis=1)
    rows = np.flatnonzero(inside)
    positives = rows[grasps["label"][rows] == 1]
    negatives = np.flatnonzero(grasps["label"][rows] == 0)
    n_drop = max(0, len(negatives) - len(positives))
    drop = rng.choice(negatives, size=n_drop, replace=False) if n_drop else np.zeros(0, np.int64)
    keep = np.ones(len(grasps), bool)
    keep[rows[drop]] = False
    return inside, keep


def clean_and_balance(grasps: np.ndarray, rng: np.random.Generator) -> Tuple[np.ndarray, dict]:
    """GIGA's clean/balance of ``grasps`` (structured, metres) → ``(kept rows in file order, counts)``."""
    inside, keep = balance_masks(grasps, rng)
    kept = inside & keep
    positives = int((grasps["label"][inside] == 1).sum())
    negatives = int((grasps["label"][inside] == 0).sum())
    n_drop = int((inside & ~keep).sum())
    counts = {"rows_raw": int(len(grasps)), "rows_outside": int((~inside).sum()), "negatives_dropped": n_drop,
              "rows": int(kept.sum()), "positives": positives, "negatives": negatives - n_drop}
    return grasps[kept], counts


def split_scenes(scene_ids: Sequence[str], val_fraction: float, seed: int) -> Tuple[List[str], List[str]]:
    """Scenes → ``(train, val)``, each sorted; ``round(n · val_fraction)`` validation scenes (at least
    one when ``val_fraction > 0`` and there are two scenes or more), shuffled from ``seed``."""
    ids = sorted(set(map(str, scene_ids)))
    n_val = int(round(len(ids) * val_fraction))
    if val_fraction > 0 and len(ids) >= 2:
        n_val = min(max(n_val, 1), len(ids) - 1)
    order = np.random.default_rng(seed).permutation(len(ids))
    val = {ids[i] for i in order[:n_val]}
    return [s for s in ids if s not in val], [s for s in ids if s in val]


def scene_rng(seed: int, scene_id: str, stream: int) -> np.random.Generator:
    """A generator that depends only on ``(seed, scene_id, stream)``, never on the worker or order."""
    digest = int.from_bytes(hashlib.sha256(str(scene_id).encode()).digest()[:8], "little")
    return np.random.default_rng(np.random.SeedSequence([int(seed), digest, stream]))


# --------------------------------------------------------------------------------------------------
# one scene
# --------------------------------------------------------------------------------------------------
def fuse_grid(depth_imgs: np.ndarray, extrinsics: np.ndarray, noise: str, rng: np.random.Generator,
              intrinsic) -> np.ndarray:
    """``depth_imgs (n, H, W)`` seen from ``extrinsics (n, 7)`` (T_cam_world ``[q, t]``), each with
    ``noise`` from ``rng`` in order, fused → grid ``(1, 40, 40, 40)`` float32: the benchmark's and the
    API's path (:func:`igd.perception.observe.observe_depth`, docs/perception.md), without the cloud."""
    from igd.geometry import Transform
    from igd.perception.observe import observe_depth

    views = [Transform.from_list(e) for e in extrinsics]
    return observe_depth(depth_imgs, intrinsic, views, noise=noise, rng=rng, cloud=False, check=False).grid


def _scene_grid(cfg: ProcessConfig, scene_id: str, intrinsic) -> np.ndarray:
    depth, extrinsics = layout.read_sensor_data(cfg.raw, scene_id, intrinsic)
    try:
        return fuse_grid(depth, extrinsics, cfg.noise, scene_rng(cfg.seed, scene_id, _NOISE_STREAM), intrinsic)
    except (IGDError, ValueError) as e:
        raise IGDError(f"{Path(cfg.raw) / layout.SCENES_DIR / f'{scene_id}.npz'}: {e}") from e


def _scene_occupancy(cfg: ProcessConfig, scene_id: str) -> float:
    """Sample, label and write the scene's occupancy; returns the occupied fraction."""
    from igd.data.occupancy import sample_occupancy, scene_meshes, write_occupancy

    source = Path(cfg.raw) / layout.MESH_POSE_DIR / f"{scene_id}.npz"
    meshes = scene_meshes(layout.read_mesh_pose_list(cfg.raw, scene_id), source)
    points, occ = sample_occupancy(meshes, cfg.occ_points, scene_rng(cfg.seed, scene_id, _OCC_STREAM))
    write_occupancy(cfg.out, scene_id, points, occ, cfg.occ_files)
    return float(occ.mean())


def scene_done(cfg: ProcessConfig, scene_id: str) -> bool:
    """The grid file is written last: it marks a finished scene."""
    return layout.grid_path(cfg.out, scene_id).is_file()


def process_scene(cfg_dict: dict, scene_id: str) -> dict:
    """One scene: occupancy (if any), then the grid. The body of a Ray task and of the serial loop."""
    from igd.perception.camera import DEFAULT_INTRINSIC

    start = time.perf_counter()
    cfg = ProcessConfig.from_dict(cfg_dict)
    occupied = _scene_occupancy(cfg, scene_id) if cfg.occ_points else None
    grid = _scene_grid(cfg, scene_id, DEFAULT_INTRINSIC)
    layout.write_grid(cfg.out, scene_id, grid)
    return {"scene_id": scene_id, "occupied": occupied, "seconds": time.perf_counter() - start}


# --------------------------------------------------------------------------------------------------
# executors
# --------------------------------------------------------------------------------------------------
def run_scenes(cfg: ProcessConfig, todo: Sequence[str], on_result: Callable[[dict], None]) -> None:
    """Process the ``todo`` scenes, in this process or as Ray tasks; each result handed over as it is ready."""
    run_tasks(process_scene, cfg.to_dict(), [(scene_id,) for scene_id in todo], on_result,
              workers=cfg.workers, address=cfg.address, describe=lambda key: f"scene {key[0]}")


# --------------------------------------------------------------------------------------------------
# the whole run
# --------------------------------------------------------------------------------------------------
def prepare_out(cfg: ProcessConfig, resume: bool) -> None:
    """Create ``cfg.out`` (or check its stored settings on resume) and write ``process.json``."""
    out = Path(cfg.out)
    if out.exists() and not out.is_dir():
        raise IGDError(f"{out} is a file; expected a folder for the processed root")
    path = out / PROCESS_FILE
    has_results = path.exists() or any((out / layout.SCENES_DIR).glob("*.npz"))
    if has_results and not resume:
        raise IGDError(f"{out} already holds a processed root; pass --resume to continue it or choose another folder")
    if path.exists():
        try:
            stored = json.loads(path.read_text())["config"]
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise IGDError(f"{path}: cannot read the stored settings ({e}); choose another folder") from e
        diffs = [f"{k}: {stored.get(k)!r} (stored) != {getattr(cfg, k)!r} (now)"
                 for k in RESULT_FIELDS if stored.get(k) != getattr(cfg, k)]
        if diffs:
            raise IGDError(f"cannot resume {out}: it was processed with other settings ({'; '.join(diffs)})")
    for stale in (out / layout.OCC_DIR).glob(".tmp-*"):  # half-written occupancy of a killed run
        shutil.rmtree(stale, ignore_errors=True)
    layout.atomic_write_bytes(path, json.dumps({"config": cfg.to_dict()}, indent=1).encode())


def _read_raw(cfg: ProcessConfig) -> Tuple[np.ndarray, dict]:
    """Check the raw root and clean/balance its rows; every scene they refer to must have its files."""
    layout.check_setup(cfg.raw)
    grasps = layout.check_grasps(layout.read_grasps(cfg.raw), Path(cfg.raw) / layout.GRASPS_FILE)
    rows, counts = clean_and_balance(grasps, np.random.default_rng(cfg.seed))
    if counts["positives"] == 0:
        raise IGDError(f"{Path(cfg.raw) / layout.GRASPS_FILE}: no positive grasp inside [{BALANCE_LOWER}, "
                       f"{BALANCE_UPPER}]^3 ({counts['rows_raw']} rows); training would learn nothing")
    for scene_id in sorted(set(rows["scene_id"])):
        needed = [Path(cfg.raw) / layout.SCENES_DIR / f"{scene_id}.npz"]
        if cfg.occ_points:
            needed.append(Path(cfg.raw) / layout.MESH_POSE_DIR / f"{scene_id}.npz")
        for path in needed:
            if not path.is_file():
                raise IGDError(f"{path}: missing, but {layout.GRASPS_FILE} has rows of scene {scene_id}")
    return rows, counts


def _progress(total: int, done: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=done, unit="scene", desc="processing", disable=not enabled,
                dynamic_ncols=True, file=sys.stderr)


def _finish(cfg: ProcessConfig, rows: np.ndarray, counts: dict, results: Dict[str, dict], seconds: float) -> dict:
    """Write grasps.csv, setup.json, splits.json and the summary in process.json."""
    out = Path(cfg.out)
    scenes = sorted(set(rows["scene_id"]))
    train, val = split_scenes(scenes, cfg.val_fraction, cfg.seed)
    layout.write_grasps(out, (tuple(r) for r in rows))
    layout.atomic_write_bytes(out / layout.SETUP_FILE, (Path(cfg.raw) / layout.SETUP_FILE).read_bytes())
    layout.write_splits(out, train, val)
    occupied = [r["occupied"] for r in results.values() if r.get("occupied") is not None]
    summary = {**counts, "scenes": len(scenes), "train_scenes": len(train), "val_scenes": len(val),
               "positive_rate": counts["positives"] / max(counts["rows"], 1),
               "occupied_fraction": float(np.mean(occupied)) if occupied else None,
               "seconds": round(seconds, 2)}
    text = json.dumps({"config": cfg.to_dict(), "summary": summary}, indent=1)
    layout.atomic_write_bytes(out / PROCESS_FILE, text.encode())
    return summary


def process_dataset(cfg: ProcessConfig, progress: bool = True, resume: bool = False) -> dict:
    """Process ``cfg.raw`` into ``cfg.out``; returns the summary (also stored in ``process.json``).

    ``resume=True`` keeps every finished scene of an earlier run with the same settings.
    """
    start = time.perf_counter()
    rows, counts = _read_raw(cfg)  # fail on bad input before anything is written
    prepare_out(cfg, resume)
    scenes = sorted(set(rows["scene_id"]))
    todo = [s for s in scenes if not scene_done(cfg, s)]
    results: Dict[str, dict] = {}
    bar = _progress(len(scenes), len(scenes) - len(todo), progress)

    def on_result(result: dict) -> None:
        results[result["scene_id"]] = result
        bar.update(1)

    try:
        run_scenes(cfg, todo, on_result)
    finally:
        bar.close()
    return _finish(cfg, rows, counts, results, time.perf_counter() - start)


def format_summary(summary: dict) -> str:
    """A few lines for the terminal."""
    occ = summary["occupied_fraction"]
    return "\n".join([
        f"scenes: {summary['scenes']} ({summary['train_scenes']} train, {summary['val_scenes']} val)",
        (f"grasps: {summary['rows']} of {summary['rows_raw']} raw rows ({summary['positives']} positive, "
         f"{summary['negatives']} negative; {summary['rows_outside']} outside the volume, "
         f"{summary['negatives_dropped']} negatives dropped to balance)"),
        f"occupied fraction of the occupancy points: {'-' if occ is None else f'{occ:.3f}'} (this run's scenes)",
        f"time: {summary['seconds']:.1f} s",
    ])
