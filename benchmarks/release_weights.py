"""Release a training run's best checkpoint under weights/: weights and config only (no optimiser),
with optional config overrides (e.g. IGD's calibrated threshold); prints size, sha256 and parameters.

    .venv/bin/python benchmarks/release_weights.py runs/train/igd-packed --name igd-packed --set threshold=0.2
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="training run folder (best.pt, train.json)")
    parser.add_argument("--name", required=True, help="released name, e.g. igd-packed (weights/NAME.pt)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)

    from igd.cli._common import parse_assignments
    from igd.errors import IGDError
    from igd.planners.base import get_planner_class, read_checkpoint

    run = Path(args.run)
    try:
        checkpoint = read_checkpoint(run / "best.pt")  # read once: its type tag names the planner, its weights load
        kind = checkpoint["planner"]
        planner = get_planner_class(kind).from_checkpoint(checkpoint, run / "best.pt", **parse_assignments(args.overrides))
    except IGDError as e:
        print(f"release_weights: {e}", file=sys.stderr)
        return 2
    out = planner.save_pretrained(ROOT / "weights" / f"{args.name}.pt")
    data = out.read_bytes()
    params = sum(p.numel() for p in planner.net.parameters())
    info = {"name": args.name, "planner": kind, "file": str(out.relative_to(ROOT)), "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(), "parameters": params,
            "overrides": parse_assignments(args.overrides),
            "train": json.loads((run / "train.json").read_text()) if (run / "train.json").is_file() else None}
    print(json.dumps(info, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
