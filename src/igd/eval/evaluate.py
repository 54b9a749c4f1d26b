"""``igd evaluate``: judge checkpoints on labelled scenes in minutes, before paying for a benchmark.

For each checkpoint, on the same scenes of a processed root (its validation split by default), with
every labelled point of those scenes (the raw root's rows, before balancing):

==================  ==============================================================================
section             what
==================  ==============================================================================
points              the planner's quality at the labelled points: accuracy at its threshold and
                    ROC AUC; on positives the rotation error (degrees, π-symmetric) and the
                    absolute width error (mm)
volume              calibration: the predicted quality over the voxels the post-processing may keep
                    (near the observed surface, inside the borders): mean, quantiles and the share
                    at or above the threshold, beside the labelled positive rate
executed            the grasp the planner would execute (its best): whether a labelled point lies
                    within one voxel of it and what its label says, and, simulated in the scene
                    rebuilt from its ``mesh_pose_list``, its outcome (success, collision, empty,
                    slipped) as the benchmark would run it
==================  ==============================================================================

The planner answers through its contract: :meth:`~igd.planners.base.Planner.query_points` at the
labelled points, :meth:`~igd.planners.base.Planner.volumes` for the quality volume and
:meth:`~igd.planners.base.Planner.plan` for the executed grasp. Grids are the processed root's
(with the depth noise it was processed with), so a checkpoint sees what it was trained on.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from igd.constants import VOXEL_SIZE
from igd.errors import IGDError
from igd.eval import metrics

__all__ = ["EvaluateConfig", "format_results", "raw_root_of", "run_evaluate", "urdf_of_mesh"]

SPLITS = ("val", "train", "all")


@dataclass
class EvaluateConfig:
    """One ``igd evaluate`` run."""

    checkpoints: List[str]
    """Released names or checkpoint paths (``--planner`` semantics: :func:`igd.released.resolve_planner`)."""
    data: str
    """Processed root: grids (``scenes/``), ``splits.json`` and ``process.json`` (which names its raw root)."""
    raw: Optional[str] = None
    """Raw root with every labelled point and the scenes' ``mesh_pose_list``; default: the processed root's."""
    split: str = "val"
    """Scenes to use: the processed root's ``val`` or ``train`` split, or ``all``."""
    scenes: int = 20
    """At most this many scenes of the split (in the split's order)."""
    simulate: bool = True
    """Execute each planner's best grasp in the rebuilt scene (PyBullet)."""
    seed: int = 0
    """Seed of the planners' own random choices (IGD's sampling), per scene ``seed + index``."""
    overrides: Dict[str, object] = field(default_factory=dict)
    """Planner config fields for every checkpoint, e.g. ``{"threshold": 0.4}``."""

    def __post_init__(self):
        if not self.checkpoints:
            raise IGDError("evaluate: name at least one checkpoint (a released name or a path)")
        if self.split not in SPLITS:
            raise IGDError(f"split: expected one of {list(SPLITS)}, got {self.split!r}")
        if isinstance(self.scenes, bool) or not isinstance(self.scenes, int) or self.scenes < 1:
            raise IGDError(f"scenes: expected an integer >= 1, got {self.scenes!r}")
        if not isinstance(self.overrides, dict):
            raise IGDError(f"overrides: expected a dict of planner config fields, got {self.overrides!r}")


# --------------------------------------------------------------------------------------------------
# the scenes
# --------------------------------------------------------------------------------------------------
def _raw_root(cfg: EvaluateConfig) -> Path:
    return raw_root_of(cfg.data, cfg.raw)


def raw_root_of(data, raw=None) -> Path:
    """The raw root of processed root ``data``: ``raw`` when given, else the one its ``process.json`` names
    (as written, or relative to the processed root's parent or the working folder)."""
    data = Path(data)
    if raw is not None:
        return Path(raw)
    info = data / "process.json"
    try:
        raw = json.loads(info.read_text())["config"]["raw"]
    except (OSError, KeyError, TypeError, json.JSONDecodeError) as e:
        raise IGDError(f"{info}: cannot read the raw root of this processed root ({type(e).__name__}); "
                       "pass --raw RAW") from e
    raw = Path(raw)
    for candidate in (raw, data.parent / raw, Path.cwd() / raw):
        if (candidate / "grasps.csv").is_file():
            return candidate
    raise IGDError(f"the raw root {raw} named by {info} is not here (no grasps.csv); pass --raw RAW")


