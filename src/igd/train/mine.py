"""``igd mine``: label the grasps a trained planner would execute on its own training scenes.

The self-supervised data labels grasps at points sampled near the surfaces; the benchmark executes
the planner's arg-max over the whole volume, and a planner trained on the former can rank first a
voxel where no labelled point ever was (the failure ``igd evaluate`` finds: grasps that close on
nothing, a few centimetres out along the approach). Mining closes that loop the way the data
generation labels any grasp: the planner plans on each training scene's stored grid (the processed
root's, with its depth noise), and its ``per_scene`` best grasps (after its own post-processing:
threshold, non-maximum suppression, ranking) are labelled in the scene rebuilt from its
``mesh_pose_list``, at the planner's own orientation, by one of two protocols:

- ``bench`` (default): executed as the benchmark executes a grasp (:meth:`ClutterRemovalSim.execute_grasp`
  with ``allow_contact=True``: an approach that touches something stops there and closes), from the
  rebuilt scene each time; the label is what the benchmark would score.
- ``fast``: the data generation's fast labeller (:class:`igd.data.sampling.FastLabeller`: the
  geometric checks, then the shortened trial), where any contact on the approach is a failure, as in
  the stored labels. On the first 40 grasps GIGA would execute on ten packed training scenes it
  called 28 failures, 25 of them collisions, of which the benchmark's execution turned 11 into
  successes: the two protocols disagree exactly where the planner's grasps lie.

A failure is a hard negative at exactly the place and orientation the planner would choose; a
success is a positive there. ``igd train --mined NAME --mined-rows M`` adds M of a scene's
mined rows to every item of that scene (:class:`igd.data.datasets.SceneBatchedGraspDataset`).

Only training scenes are mined by default (``split="train"``): the validation split stays what the
planner never learned from, so validation losses and ``igd evaluate`` remain honest.

==============================  ====================================================================
file (processed root)           what
==============================  ====================================================================
``mined/NAME/mine.json``        the settings (checked on ``--resume``) and, when done, a summary
``mined/NAME/parts/<id>.csv``   one scene's rows (``grasps.csv`` columns, no header), landed
                                atomically as each scene finishes: a killed run keeps them
``mined/NAME/grasps.csv``       every scene's rows, written once all are done (what training reads)
==============================  ====================================================================

Rows: ``scene_id, qx, qy, qz, qw, x, y, z, width, label`` (metres, world frame), the planner's TCP
pose; width the measured opening of a success, 0.08 for a failure (as the generation stores them).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from igd.errors import IGDError

__all__ = ["MineConfig", "format_summary", "mined_folder", "run_mine"]

MINE_FILE = "mine.json"
PARTS_DIR = "parts"
SPLITS = ("train", "val", "all")
#: Settings that change the rows; a resumed run must keep them.
RESULT_FIELDS = ("checkpoint", "raw", "split", "per_scene", "protocol", "scenes", "seed", "overrides")
PROTOCOLS = ("bench", "fast")


@dataclass
class MineConfig:
    """One ``igd mine`` run."""

    checkpoint: str
    """Released name or checkpoint path of the planner whose grasps are labelled."""
    data: str
    """Processed root: the grids the planner plans on and where ``mined/NAME/`` is written."""
    name: str = "mined"
    """The mined set's folder name under ``PROCESSED/mined/``."""
    raw: Optional[str] = None
    """Raw root with the scenes' ``mesh_pose_list``; default: the one ``process.json`` names."""
    split: str = "train"
    """Scenes to mine: the processed root's ``train`` split (default), ``val`` or ``all``."""
    per_scene: int = 16
    """The planner's best grasps labelled per scene (fewer when it proposes fewer)."""
    protocol: str = "bench"
    """How a grasp is labelled: ``bench`` (the benchmark's execution) or ``fast`` (the data's labeller)."""
    scenes: Optional[int] = None
    """At most this many scenes of the split (in the split's order); None: all."""
    seed: int = 0
    """Seed of the planner's own random choices (IGD's sampling), per scene ``seed + index``."""
    workers: int = 1
    """Parallel processes (Ray when > 1)."""
    address: Optional[str] = None
    """A running Ray cluster to use instead of a local one."""
    overrides: Dict[str, object] = field(default_factory=dict)
    """Planner config fields, e.g. ``{"threshold": 0.3}``."""

    def __post_init__(self):
        if self.split not in SPLITS:
            raise IGDError(f"split: expected one of {list(SPLITS)}, got {self.split!r}")
        if self.protocol not in PROTOCOLS:
            raise IGDError(f"protocol: expected one of {list(PROTOCOLS)}, got {self.protocol!r}")
        for name, lo in (("per_scene", 1), ("workers", 1), ("seed", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < lo:
                raise IGDError(f"{name}: expected an integer >= {lo}, got {value!r}")
        if self.scenes is not None and (isinstance(self.scenes, bool) or not isinstance(self.scenes, int)
                                        or self.scenes < 1):
            raise IGDError(f"scenes: expected None or an integer >= 1, got {self.scenes!r}")
        if not self.name or "/" in self.name or self.name.startswith("."):
            raise IGDError(f"name: expected a plain folder name, got {self.name!r}")
        if not isinstance(self.overrides, dict):
            raise IGDError(f"overrides: expected a dict of planner config fields, got {self.overrides!r}")

    def to_dict(self) -> dict:
        return asdict(self)


def mined_folder(data, name: str) -> Path:
    """``PROCESSED/mined/NAME``."""
    from igd.data.layout import MINED_DIR

    return Path(data) / MINED_DIR / name


# --------------------------------------------------------------------------------------------------
# one scene (in this process or a Ray worker)
# --------------------------------------------------------------------------------------------------
_WORKER: dict = {}


def _worker(cfg: MineConfig):
    """This process's planner, simulator and labeller, made once per checkpoint."""
    key = (cfg.checkpoint, json.dumps(cfg.overrides, sort_keys=True, default=str))
    if _WORKER.get("key") != key:
        from igd.api import load
        from igd.data.sampling import FastLabeller
        from igd.sim.simulation import ClutterRemovalSim

        close_worker()
        _WORKER.update(key=key, planner=load(cfg.checkpoint, **cfg.overrides).planner,
                       sim=ClutterRemovalSim("packed", object_set=None), labeller=FastLabeller())
    return _WORKER["planner"], _WORKER["sim"], _WORKER["labeller"]


def close_worker() -> None:
    sim = _WORKER.pop("sim", None)
    if sim is not None:
        sim.close()
    _WORKER.clear()


def mine_scene(cfg_dict: dict, index: int, scene_id: str) -> dict:
    """Plan on scene ``scene_id``'s grid and label the ``per_scene`` best grasps; returns its rows."""
    from igd.bench.clutter_removal import seed_planner
    from igd.constants import MAX_OPENING
    from igd.data import layout
    from igd.eval.evaluate import raw_root_of, urdf_of_mesh
    from igd.planners.base import Observation

    cfg = MineConfig(**cfg_dict)
    tic = time.perf_counter()
    planner, sim, labeller = _worker(cfg)
    data = Path(cfg.data)
    grid = layout.read_grid(data, scene_id).astype(np.float32)
    seed_planner(planner, cfg.seed + index)
    grasps = planner.plan(Observation(grid))
    n = min(cfg.per_scene, len(grasps))
    poses = [grasps.pose(i) for i in range(n)]
    rows, causes = [], Counter()
    if poses:
        raw = raw_root_of(cfg.data, cfg.raw)
        items = [(urdf_of_mesh(mesh), scale, pose) for mesh, scale, pose in layout.read_mesh_pose_list(raw, scene_id)]
        sim.replay(items)
        if cfg.protocol == "fast":
            labeller.begin(sim)
            try:
                outcomes = labeller.trials(poses)
            finally:
                labeller.end()
        else:
            state = sim.save_state()
            outcomes = []
            for i, pose in enumerate(poses):
                sim.restore_state(state)
                outcomes.append(sim.execute_grasp(pose, float(grasps.widths[i]), remove=False, allow_contact=True))
            sim.world.remove_state(state)
        for pose, outcome in zip(poses, outcomes):
            width = float(outcome.width) if outcome.label else MAX_OPENING
            rows.append((scene_id, *map(float, pose.rotation.as_quat()), *map(float, pose.translation), width,
                         int(bool(outcome.label))))
            causes[outcome.cause] += 1
    return {"scene_id": scene_id, "rows": rows, "proposed": len(grasps), "causes": dict(causes),
            "seconds": time.perf_counter() - tic}


# --------------------------------------------------------------------------------------------------
# the run
# --------------------------------------------------------------------------------------------------
def _scene_ids(cfg: MineConfig) -> List[str]:
    from igd.data import layout

    data = Path(cfg.data)
    if not (data / layout.SCENES_DIR).is_dir():
        raise IGDError(f"{data}: not a processed root (no scenes/ folder); make one with 'igd process'")
    splits = layout.read_splits(data)
    if cfg.split == "all":
        ids = sorted(p.stem for p in (data / layout.SCENES_DIR).glob("*.npz"))
    elif splits is None:
        raise IGDError(f"{data}: has no splits.json, so there is no '{cfg.split}' split; use --split all")
    else:
        ids = list(splits[cfg.split])
    if not ids:
        raise IGDError(f"{data}: the '{cfg.split}' split has no scenes")
    return ids if cfg.scenes is None else ids[: cfg.scenes]


def _identity(cfg: MineConfig) -> dict:
    return {k: getattr(cfg, k) for k in RESULT_FIELDS}


def _prepare(cfg: MineConfig, resume: bool) -> Path:
    from igd.data import layout

    folder = mined_folder(cfg.data, cfg.name)
    info = folder / MINE_FILE
    if info.exists():
        if not resume:
            raise IGDError(f"{folder}: already holds a mined set; pass --resume to continue it or choose another --name")
        try:
            stored = json.loads(info.read_text())["config"]
        except (OSError, KeyError, TypeError, json.JSONDecodeError) as e:
            raise IGDError(f"{info}: unreadable ({type(e).__name__}); remove {folder} to start again") from e
        theirs = {k: stored.get(k) for k in RESULT_FIELDS}
        if theirs != _identity(cfg):
            changed = [k for k in RESULT_FIELDS if theirs[k] != getattr(cfg, k)]
            raise IGDError(f"--resume: {folder} was mined with other settings ({', '.join(changed)}); "
                           "use the same ones or another --name")
    (folder / PARTS_DIR).mkdir(parents=True, exist_ok=True)
    if not info.exists():
        layout.atomic_write_bytes(info, json.dumps({"config": cfg.to_dict()}, indent=1).encode())
    return folder


def _read_part(path: Path, scene_id: str) -> Optional[list]:
    """A landed part's rows, or None when it is unreadable (then the scene is mined again)."""
    try:
        rows = []
        for line in path.read_text().splitlines():
            sid, *vals, label = line.split(",")
            if sid != scene_id or len(vals) != 8:
                return None
            rows.append((sid, *map(float, vals), int(label)))
        return rows
    except (OSError, ValueError):
        return None


def run_mine(cfg: MineConfig, resume: bool = False, progress: bool = True) -> dict:
    """Mine every scene of ``cfg`` (those landed before are kept on ``resume``); returns the summary."""
    from igd.data import layout
    from igd.eval.evaluate import raw_root_of
    from igd.parallel import run_tasks
    from igd.released import resolve

    ids = _scene_ids(cfg)
    raw_root_of(cfg.data, cfg.raw)  # fail now if the raw root is not here
    resolve(cfg.checkpoint)  # and if the checkpoint is not: before the mined set's folder is made
    folder = _prepare(cfg, resume)
    parts = folder / PARTS_DIR
    rows: Dict[str, list] = {}
    for scene_id in ids:
        path = parts / f"{scene_id}.csv"
        if path.is_file():
            landed = _read_part(path, scene_id)
            if landed is not None:
                rows[scene_id] = landed
    todo = [(i, s) for i, s in enumerate(ids) if s not in rows]
    causes, proposed, tic = Counter(), 0, time.perf_counter()
    if progress:
        print(f"mining {len(todo)} scene(s) of {len(ids)} ({len(rows)} landed before) with {cfg.checkpoint}",
              flush=True)

    def on_result(result: dict) -> None:
        nonlocal proposed
        layout.atomic_write_bytes(parts / f"{result['scene_id']}.csv", layout.format_grasp_rows(result["rows"]).encode())
        rows[result["scene_id"]] = result["rows"]
        causes.update(result["causes"])
        proposed += result["proposed"]
        if progress and len(rows) % 25 == 0:
            print(f"  {len(rows)}/{len(ids)} scenes", flush=True)

    run_tasks(mine_scene, cfg.to_dict(), todo, on_result, workers=cfg.workers, address=cfg.address,
              describe=lambda key: f"scene {key[1]}", close=close_worker)
    every = [r for s in ids for r in rows[s]]
    layout.write_grasps(folder, every)
    labels = np.array([r[-1] for r in every], np.int64)
    summary = {"scenes": len(ids), "rows": len(every), "positives": int(labels.sum()),
               "scenes_without_rows": sum(1 for s in ids if not rows[s]),
               "new_scenes": len(todo), "new_causes": dict(causes), "new_proposed": proposed,
               "seconds": time.perf_counter() - tic}
    layout.atomic_write_bytes(folder / MINE_FILE, json.dumps({"config": cfg.to_dict(), "summary": summary},
                                                             indent=1).encode())
    return summary


def format_summary(summary: dict, folder: Path) -> str:
    share = summary["positives"] / summary["rows"] if summary["rows"] else 0.0
    causes = ", ".join(f"{k} {v}" for k, v in sorted(summary["new_causes"].items()))
    return (f"{folder}: {summary['rows']} mined rows over {summary['scenes']} scenes, {summary['positives']} "
            f"successful ({share:.1%}); this run: {summary['new_scenes']} scene(s) in {summary['seconds']:.0f} s"
            + (f" ({causes})" if causes else ""))
