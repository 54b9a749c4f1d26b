"""Convert GIGA and IGD checkpoints whose width head predicts voxel units to workspace units, in place.

Checkpoints written before the width unit was recorded (no ``width_unit`` in their config) predict
the opening width in voxel units (metres / 0.0075); today's GIGA and IGD predict metres / 0.3, as
the references do. The width head ends in one linear layer, so multiplying its weight and bias by
0.0075 / 0.3 = 1/40 gives the same widths in the new unit (:func:`igd.nn.width.convert_width_head`,
the function the loader applies to such files). Every other tensor is kept byte for byte; the config
is written out in full (with ``width_unit = "workspace"`` and, for old files, ``plane_mapping =
"ours"``, the mapping they were trained with). A file that already records its unit is left alone,
so the script can be rerun:

    .venv/bin/python benchmarks/convert_width_unit.py weights/giga-packed.pt weights/giga-pile.pt \\
        weights/igd-packed.pt weights/igd-pile-transfer.pt

Prints, per file, what it did and the new size and sha256 (for the weights cards).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import sys
from pathlib import Path


def convert(path: Path, out: Path | None = None) -> str:
    """Convert one checkpoint (``out``: where to write; default in place). Returns a one-line report."""
    import torch

    from igd.errors import IGDError
    from igd.planners.base import build_config, get_planner_class, read_checkpoint

    payload = read_checkpoint(path)
    kind = payload["planner"]
    if kind not in ("giga", "igd"):
        raise IGDError(f"{path}: a '{kind}' checkpoint; only GIGA and IGD checkpoints have a width unit to convert")
    if "width_unit" in payload["config"]:
        return f"{path}: already in {payload['config']['width_unit']} units, left alone"
    cls = get_planner_class(kind)
    upgraded = cls.upgrade_checkpoint(payload)
    config = build_config(cls.config_class, upgraded["config"])  # checks the fields; fills plane_mapping
    upgraded = {**upgraded, "config": dataclasses.asdict(config)}
    cls(config).load_state_dict(upgraded["state_dict"])  # it still loads strictly
    out = Path(out or path)
    tmp = out.with_suffix(out.suffix + ".tmp")
    torch.save(upgraded, tmp)
    tmp.replace(out)
    data = out.read_bytes()
    return (f"{path}: width head × 1/40 (voxel → workspace units) → {out}, {len(data):,} bytes, "
            f"sha256 {hashlib.sha256(data).hexdigest()}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", type=Path, help="igd checkpoints of GIGA or IGD")
    parser.add_argument("--out", type=Path, help="write the (single) converted checkpoint here instead")
    args = parser.parse_args(argv)

    from igd.errors import IGDError

    if args.out is not None and len(args.checkpoints) != 1:
        parser.error("--out takes one checkpoint")
    try:
        for path in args.checkpoints:
            print(convert(path, args.out))
    except IGDError as e:
        print(f"convert_width_unit: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
