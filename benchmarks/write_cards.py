"""Write the cards of our released weights (weights/<name>.md) from the files the release left behind.

Reads weights/<name>.pt (size, sha256), runs/train/<name>/ (train.json, metrics.csv),
runs/train/release-<name>.json (sha256 at release, parameters, config overrides:
benchmarks/release_weights.py), runs/train/calibrate-<scene>.json (IGD's
threshold: benchmarks/calibrate_threshold.py), data/processed/<scene>_train_100_dex/process.json and
the joint benchmark run runs/results/<scene>/<label>/summary.json (benchmarks/results.sh). Times are
given on the command line (wall clock of each training run, measured from its log files).

    .venv/bin/python benchmarks/write_cards.py --minutes igd=22.5 giga=4.1 vgn=40
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TITLES = {"igd": "Implicit Grasp Diffusion (IGD)", "giga": "GIGA", "vgn": "VGN (trained here)"}
BENCH_LABEL = {"igd": "igd-ddim10", "giga": "giga", "vgn": "vgn"}
VAL_KEYS = {"igd": ("loss", "loss_ddpm", "aff_accuracy", "grasp_accuracy", "occ_accuracy"),
            "giga": ("loss", "accuracy", "precision", "recall", "occ_accuracy"),
            "vgn": ("loss", "accuracy", "precision", "recall")}


def _json(path: Path):
    return json.loads(path.read_text()) if path.is_file() else None


def best_val(run: Path) -> dict:
    rows = [r for r in csv.DictReader((run / "metrics.csv").open()) if r["split"] == "val"]
    return min(rows, key=lambda r: float(r["loss"]))


def width_row(released_sha256: str, sha256: str) -> str:
    """The card's row on the width unit and the plane mapping of a GIGA or IGD checkpoint."""
    row = ("| width unit, plane mapping | the width head predicts metres / 0.3 (`width_unit: workspace`, the "
           "reference's unit); `plane_mapping: ours` (the default)")
    if released_sha256 != sha256:  # released in voxel units, converted afterwards
        row += (f". Released in voxel units (metres / 0.0075; sha256 `{released_sha256}`) and converted exactly "
                "by `benchmarks/convert_width_unit.py` (the width head's output layer × 1/40): the same widths, "
                "and the same benchmark grasps, round by round (`benchmarks/compare_grasps.py`); the validation loss above "
                "was logged with the width term in voxel units")
    return row + " |"


