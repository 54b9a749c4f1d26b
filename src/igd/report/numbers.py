"""The numbers of a report: runs grouped by planner label and cell, and their statistics.

GSR, DR, their spread over seeds, the counts, the failure causes and the round end reasons come from
:func:`igd.bench.metrics.compute_metrics` - the same definitions as ``summary.json``. This module
adds what a summary does not hold: latency percentiles, per-object success and shares.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from igd.bench.metrics import compute_metrics
from igd.errors import IGDError
from igd.report.load import Run

#: Objects attempted fewer times than this are folded into one "other" row (per planner).
MIN_ATTEMPTS = 5
OTHER = "other"


@dataclass
class Entry:
    """All runs of one planner label in one cell, merged (their seeds must differ)."""

    label: str
    cell: str
    runs: list[Run]
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def partial(self) -> bool:
        return any(r.partial for r in self.runs)

    @property
    def rounds(self) -> list:
        return [row for r in self.runs for row in r.rounds]

    @property
    def grasps(self) -> list:
        return [row for r in self.runs for row in r.grasps]

    @property
    def name(self) -> str:
        return f"{self.label} | {self.cell}"


def default_label(run: Run) -> str:
    """The planner name plus the weights file stem (``vgn:vgn_conv``); the folder name if unknown."""
    planner = run.settings.get("planner")
    if not planner:
        return run.path.resolve().name
    weights = run.settings.get("weights")
    return f"{planner}:{Path(weights).stem}" if weights else str(planner)


def cell_of(run: Run) -> str:
    """``scene/views/noise`` (plus the object set when it is not the scene's test split)."""
    s = run.settings
    if not s.get("scene"):
        return "unknown cell"
    cell = f"{s['scene']}/{s.get('views', '?')}/{s.get('noise', '?')}"
    object_set = s.get("object_set")
    return cell if not object_set or object_set == f"{s['scene']}/test" else f"{cell} [{object_set}]"


def resolve_labels(runs: Sequence[Run], labels: Mapping[str, str] | None) -> list[str]:
    """Each run's label: ``labels[run_dir]`` (matched on the resolved path) or :func:`default_label`."""
    given = {os.path.realpath(k): str(v) for k, v in (labels or {}).items()}
    paths = {os.path.realpath(r.path) for r in runs}
    unknown = [k for k in (labels or {}) if os.path.realpath(k) not in paths]
    if unknown:
        raise IGDError(f"--label names a folder that is not one of the runs: {unknown[0]}")
    if any(not v.strip() for v in given.values()):
        raise IGDError("--label: a label must not be empty")
    return [given.get(os.path.realpath(r.path)) or default_label(r) for r in runs]


def group_runs(runs: Sequence[Run], labels: Mapping[str, str] | None = None) -> list[Entry]:
    """Merge runs by (label, cell), sorted; two runs of one entry must not share a seed."""
    groups: dict[tuple, list[Run]] = defaultdict(list)
    for run, label in zip(runs, resolve_labels(runs, labels)):
        groups[(label, cell_of(run))].append(run)
    entries = []
    for (label, cell), members in sorted(groups.items()):
        seen: dict[int, Path] = {}
        for run in members:
            for seed in sorted({r["seed"] for r in run.rounds}):
                if seed in seen:
                    raise IGDError(f"{run.path} and {seen[seed]} both hold seed {seed} of {label} on {cell}; "
                                   f"give one of them another name with --label RUN_DIR=NAME")
                seen[seed] = run.path
        entries.append(Entry(label, cell, members))
    for entry in entries:
        entry.metrics = entry_numbers(entry)
    return entries


def time_stats(values: Sequence[float]) -> dict[str, float | None]:
    """Median, 90th percentile (linear) and mean of seconds; None for no values."""
    t = np.asarray(values, dtype=np.float64)
    if t.size == 0:
        return {"n": 0, "median": None, "p90": None, "mean": None}
    return {"n": int(t.size), "median": float(np.median(t)), "p90": float(np.percentile(t, 90)),
            "mean": float(t.mean())}


def shares(counts: Mapping[str, int]) -> dict[str, dict[str, float]]:
    """``{key: {"count": n, "share": percent of the total}}``."""
    total = sum(counts.values())
    return {k: {"count": int(n), "share": 100.0 * n / total if total else 0.0} for k, n in counts.items()}


def entry_numbers(entry: Entry) -> dict[str, Any]:
    """The report's numbers for one entry (what ``report.json`` holds for it)."""
    rounds, grasps = entry.rounds, entry.grasps
    m = compute_metrics(rounds, grasps)
    keys = ("gsr", "gsr_std", "dr", "dr_std", "gsr_pooled", "dr_pooled", "attempts", "successes", "objects",
            "rounds", "per_seed")
    out = {k: m[k] for k in keys}
    out["seeds"] = sorted(int(s) for s in m["per_seed"])
    for rate in ("gsr", "dr"):  # a spread needs two seeds: one seed's "std 0" is no spread, so None
        out[f"{rate}_seeds"] = sum(v.get(rate) is not None for v in m["per_seed"].values())
        if out[f"{rate}_seeds"] < 2:
            out[f"{rate}_std"] = None
    out["planning_time"] = time_stats([g["planning_time"] for g in grasps])
    out["integration_time"] = time_stats([g["integration_time"] for g in grasps])
    out["causes"] = shares(m["causes"])
    out["end_reasons"] = shares(m["end_reasons"])
    return out


def object_table(grasps: Sequence[Mapping[str, Any]], min_attempts: int = MIN_ATTEMPTS) -> dict[str, Any]:
    """Per-object attempts, successes and success rate of grasp rows.

    A row counts for its ``target_name`` (the object nearest the grasp before it was tried, on every
    attempt) or, in runs written before that column existed, its ``object_name`` (the object lifted);
    objects with fewer than ``min_attempts`` attempts are summed into one ``other`` row; when that is
    every object, ``sparse`` lists them one by one (attempts and successes, no rate). Rows without
    a name (old runs: the simulator names the object only when the hand holds it, so failures have
    none) are counted as ``unattributed``; while there are such failures the per-object rate is an
    upper bound, so ``rates_meaningful`` is False when no failed grasp carries a name.
    """
    attempts, successes = Counter(), Counter()
    unattributed = Counter()
    for g in grasps:
        name = g.get("target_name") or g.get("object_name") or ""
        if not name:
            unattributed["success" if int(g["label"]) else "failure"] += 1
            continue
        attempts[name] += 1
        successes[name] += int(g["label"])
    rows, other = [], {"attempts": 0, "successes": 0, "objects": 0}
    for name in sorted(attempts, key=lambda n: (-attempts[n], n)):
        if attempts[name] >= min_attempts:
            rows.append({"object": name, "attempts": attempts[name], "successes": successes[name],
                         "rate": 100.0 * successes[name] / attempts[name]})
        else:
            other["attempts"] += attempts[name]
            other["successes"] += successes[name]
            other["objects"] += 1
    if other["objects"]:
        plural = "object" if other["objects"] == 1 else "objects"
        rows.append({"object": f"{OTHER} ({other['objects']} {plural} < {min_attempts} attempts)",
                     "attempts": other["attempts"], "successes": other["successes"],
                     "rate": 100.0 * other["successes"] / other["attempts"], "folded": other["objects"]})
    attributed_failures = sum(attempts.values()) - sum(successes.values())
    sparse = [] if len(rows) != 1 or not other["objects"] else [
        {"object": name, "attempts": attempts[name], "successes": successes[name]}
        for name in sorted(attempts, key=lambda n: (-attempts[n], n))]
    return {"min_attempts": int(min_attempts), "objects": rows, "sparse": sparse,
            "unattributed_failures": unattributed["failure"], "unattributed_successes": unattributed["success"],
            "rates_meaningful": attributed_failures > 0 or (unattributed["failure"] == 0 and bool(attempts))}


def objects_by_label(entries: Sequence[Entry], min_attempts: int = MIN_ATTEMPTS) -> dict[str, dict[str, Any]]:
    """:func:`object_table` of every planner label, over all its cells."""
    by_label: dict[str, list] = defaultdict(list)
    for entry in entries:
        by_label[entry.label].extend(entry.grasps)
    return {label: object_table(grasps, min_attempts) for label, grasps in sorted(by_label.items())}
