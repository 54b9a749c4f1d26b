"""Read benchmark run folders (``igd bench --out``) into rows, finished or not.

A finished run has ``config.json``, ``rounds/``, ``rounds.csv``, ``grasps.csv`` and ``summary.json``
(:mod:`igd.bench.runner`). A run still in progress (or killed) has only ``config.json`` and the
round files written so far; a resumed run has CSVs that are older than its round files. The rows
are taken from the CSVs when they hold every stored round, else from the round files, and the run
is *partial* when it has no ``summary.json``, rounds are missing from the CSVs, or fewer rounds
than its settings ask for are stored.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from igd.bench import runner
from igd.bench.clutter_removal import GRASP_COLUMNS, RoundResult
from igd.errors import IGDError

#: Settings read from ``summary.json`` or ``config.json`` (the same names in both).
SETTINGS = ("planner", "weights", "scene", "object_set", "noise", "views", "seeds", "object_count", "overrides")
_INT_COLUMNS = ("round_id", "seed", "object_count", "label")
_FLOAT_COLUMNS = ("integration_time", "planning_time", "score", "width")


@dataclass
class Run:
    """One run folder: its settings, its rows and how complete it is."""

    path: Path
    settings: dict[str, Any]
    rounds: list[dict[str, Any]]
    grasps: list[dict[str, Any]]
    source: str  # "csv" or "round files"
    partial: bool
    notes: list[str] = field(default_factory=list)

    @property
    def expected_rounds(self) -> int | None:
        """Rounds the run's settings ask for (seeds x rounds per seed), if known."""
        seeds, per_seed = self.settings.get("seeds"), self.settings.get("rounds_per_seed")
        return len(seeds) * int(per_seed) if isinstance(seeds, list) and per_seed else None


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise IGDError(f"{path}: cannot read it ({' '.join(str(e).split())}); is this a benchmark run?") from e
    if not isinstance(data, dict):
        raise IGDError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def _convert(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for key in _INT_COLUMNS:
        if key in out:
            out[key] = int(out[key])
    for key in _FLOAT_COLUMNS:
        if key in out and out[key] not in ("", None):
            out[key] = float(out[key])
    for key in ("cause", "object_name", "target_name", "end_reason", "scene_id"):
        if key in out:
            out[key] = "" if out[key] is None else str(out[key])
    return out


def _read_csv(path: Path, columns) -> list[dict[str, Any]]:
    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            missing = sorted(set(columns) - set(reader.fieldnames or ()))
            if missing:
                raise IGDError(f"{path}: not a benchmark log (missing columns {', '.join(missing)})")
            return [_convert(row) for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise IGDError(f"{path}: cannot read it ({' '.join(str(e).split())})") from e
    except (TypeError, ValueError) as e:  # a number column holding text, a short row
        if isinstance(e, IGDError):
            raise
        raise IGDError(f"{path}: a row does not parse ({' '.join(str(e).split())})") from e


def _round_files(path: Path) -> tuple[dict[tuple, RoundResult], list[str]]:
    """The stored round records by ``(seed, round_id)``, and the names of unreadable ones."""
    results, bad = {}, []
    for file in sorted((path / runner.ROUNDS_DIR).glob("s*_r*.json")):
        try:
            result = RoundResult.from_dict(json.loads(file.read_text()))
        except (OSError, ValueError):
            bad.append(file.name)
            continue
        results[(result.seed, result.round_id)] = result
    return results, bad


def _rows_of(results) -> tuple[list, list]:
    ordered = sorted(results, key=lambda r: (r.seed, r.round_id))
    rounds = [{"round_id": r.round_id, "seed": r.seed, "object_count": r.object_count, "end_reason": r.end_reason}
              for r in ordered]
    grasps = [_convert(g) for r in ordered for g in r.grasps]
    return rounds, grasps


def _settings(path: Path) -> tuple[dict[str, Any], bool]:
    """Settings from ``summary.json`` (preferred) or ``config.json``; and whether a summary exists."""
    summary_path, config_path = path / runner.SUMMARY_FILE, path / runner.CONFIG_FILE
    settings: dict[str, Any] = {}
    if config_path.is_file():
        config = _read_json(config_path)
        settings.update({k: config[k] for k in SETTINGS if k in config})
        if "rounds" in config:
            settings["rounds_per_seed"] = config["rounds"]
    has_summary = summary_path.is_file()
    if has_summary:
        summary = _read_json(summary_path)
        settings.update({k: summary[k] for k in (*SETTINGS, "rounds_per_seed") if k in summary})
    return settings, has_summary


def load_run(path: str | Path) -> Run:
    """Read one run folder; :class:`IGDError` (naming the folder or file) when it is not a run."""
    path = Path(path)
    if not path.exists():
        raise IGDError(f"{path}: no such run folder")
    if not path.is_dir():
        raise IGDError(f"{path}: not a folder; expected a benchmark run folder (igd bench --out)")
    markers = (runner.CONFIG_FILE, runner.SUMMARY_FILE, runner.ROUNDS_CSV, runner.ROUNDS_DIR)
    if not any((path / m).exists() for m in markers):
        raise IGDError(f"{path}: not a benchmark run (none of {', '.join(markers)} is there)")
    settings, has_summary = _settings(path)
    results, bad = _round_files(path)
    notes = [f"{len(bad)} unreadable round file(s) skipped: {', '.join(bad[:3])}{' ...' if len(bad) > 3 else ''}"
             ] if bad else []

    rounds_csv, grasps_csv = path / runner.ROUNDS_CSV, path / runner.GRASPS_CSV
    csv_rounds = csv_grasps = None
    if rounds_csv.is_file() and grasps_csv.is_file():
        csv_rounds = _read_csv(rounds_csv, runner.ROUNDS_CSV_COLUMNS)
        csv_grasps = _read_csv(grasps_csv, GRASP_COLUMNS)
    csv_keys = {(r["seed"], r["round_id"]) for r in csv_rounds or ()}
    if csv_rounds is not None and set(results) <= csv_keys:
        rounds, grasps, source = csv_rounds, csv_grasps, "csv"
    else:
        rounds, grasps = _rows_of(results.values())
        source = "round files"
        if csv_rounds is not None:
            notes.append(f"{len(set(results) - csv_keys)} round(s) newer than rounds.csv (a run in progress)")

    run = Run(path, settings, rounds, grasps, source, partial=False, notes=notes)
    expected = run.expected_rounds
    if not has_summary:
        run.notes.append("no summary.json: the run is in progress or was stopped")
    if expected is not None and len(rounds) < expected:
        run.notes.append(f"{len(rounds)} of {expected} rounds stored")
    if not rounds:
        run.notes.append("no rounds yet")
    run.partial = bool(not has_summary or (expected is not None and len(rounds) < expected)
                       or source != "csv" or not rounds)
    return run
