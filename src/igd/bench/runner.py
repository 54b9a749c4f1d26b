"""Run the clutter-removal benchmark: rounds in parallel on Ray, streamed to disk, resumable.

Layout of an output folder ``OUT``::

    OUT/config.json                  the run's settings (checked again on --resume)
    OUT/rounds/s{seed}_r{round:04d}.json   one file per finished round, written atomically
    OUT/rounds.csv                   round_id, seed, object_count, end_reason
    OUT/grasps.csv                   one row per executed grasp (the reference's columns + seed, cause, object_name;
                                     docs/benchmark.md, "Protocol")
    OUT/summary.json                 metrics (igd.bench.metrics)

Each round is an independent, deterministic function of ``(config, seed, round_id)``, so rounds run
in any order on any worker: a serial run (``workers=1``, in this process) and a parallel run (Ray,
a local cluster or one given by address) give the same rows. A round's file is written the moment
it finishes; a killed run keeps every finished round and ``resume=True`` does only the rest.
"""

from __future__ import annotations

import csv
import json
import os
import pickle
import sys
import time
import zipfile
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence

from igd.bench.clutter_removal import GRASP_COLUMNS, ROUND_COLUMNS, RoundResult, run_round
from igd.bench.config import RESULT_FIELDS, BenchConfig
from igd.bench.metrics import build_summary, compute_metrics
from igd.errors import IGDError
from igd.parallel import in_process, run_tasks
from igd.planners.base import Planner, load_planner

CONFIG_FILE = "config.json"
ROUNDS_DIR = "rounds"
ROUNDS_CSV = "rounds.csv"
GRASPS_CSV = "grasps.csv"
SUMMARY_FILE = "summary.json"
#: ``rounds.csv`` columns: the reference's (round_id, object_count), the seed and why the round ended
#: (docs/benchmark.md, "Protocol").
ROUNDS_CSV_COLUMNS = ROUND_COLUMNS + ("end_reason",)

OnResult = Callable[[RoundResult], None]


# --------------------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------------------
def round_path(out: str | Path, seed: int, round_id: int) -> Path:
    return Path(out) / ROUNDS_DIR / f"s{seed}_r{round_id:04d}.json"


def _replace_atomically(path: Path, write: Callable) -> None:
    """Write through a temporary file in the same folder, then rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", newline="") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_json(path: Path, obj) -> None:
    _replace_atomically(path, lambda f: json.dump(obj, f, indent=1))


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[dict]) -> None:
    def write(f):
        writer = csv.DictWriter(f, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)

    _replace_atomically(path, write)


def read_round(out: str | Path, seed: int, round_id: int) -> Optional[RoundResult]:
    """The stored round ``(seed, round_id)``, or None if it is missing or not a complete record."""
    path = round_path(out, seed, round_id)
    try:
        result = RoundResult.from_dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return None
    return result if (result.seed, result.round_id) == (seed, round_id) else None


# --------------------------------------------------------------------------------------------------
# the output folder and its stored configuration
# --------------------------------------------------------------------------------------------------
def _stored_config(out: Path) -> Optional[dict]:
    path = out / CONFIG_FILE
    if not path.exists():
        return None
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise IGDError(f"{path}: cannot read the stored configuration ({e}); choose another --out") from e
    if not isinstance(stored, dict):
        raise IGDError(f"{path}: not a benchmark configuration; choose another --out")
    return stored


def config_differences(stored: dict, current: dict) -> List[str]:
    """``field: stored -> current`` for every :data:`RESULT_FIELDS` entry that differs."""
    canon = lambda v: json.dumps(v, sort_keys=True)  # noqa: E731  (tuples and lists compare equal)
    return [f"{k}: {stored.get(k)!r} (stored) != {current[k]!r} (now)"
            for k in RESULT_FIELDS if canon(stored.get(k)) != canon(current[k])]


def prepare_out(cfg: BenchConfig, resume: bool) -> None:
    """Create ``cfg.out`` or check it for a resume; write ``config.json``.

    Without ``resume`` a folder that already holds results is an error; with it, a folder whose
    stored settings differ from ``cfg`` in any of :data:`RESULT_FIELDS` is an error.
    """
    out = Path(cfg.out)
    if out.exists() and not out.is_dir():
        raise IGDError(f"--out {out} is a file; expected a folder")
    stored = _stored_config(out)
    has_results = stored is not None or any((out / ROUNDS_DIR).glob("s*_r*.json"))
    if has_results and not resume:
        raise IGDError(f"{out} has results; pass --resume to continue or choose another --out")
    current = {**cfg.to_dict(), **cfg.identity()}
    if stored is not None:
        diffs = config_differences(stored, current)
        if diffs:
            raise IGDError(f"cannot resume {out}: it was run with other settings ({'; '.join(diffs)}); "
                           "use the stored settings or choose another --out")
    (out / ROUNDS_DIR).mkdir(parents=True, exist_ok=True)
    for stale in (out / ROUNDS_DIR).glob(".*.tmp"):  # half-written files of a killed run
        stale.unlink(missing_ok=True)
    write_json(out / CONFIG_FILE, current)


# --------------------------------------------------------------------------------------------------
# one simulator and one planner per worker process
# --------------------------------------------------------------------------------------------------
_CONTEXT: Dict[str, object] = {"key": None, "sim": None, "planner": None}


def load_planner_checked(cfg: BenchConfig) -> Planner:
    """:func:`load_planner` with any failure to read the weights turned into one readable line."""
    try:
        return load_planner(cfg.planner, cfg.weights, **cfg.overrides)
    except IGDError:
        raise
    except FileNotFoundError as e:
        raise IGDError(f"weights file not found: {cfg.weights}") from e
    except (RuntimeError, EOFError, OSError, KeyError, ValueError, pickle.UnpicklingError, zipfile.BadZipFile) as e:
        first = (str(e).splitlines() or [type(e).__name__])[0]
        raise IGDError(f"cannot load planner '{cfg.planner}' from {cfg.weights}: {first}") from e


def worker_context(cfg: BenchConfig, planner: Optional[Planner] = None):
    """This process's ``(sim, planner)`` for ``cfg``, built once and kept across rounds."""
    key = cfg.worker_key()
    if _CONTEXT["key"] != key:
        close_context()
        from igd.sim.simulation import ClutterRemovalSim

        planner = planner if planner is not None else load_planner_checked(cfg)
        sim = ClutterRemovalSim(cfg.scene, cfg.object_set, gui=False)
        _CONTEXT.update(key=key, sim=sim, planner=planner)
    return _CONTEXT["sim"], _CONTEXT["planner"]