def _scene_ids(cfg: EvaluateConfig) -> List[str]:
    from igd.data import layout

    data = Path(cfg.data)
    if not (data / "scenes").is_dir():
        raise IGDError(f"{data}: not a processed root (no scenes/ folder); make one with 'igd process'")
    splits = layout.read_splits(data)
    if cfg.split == "all" or splits is None:
        if cfg.split != "all":
            raise IGDError(f"{data}: has no splits.json, so there is no '{cfg.split}' split; use --split all")
        ids = sorted(p.stem for p in (data / "scenes").glob("*.npz"))
    else:
        ids = splits[cfg.split]
    if not ids:
        raise IGDError(f"{data}: the '{cfg.split}' split has no scenes")
    return list(ids[: cfg.scenes])


def _grid(data: Path, scene_id: str) -> np.ndarray:
    from igd.data import layout

    return layout.load_npz(data / "scenes" / f"{scene_id}.npz", ("grid",))["grid"].astype(np.float32)


def urdf_of_mesh(mesh: str) -> Path:
    """The URDF of a recorded object mesh path: ours (``v1/<source>/<key>/mesh.obj`` → ``object.urdf``
    beside it), a downloaded folder's (``<name>_visual.obj`` → ``<name>.urdf``) or a URDF itself."""
    from igd.sim.objects import resolve_mesh_path

    path = Path(mesh) if Path(mesh).suffix.lower() == ".urdf" else resolve_mesh_path(mesh)
    if path.suffix.lower() == ".urdf":
        urdf = path
    elif path.name.endswith("_visual.obj"):
        urdf = path.with_name(path.name[: -len("_visual.obj")] + ".urdf")
    else:
        urdf = path.parent / "object.urdf"
    if not urdf.is_file():
        raise IGDError(f"the URDF of the recorded mesh {mesh} is missing ({urdf})")
    return urdf


# --------------------------------------------------------------------------------------------------
# one checkpoint
# --------------------------------------------------------------------------------------------------
def _executed(planner, grid: np.ndarray, rows, sim, items) -> dict:
    """What the planner's best grasp would do: the nearest labelled point's label and the simulated outcome."""
    from igd.planners.base import Observation

    grasps = planner.plan(Observation(grid))
    if len(grasps) == 0:
        return {"found": False}
    pose = grasps.pose(0)
    out = {"found": True, "score": float(grasps.scores[0])}
    if len(rows):
        d = np.linalg.norm(rows["pos"] - pose.translation, axis=1)
        near = int(np.argmin(d))
        out["labelled"] = None if d[near] > VOXEL_SIZE else int(rows["label"][near])
    if sim is not None:
        sim.replay(items)
        outcome = sim.execute_grasp(pose, float(grasps.widths[0]), remove=False, allow_contact=True)
        out["cause"] = outcome.cause
    return out


def _evaluate_one(name: str, cfg: EvaluateConfig, scenes: list, sim) -> dict:
    from igd.api import load
    from igd.bench.clutter_removal import seed_planner
    from igd.planners import postprocess

    tic = time.perf_counter()
    detector = load(name, **cfg.overrides)
    planner = detector.planner
    planner.require("volumes", "query_points", purpose="igd evaluate scores a planner's point queries and volumes")
    post = planner.postprocess  # the post-processing settings of a dense planner (its threshold), or None
    threshold = float(post.threshold) if post is not None else 0.5
    scores, labels, rot_err, width_err, kept_q, executed = [], [], [], [], [], []
    for index, (scene_id, grid, rows, items) in enumerate(scenes):
        seed_planner(planner, cfg.seed + index)
        pred = planner.query_points(grid, rows["pos"], rows["quat"])
        scores.append(pred.qual)
        labels.append(rows["label"])
        pos = rows["label"] == 1
        if pos.any():
            rot_err.append(metrics.rotation_error_deg(pred.quat[pos], rows["quat"][pos]))
            width_err.append(np.abs(pred.width[pos] - rows["width"][pos]) * 1000.0)
        qual, _, _ = planner.volumes(grid)
        eligible = postprocess.zero_borders(postprocess.surface_mask(grid).astype(np.float64)) > 0
        kept_q.append(np.asarray(qual, dtype=np.float64)[eligible])
        seed_planner(planner, cfg.seed + index)
        executed.append(_executed(planner, grid, rows, sim, items))
    scores, labels = np.concatenate(scores), np.concatenate(labels)
    rot_err = np.concatenate(rot_err) if rot_err else np.zeros(0)
    width_err = np.concatenate(width_err) if width_err else np.zeros(0)
    kept_q = np.concatenate(kept_q)
    found = [e for e in executed if e["found"]]
    labelled = Counter("unlabelled" if e.get("labelled") is None else ("success" if e["labelled"] else "failure")
                       for e in found)
    causes = Counter(e["cause"] for e in found if "cause" in e)
    return {
        "checkpoint": name, "label": detector.name, "planner": planner.name, "threshold": threshold,
        "points": {"n": int(len(labels)), "positives": int(labels.sum()),
                   "accuracy": metrics.accuracy(scores, labels, threshold), "roc_auc": metrics.roc_auc(scores, labels),
                   "rotation_error_deg": metrics.quantiles(rot_err), "width_error_mm": metrics.quantiles(width_err)},
        "volume": {"voxels": int(len(kept_q)), **metrics.quantiles(kept_q),
                   "share_at_threshold": float(np.mean(kept_q >= threshold)) if len(kept_q) else None,
                   "labelled_positive_rate": float(labels.mean()) if len(labels) else None},
        "executed": {"scenes": len(executed), "found": len(found),
                     "labelled": {k: labelled.get(k, 0) for k in ("success", "failure", "unlabelled")},
                     "simulated": {k: causes.get(k, 0) for k in ("success", "collision", "empty", "slipped")}
                     if sim is not None else None},
        "seconds": time.perf_counter() - tic,
    }


