"""One round of the clutter-removal benchmark (docs/benchmark.md), following VGN's reference loop.

A round builds a new scene, then repeats *look, plan, grasp* until the table is clear, two grasps
in a row have failed, nothing is left to see, or the planner finds nothing. Everything random in a
round flows from ``(seed, round_id)``: the scene, the depth noise and the planner's own choices, so
a round gives the same rows whichever worker runs it and whatever ran before it.
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, NamedTuple, Optional

import numpy as np

from igd.bench.config import BenchConfig
from igd.perception.camera import DEFAULT_INTRINSIC, views
from igd.planners.base import Observation, Planner

#: Columns of ``grasps.csv`` (docs/benchmark.md): the reference's fourteen, then our extras.
GRASP_COLUMNS = ("round_id", "scene_id", "qx", "qy", "qz", "qw", "x", "y", "z", "width", "score", "label",
                 "integration_time", "planning_time", "seed", "cause", "object_name",
                 "target_name")
#: Columns a round file written before they existed may lack (read as "").
OPTIONAL_GRASP_COLUMNS = ("target_name",)
#: Columns of ``rounds.csv``.
ROUND_COLUMNS = ("round_id", "seed", "object_count")
#: Grasp-row columns that hold wall-clock times (they differ from run to run).
TIMING_COLUMNS = ("integration_time", "planning_time")
#: Per-round time split (seconds, summed over the round's steps).
TIMING_KEYS = ("reset", "render", "noise", "integration", "planning", "execution")
#: Why a round ended.
END_REASONS = ("cleared", "failures", "nothing_to_see", "no_grasp", "attempt_limit")
ROUND_FORMAT = "igd-bench-round-v1"


class RoundSeeds(NamedTuple):
    """Independent seeds of one round, all derived from ``(seed, round_id)``."""

    scene: int  # for ``sim.reset``
    noise: np.random.SeedSequence  # for the depth-noise generator
    planner: int  # for the planner's own random choices


def round_seeds(seed: int, round_id: int) -> RoundSeeds:
    """Spawn the scene, noise and planner streams of round ``round_id`` of ``seed``."""
    scene, noise, planner = np.random.SeedSequence([seed, round_id]).spawn(3)
    return RoundSeeds(int(scene.generate_state(1)[0]), noise, int(planner.generate_state(1)[0]))


@dataclass
class RoundResult:
    """What one round produced: its object count, its grasp rows and how it went."""

    seed: int
    round_id: int
    object_count: int
    grasps: List[Dict[str, Any]]
    end_reason: str
    scene_seed: int
    timings: Dict[str, float] = field(default_factory=dict)
    wall_time: float = 0.0

    def to_dict(self) -> dict:
        return {"format": ROUND_FORMAT, **asdict(self)}

    @classmethod
    def from_dict(cls, d: dict) -> "RoundResult":
        """Rebuild a result from :meth:`to_dict`; ``ValueError`` if it is not a complete round."""
        if not isinstance(d, dict) or d.get("format") != ROUND_FORMAT:
            raise ValueError(f"not a round record (format {ROUND_FORMAT})")
        try:
            result = cls(**{k: v for k, v in d.items() if k != "format"})
        except TypeError as e:
            raise ValueError(f"incomplete round record: {e}") from e
        if not isinstance(result.grasps, list) or not all(isinstance(row, dict) for row in result.grasps):
            raise ValueError("grasps must be a list of rows")
        if any(set(GRASP_COLUMNS) - set(OPTIONAL_GRASP_COLUMNS) - set(row) for row in result.grasps):
            raise ValueError("a grasp row lacks columns")
        for row in result.grasps:
            for name in OPTIONAL_GRASP_COLUMNS:
                row.setdefault(name, "")
        if result.end_reason not in END_REASONS:
            raise ValueError(f"unknown end reason {result.end_reason!r}")
        return result


def seed_planner(planner: Planner, seed: int) -> None:
    """Make the planner's random choices (e.g. VGN's random detection) a function of ``seed``:
    :meth:`~igd.planners.base.Planner.reseed`, and the global NumPy and torch generators too, for
    planners that draw from them.
    """
    planner.reseed(seed)
    np.random.seed(seed)  # for planners that draw from NumPy's global generator
    torch = sys.modules.get("torch")  # never import torch here; a torch planner already has
    if torch is not None:
        torch.manual_seed(seed)


def look(sim, noise: str, extrinsics: list, rng: np.random.Generator,
         timings: Dict[str, float]) -> tuple[Optional[Observation], float]:
    """Render every view and build the observation (:func:`igd.perception.observe.observe_depth`, the
    path the API and the data share); ``(None, t)`` when no surface is left in the workspace.

    Returns the observation and the integration time ``t`` (40^3 TSDF and 120^3 cloud together,
    seconds). ``timings`` accumulates the render / noise / integration split.
    """
    from igd.perception.observe import observe_depth

    tic = time.perf_counter()
    depths = [sim.render(extrinsic, DEFAULT_INTRINSIC) for extrinsic in extrinsics]
    timings["render"] += time.perf_counter() - tic
    step: Dict[str, float] = {}
    # the simulator's images: the fusion's own checks suffice (docs/perception.md)
    observation = observe_depth(depths, DEFAULT_INTRINSIC, extrinsics, noise=noise, rng=rng, check=False,
                                timings=step)
    timings["noise"] += step["noise"]
    timings["integration"] += step["integration"]
    if len(observation.cloud) == 0:
        return None, step["integration"]
    return observation, step["integration"]


def grasp_row(seed: int, round_id: int, k: int, grasps, outcome, integration_time: float,
              planning_time: float, target_name: Optional[str] = None) -> Dict[str, Any]:
    """One ``grasps.csv`` row for the best grasp of ``grasps`` and its ``outcome``. ``object_name`` is
    the object lifted (successes only); ``target_name`` the object whose bounding box was nearest the
    grasp before it was tried (every attempt), which per-object success rates count."""
    pose = grasps.pose(0)
    qx, qy, qz, qw = (float(v) for v in pose.quat)
    x, y, z = (float(v) for v in pose.translation)
    return {"round_id": round_id, "scene_id": f"s{seed}_r{round_id:04d}_{k:02d}",
            "qx": qx, "qy": qy, "qz": qz, "qw": qw, "x": x, "y": y, "z": z,
            "width": float(grasps.widths[0]), "score": float(grasps.scores[0]), "label": int(bool(outcome.label)),
            "integration_time": float(integration_time), "planning_time": float(planning_time),
            "seed": seed, "cause": str(outcome.cause), "object_name": outcome.object_name or "",
            "target_name": target_name or ""}


def run_round(sim, planner: Planner, cfg: BenchConfig, seed: int, round_id: int) -> RoundResult:
    """Play round ``round_id`` of ``seed`` on ``sim`` with ``planner`` (docs/benchmark.md, VGN's loop)."""
    start = time.perf_counter()
    seeds = round_seeds(seed, round_id)
    seed_planner(planner, seeds.planner)
    noise_rng = np.random.default_rng(seeds.noise)
    extrinsics = views(cfg.views)
    timings = dict.fromkeys(TIMING_KEYS, 0.0)

    sim.reset(cfg.object_count, seed=seeds.scene)
    object_count = int(sim.num_objects)
    timings["reset"] = time.perf_counter() - start
    # a guard against a simulator that reports success without removing anything; the reference
    # loop needs at most 2 * object_count + 1 attempts, so it never fires on a sound simulator
    attempt_limit = 4 * max(object_count, 1) + 4

    rows: List[Dict[str, Any]] = []
    consecutive_failures, last_label, end_reason = 1, None, None
    while sim.num_objects > 0 and consecutive_failures < cfg.max_consecutive_failures:
        if len(rows) >= attempt_limit:
            end_reason = "attempt_limit"
            break
        observation, integration_time = look(sim, cfg.noise, extrinsics, noise_rng, timings)
        if observation is None:
            end_reason = "nothing_to_see"
            break
        grasps = planner.timed_plan(observation)
        planning_time = float(grasps.info["planning_time"])
        timings["planning"] += planning_time
        if len(grasps) == 0:
            end_reason = "no_grasp"
            break
        target_name = sim.nearest_object(grasps.pose(0).translation)
        tic = time.perf_counter()
        outcome = sim.execute_grasp(grasps.pose(0), width=float(grasps.widths[0]), remove=True, allow_contact=True)
        timings["execution"] += time.perf_counter() - tic
        label = bool(outcome.label)
        rows.append(grasp_row(seed, round_id, len(rows), grasps, outcome, integration_time, planning_time,
                              target_name))
        if last_label is False and label is False:
            consecutive_failures += 1
        else:
            consecutive_failures = 1
        last_label = label
    if end_reason is None:
        end_reason = "cleared" if sim.num_objects == 0 else "failures"
    return RoundResult(seed, round_id, object_count, rows, end_reason, seeds.scene, timings,
                       time.perf_counter() - start)
