"""Write the joint run's numbers into the ``| benchmark |`` row of every released card (weights/*.md).

    .venv/bin/python benchmarks/card_benchmarks.py            # reads runs/results/<scene>/<label>/summary.json

Each card names its planner and scene; the row says GSR / DR (mean ± std over seeds 0–4) of that
release in the joint run of ``benchmarks/results.sh``, beside the paper's numbers where the paper has
the model. Only that row changes; a card whose run is missing keeps its row.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: card stem -> (label in the joint run, scene, the paper's GSR / DR or None)
CARDS = {
    "giga-packed-authors": ("giga-authors", "packed", "GIGA's paper: 84.8 / 85.1 on its own objects"),
    "giga-pile-authors": ("giga-authors", "pile", "GIGA's paper: 69.5 / 49.0 on its own objects"),
    "vgn-packed-authors": ("vgn-authors", "packed", "the papers' VGN row: 72.5 / 76.7 on their objects"),
    "vgn-pile-authors": ("vgn-authors", "pile", "the papers' VGN row: 59.3 / 43.5 on their objects"),
    "giga-packed": ("giga-authors-init", "packed", None),
    "giga-packed-scratch": ("giga", "packed", None),
    "giga-packed-mined": ("giga-mined", "packed", None),
    "giga-pile": ("giga-authors-init", "pile", None),
    "giga-pile-scratch": ("giga-2000-neg-e20", "pile", None),
    "igd-packed": ("igd-mined", None, None),  # igd-pile is the same file: its card holds both scene types
    "igd-packed-transfer": ("igd-authors-init-d8-e20-n4", "packed", None),
    "igd-packed-scratch": ("igd-giga-init-n4", "packed", None),
    "igd-pile-transfer": ("igd-authors-init-2000-d8-e8-n4", "pile", None),
    "giga-pile-mined": ("giga-mined", "pile", None),
    "igd-pile-scratch": ("igd-giga-init-n4", "pile", None),
    "igd-packed-v1": ("igd-ddim10", "packed", None),
    "igd-pile-v1": ("igd-ddim10", "pile", None),
    "vgn-packed": ("vgn", "packed", None),
    "vgn-pile": ("vgn", "pile", None),
    "vgn_conv": ("vgn-released", None, None),
}


def _numbers(root: Path, label: str, scene: str) -> str | None:
    path = root / scene / label / "summary.json"
    if not path.is_file():
        return None
    s = json.loads(path.read_text())
    return (f"{scene}: GSR {s['gsr']:.1f} ± {s['gsr_std']:.1f} %, DR {s['dr']:.1f} ± {s['dr_std']:.1f} % "
            f"({s['successes']}/{s['attempts']} grasps, `{s['object_set']}`)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default=str(ROOT / "runs" / "results"))
    args = ap.parse_args()
    root = Path(args.root)
    for stem, (label, scene, paper) in CARDS.items():
        card = ROOT / "weights" / f"{stem}.md"
        parts = [n for n in (_numbers(root, label, sc) for sc in ((scene,) if scene else ("packed", "pile"))) if n]
        if not parts:
            print(f"{card.name}: no run of '{label}' yet, unchanged")
            continue
        text = ("side view, `dex` noise, seeds 0–4 × 20 rounds, the joint run (`bash benchmarks/results.sh`; "
                "every planner in [docs/results.md](../docs/results.md)): " + "; ".join(parts))
        if paper:
            text += f" ({paper})"
        row = f"| benchmark | {text} |"
        old = card.read_text()
        new, n = re.subn(r"^\| benchmark( here)? \|.*\|$", lambda _: row, old, count=1, flags=re.M)
        if n == 0:
            raise SystemExit(f"{card}: no '| benchmark |' row")
        card.write_text(new)
        print(f"{card.name}: {row}")


if __name__ == "__main__":
    main()
