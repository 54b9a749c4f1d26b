"""Clutter-removal metrics (docs/benchmark.md, "Protocol") and the run summary.

- **GSR** (grasp success rate, %) = successes / attempts.
- **DR** (declutter rate, %) = successes / objects present after scene generation.

Both are computed per seed over all of that seed's rounds; the headline ``gsr`` / ``dr`` are the
mean over seeds and ``gsr_std`` / ``dr_std`` the sample standard deviation over seeds (ddof = 1;
0 for one seed); ``gsr_pooled`` / ``dr_pooled`` pool every round of every seed. A rate with no
denominator (no attempts, no objects) is ``None``. The inputs are plain rows, the same as the
``rounds.csv`` and ``grasps.csv`` files, so the summary can be rebuilt from the logs alone.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Iterable, Mapping, Optional

import numpy as np

import igd


def _rate(numerator: int, denominator: int) -> Optional[float]:
    return 100.0 * numerator / denominator if denominator else None


def _counts(rounds: list, grasps: list) -> dict:
    attempts = len(grasps)
    successes = int(sum(int(g["label"]) for g in grasps))
    objects = int(sum(int(r["object_count"]) for r in rounds))
    return {"gsr": _rate(successes, attempts), "dr": _rate(successes, objects), "attempts": attempts,
            "successes": successes, "objects": objects, "rounds": len(rounds)}


def _mean_std(values: Iterable[Optional[float]]) -> tuple[Optional[float], Optional[float]]:
    v = np.array([x for x in values if x is not None], dtype=np.float64)
    if len(v) == 0:
        return None, None
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0


def _time_stats(grasps: list, key: str) -> dict:
    t = np.array([float(g[key]) for g in grasps], dtype=np.float64)
    if len(t) == 0:
        return {f"{key}_mean": None, f"{key}_median": None}
    return {f"{key}_mean": float(t.mean()), f"{key}_median": float(np.median(t))}


def compute_metrics(rounds: Iterable[Mapping[str, Any]], grasps: Iterable[Mapping[str, Any]]) -> dict:
    """GSR, DR, counts, times and failure causes from ``rounds`` and ``grasps`` rows.

    ``rounds``: rows with ``seed``, ``object_count`` (and optionally ``end_reason``); a round with no
    grasp row still counts its objects. ``grasps``: rows with ``seed``, ``label`` (0/1),
    ``planning_time``, ``integration_time`` (s) and ``cause``.
    """
    rounds, grasps = list(rounds), list(grasps)
    seeds = sorted({int(r["seed"]) for r in rounds})
    per_seed = {}
    for s in seeds:
        per_seed[str(s)] = _counts([r for r in rounds if int(r["seed"]) == s],
                                   [g for g in grasps if int(g["seed"]) == s])
    gsr, gsr_std = _mean_std(m["gsr"] for m in per_seed.values())
    dr, dr_std = _mean_std(m["dr"] for m in per_seed.values())
    pooled = _counts(rounds, grasps)
    out = {"gsr": gsr, "gsr_std": gsr_std, "dr": dr, "dr_std": dr_std,
           "gsr_pooled": pooled["gsr"], "dr_pooled": pooled["dr"], "per_seed": per_seed,
           "attempts": pooled["attempts"], "successes": pooled["successes"],
           "objects": pooled["objects"], "objects_total": pooled["objects"], "rounds": pooled["rounds"]}
    out.update(_time_stats(grasps, "planning_time"))
    out.update(_time_stats(grasps, "integration_time"))
    out["causes"] = dict(sorted(Counter(str(g["cause"]) for g in grasps).items()))
    out["end_reasons"] = dict(sorted(Counter(str(r["end_reason"]) for r in rounds if "end_reason" in r).items()))
    return out


def build_summary(cfg, rounds: list, grasps: list, wall_time: float) -> dict:
    """``summary.json``: the run's settings (from a :class:`BenchConfig`) and its metrics."""
    summary = {"planner": cfg.planner, "weights": cfg.weights, "weights_sha256": cfg.weights_sha256,
               "scene": cfg.scene, "object_set": cfg.object_set, "objects_sha256": cfg.objects_sha256,
               "noise": cfg.noise, "views": cfg.views, "seeds": list(cfg.seeds), "rounds_per_seed": cfg.rounds, "object_count": cfg.object_count,
               "max_consecutive_failures": cfg.max_consecutive_failures, "overrides": dict(cfg.overrides)}
    summary.update(compute_metrics(rounds, grasps))
    summary["wall_time"] = float(wall_time)
    summary["igd_version"] = igd.__version__
    return summary


# --------------------------------------------------------------------------------------------------
# the printed table
# --------------------------------------------------------------------------------------------------
def _pct(value: Optional[float], std: Optional[float] = None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.1f}" if std is None else f"{value:.1f} ± {std:.1f}"


def _ms(value: Optional[float]) -> str:
    return "n/a" if value is None else f"{1000.0 * value:.1f} ms"


def _tally(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "none"


def format_summary(summary: Mapping[str, Any]) -> str:
    """A small aligned table of a summary from :func:`build_summary` (or :func:`compute_metrics`)."""
    lines = []
    if "planner" in summary:
        lines.append(f"{summary['planner']} on {summary['scene']} ({summary['object_set']}), noise "
                     f"{summary['noise']}, views {summary['views']}: {len(summary['seeds'])} seed(s) x "
                     f"{summary['rounds_per_seed']} round(s)")
    header = f"{'seed':<12}{'GSR %':>14}{'DR %':>14}{'successes':>11}{'attempts':>10}{'objects':>9}"
    lines += [header, "-" * len(header)]
    for seed, m in summary["per_seed"].items():
        lines.append(f"{seed:<12}{_pct(m['gsr']):>14}{_pct(m['dr']):>14}{m['successes']:>11}"
                     f"{m['attempts']:>10}{m['objects']:>9}")
    lines.append("-" * len(header))
    lines.append(f"{'mean ± std':<12}{_pct(summary['gsr'], summary['gsr_std']):>14}"
                 f"{_pct(summary['dr'], summary['dr_std']):>14}")
    lines.append(f"{'pooled':<12}{_pct(summary['gsr_pooled']):>14}{_pct(summary['dr_pooled']):>14}"
                 f"{summary['successes']:>11}{summary['attempts']:>10}{summary['objects']:>9}")
    lines.append("")
    lines.append(f"{'planning time':<18}mean {_ms(summary['planning_time_mean'])}, "
                 f"median {_ms(summary['planning_time_median'])}")
    lines.append(f"{'integration time':<18}mean {_ms(summary['integration_time_mean'])}, "
                 f"median {_ms(summary['integration_time_median'])}")
    lines.append(f"{'grasp outcomes':<18}{_tally(summary['causes'])}")
    if summary.get("end_reasons"):
        lines.append(f"{'round ends':<18}{_tally(summary['end_reasons'])}")
    if summary.get("wall_time") is not None:
        lines.append(f"{'wall time':<18}{summary['wall_time']:.1f} s")
    return "\n".join(lines)