def close_context() -> None:
    """Close this process's simulator and forget its planner."""
    sim = _CONTEXT["sim"]
    _CONTEXT.update(key=None, sim=None, planner=None)
    if sim is not None:
        sim.close()


def play_round(cfg_dict: dict, seed: int, round_id: int) -> dict:
    """One round in this process: the body of a Ray task and of the serial loop alike."""
    cfg = BenchConfig.from_dict(cfg_dict)
    sim, planner = worker_context(cfg)
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != 1:
        torch.set_num_threads(1)  # identical numerics in every worker, and no oversubscription
    return run_round(sim, planner, cfg, seed, round_id).to_dict()


# --------------------------------------------------------------------------------------------------
# executors
# --------------------------------------------------------------------------------------------------
def run_rounds(cfg: BenchConfig, todo: Sequence[tuple[int, int]], on_result: OnResult,
               planner: Optional[Planner] = None) -> None:
    """Play the ``todo`` rounds, handing each result over as soon as it is ready: in this process
    (with ``planner`` if given; the simulator closed and torch's thread count restored after), or as
    Ray tasks whose workers load their own planner."""
    close = None
    if in_process(cfg.workers, cfg.address):
        worker_context(cfg, planner)
        torch = sys.modules.get("torch")
        threads = torch.get_num_threads() if torch is not None else None

        def close() -> None:
            close_context()
            if threads is not None:
                torch.set_num_threads(threads)

    run_tasks(play_round, cfg.to_dict(), list(todo), lambda d: on_result(RoundResult.from_dict(d)),
              workers=cfg.workers, address=cfg.address, describe=lambda key: f"round {key[1]} of seed {key[0]}",
              close=close)


# --------------------------------------------------------------------------------------------------
# the whole run
# --------------------------------------------------------------------------------------------------
def _warm_object_set(cfg: BenchConfig) -> None:
    """Load (and on first use build) the object set once here, so workers never race to build it."""
    from igd.sim.objects import load_object_set

    load_object_set(cfg.object_set)


def aggregate(cfg: BenchConfig, results: Iterable[RoundResult], wall_time: float) -> dict:
    """Write ``rounds.csv``, ``grasps.csv`` and ``summary.json`` from the round results."""
    results = sorted(results, key=lambda r: (r.seed, r.round_id))
    rounds = [{"round_id": r.round_id, "seed": r.seed, "object_count": r.object_count,
               "end_reason": r.end_reason} for r in results]
    grasps = [row for r in results for row in r.grasps]  # per round already in execution order
    out = Path(cfg.out)
    write_csv(out / ROUNDS_CSV, ROUNDS_CSV_COLUMNS, rounds)
    write_csv(out / GRASPS_CSV, GRASP_COLUMNS, grasps)
    summary = build_summary(cfg, rounds, grasps, wall_time)
    summary["round_time_total"] = float(sum(r.wall_time for r in results))
    write_json(out / SUMMARY_FILE, summary)
    return summary


def _progress(total: int, done: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=done, unit="round", desc="clutter removal", disable=not enabled,
                dynamic_ncols=True, file=sys.stderr)


def run_benchmark(cfg: BenchConfig, progress: bool = True, resume: bool = False) -> dict:
    """Run every round of ``cfg`` not yet in ``cfg.out``, then aggregate; returns the summary.

    ``resume=False`` refuses an ``out`` that already holds results; ``resume=True`` keeps every
    stored round (never recomputing one) and plays only the missing ones.
    """
    start = time.perf_counter()
    planner = load_planner_checked(cfg)  # fail on bad weights before anything is written
    _warm_object_set(cfg)
    prepare_out(cfg, resume)
    keys = cfg.round_keys()
    results = {k: r for k in keys if (r := read_round(cfg.out, *k)) is not None}
    todo = [k for k in keys if k not in results]
    bar = _progress(len(keys), len(results), progress)

    def on_result(result: RoundResult) -> None:
        write_json(round_path(cfg.out, result.seed, result.round_id), result.to_dict())
        results[(result.seed, result.round_id)] = result
        m = compute_metrics([vars(r) for r in results.values()], [g for r in results.values() for g in r.grasps])
        bar.set_postfix_str(f"GSR {m['gsr_pooled'] or 0:.1f}% DR {m['dr_pooled'] or 0:.1f}%", refresh=False)
        bar.update(1)

    try:
        if todo:
            run_rounds(cfg, todo, on_result, planner)
    finally:
        bar.close()
    return aggregate(cfg, (results[k] for k in keys), time.perf_counter() - start)