def card(kind: str, scene: str, minutes: float) -> str:
    name = f"{kind}-{scene}"
    run = ROOT / "runs" / "train" / name
    release = _json(ROOT / "runs" / "train" / f"release-{name}.json")
    train = release["train"]
    process = _json(ROOT / "data" / "processed" / f"{scene}_train_100_dex" / "process.json")["summary"]
    data = (ROOT / "weights" / f"{name}.pt").read_bytes()
    size, sha256 = len(data), hashlib.sha256(data).hexdigest()
    val = best_val(run)
    vals = ", ".join(f"{k} {float(val[k]):.3f}" for k in VAL_KEYS[kind] if val.get(k, "") != "")
    lines = [f"# `{name}.pt` — {TITLES[kind]} on {scene} scenes, trained here", "", "| | |", "|---|---|",
             f"| planner | `{kind}` (`igd.load(\"{name}\")`, `igd bench --planner {kind} --weights weights/{name}.pt`) |",
             f"| size, sha256 | {size:,} bytes, `{sha256}` |",
             f"| parameters | {release['parameters']:,} (the paper's network sizes, the planner's defaults) |",
             f"| data | `igd generate --scene {scene} --scenes 100 --grasps-per-scene 120 --objects train --seed 0` "
             f"then `igd process ... --noise dex --seed 0` (docs/data.md): {process['scenes']} scenes of "
             f"`{scene}/train`, {process['rows']:,} balanced grasps ({process['positives']:,} positive), "
             f"{process['train_scenes']} scenes for training and {process['val_scenes']} for validation (split by scene) |",
             f"| command | `igd train --planner {kind} --data data/processed/{scene}_train_100_dex --out runs/train/{name} "
             f"--epochs {train['epochs']} --batch-size {train['batch_size']} --grasps-per-scene {train['grasps_per_scene']} "
             f"--augment --seed {train['seed']}` (one thread, `OMP_NUM_THREADS=1`), then "
             f"`benchmarks/release_weights.py runs/train/{name} --name {name}"
             + "".join(f" --set {k}={v}" for k, v in release["overrides"].items()) + "` (best validation epoch) |",
             f"| seed | {train['seed']} |",
             f"| training time | {minutes:.1f} min wall clock on one CPU thread of this 2-core machine, shared with "
             f"other jobs (the two scene types trained side by side) |",
             f"| validation (best epoch {val['epoch']} of {train['epochs']}) | {vals} |"]
    if kind in ("giga", "igd"):
        lines.append(width_row(release["sha256"], sha256))
    if release["overrides"]:
        cal = _json(ROOT / "runs" / "train" / f"calibrate-{scene}.json")
        lines.append(f"| quality threshold | {release['overrides']['threshold']} (instead of 0.5): the IGD threshold that "
                     f"passes the same share of the validation split's successful grasps ({100 * cal['giga_recall']:.1f} %) "
                     f"as GIGA's 0.5 with `giga-{scene}` (`benchmarks/calibrate_threshold.py`); see the planner's README |")
    summary = _json(ROOT / "runs" / "results" / scene / BENCH_LABEL[kind] / "summary.json")
    if summary:
        lines.append(f"| benchmark | {scene} scenes, side view, `dex` noise, seeds 0–4 × {summary['rounds_per_seed']} rounds: "
                     f"GSR {summary['gsr']:.1f} ± {summary['gsr_std']:.1f} %, DR {summary['dr']:.1f} ± "
                     f"{summary['dr_std']:.1f} % (`bash benchmarks/results.sh`; all planners in "
                     f"[docs/results.md](../docs/results.md)) |")
        n4 = _json(ROOT / "runs" / "results" / scene / "igd-ddim10-n4" / "summary.json") if kind == "igd" else None
        if n4:
            lines[-1] = lines[-1][:-2] + (f"; with N = 4 sampling rounds (`--rounds-n 4`): GSR {n4['gsr']:.1f} ± "
                                          f"{n4['gsr_std']:.1f} %, DR {n4['dr']:.1f} ± {n4['dr_std']:.1f} % |")
    lines += ["", "## Caveats", "",
              "- Trained on 100 scenes (the paper: about 2,000 per scene type and 12 epochs on a GPU) within this "
              "machine's CPU budget: it is a working baseline of the pipeline, far from the papers' numbers. "
              "Retrain on more data with the command above (`igd generate --resume --scenes 2000`).",
              "- Compare planners within one run of our benchmark, never with the papers' absolute numbers "
              "(other objects)."]
    if kind in ("igd", "giga"):
        lines.append("- `occ_accuracy` equals the share of empty occupancy points (about 0.96): the occupancy head "
                     "still calls every point empty at this budget; it is an auxiliary loss and no planner output "
                     "depends on it.")
    if kind == "igd":
        lines.append("- `grasp_accuracy` equals the share of negatives among the Grasp Classifier's samples (96 of "
                     "100 per positive): its probability `v` ranks labelled grasps above their negatives but stays "
                     "below 0.5 (at most about 0.3), which is why the quality threshold is calibrated (above).")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", nargs="+", required=True, metavar="PLANNER=MIN")
    p.add_argument("--planners", nargs="+", default=["igd", "giga", "vgn"])
    args = p.parse_args(argv)
    minutes = {k: float(v) for k, v in (m.split("=") for m in args.minutes)}
    for kind in args.planners:
        for scene in ("packed", "pile"):
            path = ROOT / "weights" / f"{kind}-{scene}.md"
            path.write_text(card(kind, scene, minutes[kind]))
            print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
