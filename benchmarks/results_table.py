"""The joint run's table (docs/results.md, the README): one row per planner label, both scene types.

    .venv/bin/python benchmarks/results_table.py                   # runs/results/<scene>/<label>/summary.json
    .venv/bin/python benchmarks/results_table.py --root runs/results --markdown

GSR and DR are the mean ± sample std over the seeds (``summary.json``), planning the median per grasp
as logged by the benchmark (on a shared machine: compare with ``benchmarks/bench_latency.py``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

#: Row order and the words for each label of benchmarks/results.sh.
LABELS = {
    "giga-authors": "GIGA, the authors' weights (`giga-{packed,pile}-authors`)",
    "vgn-authors": "VGN retrained by GIGA's authors (`vgn-{packed,pile}-authors`)",
    "vgn-released": "VGN, its authors' original release (`vgn`)",
    "igd-ddim10": "IGD trained here, DDIM 10 steps, N = 1 (`igd-{packed,pile}`)",
    "igd-ddim10-n4": "IGD trained here, N = 4",
    "igd-ddpm100": "IGD trained here, DDPM 100 steps",
    "giga": "GIGA trained here (`giga-{packed,pile}`)",
    "vgn": "VGN trained here (`vgn-{packed,pile}`)",
    "topdown": "topdown: highest observed point, straight down (no weights)",
}
SCENES = ("packed", "pile")


def _cell(root: Path, scene: str, label: str):
    path = root / scene / label / "summary.json"
    return json.loads(path.read_text()) if path.is_file() else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default="runs/results")
    args = ap.parse_args()
    root = Path(args.root)
    print("| planner | packed GSR | packed DR | pile GSR | pile DR | attempts (packed / pile) | planning ms (packed / pile) |")
    print("|---|---|---|---|---|---|---|")
    for label, words in LABELS.items():
        cells = [_cell(root, scene, label) for scene in SCENES]
        if not any(cells):
            continue
        rates, attempts, plan = [], [], []
        for s in cells:
            if s is None:
                rates += ["–", "–"]
                attempts.append("–")
                plan.append("–")
                continue
            partial = "" if s["rounds"] == s["rounds_per_seed"] * len(s["seeds"]) else " (partial)"
            rates += [f"{s['gsr']:.1f} ± {s['gsr_std']:.1f}{partial}", f"{s['dr']:.1f} ± {s['dr_std']:.1f}"]
            attempts.append(str(s["attempts"]))
            plan.append(f"{1000 * s['planning_time_median']:.0f}")
        print(f"| {words} | " + " | ".join(rates) + f" | {' / '.join(attempts)} | {' / '.join(plan)} |")


if __name__ == "__main__":
    main()