def run_evaluate(cfg: EvaluateConfig, progress: bool = True) -> dict:
    """Evaluate every checkpoint of ``cfg`` on the same scenes; returns the results (see :func:`format_results`)."""
    from igd.data import layout
    from igd.data.datasets import ROW_COLUMNS

    data = Path(cfg.data)
    ids = _scene_ids(cfg)
    raw = _raw_root(cfg)
    table = layout.read_grasps(raw)
    scene_of_row = table["scene_id"].astype(str)
    values = np.stack([table[c].astype(np.float64) for c in ROW_COLUMNS], axis=1)  # (N, 8) quat, pos, width
    scenes = []
    for scene_id in ids:
        mine = scene_of_row == scene_id
        rows = {"quat": values[mine, 0:4], "pos": values[mine, 4:7], "width": values[mine, 7],
                "label": table["label"][mine].astype(np.int64)}
        items = [(urdf_of_mesh(mesh), scale, pose) for mesh, scale, pose in layout.read_mesh_pose_list(raw, scene_id)]
        scenes.append((scene_id, _grid(data, scene_id), rows, items))
    sim = None
    if cfg.simulate:
        from igd.sim.simulation import ClutterRemovalSim

        sim = ClutterRemovalSim("packed", object_set=None)
    try:
        entries = []
        for name in cfg.checkpoints:
            if progress:
                print(f"evaluating {name} on {len(scenes)} scene(s) ...", flush=True)
            entries.append(_evaluate_one(name, cfg, scenes, sim))
    finally:
        if sim is not None:
            sim.close()
    return {"data": str(data), "raw": str(raw), "split": cfg.split, "scene_ids": ids, "seed": cfg.seed,
            "entries": entries}


# --------------------------------------------------------------------------------------------------
# the table
# --------------------------------------------------------------------------------------------------
def _f(value, fmt: str = "{:.3f}") -> str:
    return "n/a" if value is None else fmt.format(value)


def format_results(results: dict) -> str:
    """A markdown table of :func:`run_evaluate`'s results, one row per checkpoint."""
    head = ("| checkpoint | acc | AUC | rot err ° (p50) | width err mm (p50) | q mean (kept voxels) | q p99 | "
            "share ≥ thr | positive rate | executed: labelled fail / succ / none | simulated success / coll / "
            "empty / slip |")
    lines = [head, "|" + "---|" * 11]
    for e in results["entries"]:
        p, v, x = e["points"], e["volume"], e["executed"]
        lab = x["labelled"]
        sim = x["simulated"]
        sim_text = "n/a" if sim is None else " / ".join(str(sim[k]) for k in ("success", "collision", "empty", "slipped"))
        lines.append(
            f"| {e['label']} | {_f(p['accuracy'])} | {_f(p['roc_auc'])} | {_f(p['rotation_error_deg']['p50'], '{:.1f}')} | "
            f"{_f(p['width_error_mm']['p50'], '{:.1f}')} | {_f(v['mean'])} | {_f(v['p99'])} | "
            f"{_f(v['share_at_threshold'])} | {_f(v['labelled_positive_rate'])} | "
            f"{lab['failure']} / {lab['success']} / {lab['unlabelled']} of {x['found']} | {sim_text} |")
    n = results["entries"][0]["points"] if results["entries"] else {"n": 0, "positives": 0}
    lines.append("")
    lines.append(f"{len(results['scene_ids'])} scene(s) of the '{results['split']}' split of {results['data']}; "
                 f"{n['n']} labelled points ({n['positives']} positive) from {results['raw']}; seed {results['seed']}")
    return "\n".join(lines)
