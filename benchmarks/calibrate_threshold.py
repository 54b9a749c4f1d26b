"""Match IGD's quality threshold to GIGA's operating point on the validation scenes.

IGD's quality ``q = a·v`` multiplies two probabilities, and its Grasp Classifier ``v`` is trained
against 96 negatives per positive with a focal loss, so ``v`` sits far below 1 even at labelled
successful grasps: GIGA's threshold 0.5 (a calibrated BCE probability) is not the same operating
point for IGD. (The reference code hides this by ranking on ``sqrt(a·v)``.) This script measures, on
the validation split of a processed root, the share of *successful* labelled grasps whose quality
passes GIGA's threshold with GIGA's network, and returns the IGD threshold at which the same share of
those grasps passes with IGD's network (``q = a(p)·v(p, r)`` at the labelled position and
orientation). The released IGD weights carry that threshold in their config (weights/*.md).

    .venv/bin/python benchmarks/calibrate_threshold.py --giga runs/train/giga-packed/best.pt \\
        --igd runs/train/igd-packed/best.pt --data data/processed/packed_train_100_dex
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import torch


def qualities(giga, igd, dataset):
    """GIGA's and IGD's quality at every item's labelled grasp, and the labels: three (N,) arrays."""
    from igd.nn.triplane import normalise

    q_giga, q_igd, labels = [], [], []
    with torch.no_grad():
        for i in range(len(dataset)):
            item = dataset[i]
            grid, pos, quat = item["grid"][None], item["pos"][None, None], item["quat"][None, None]
            q_giga.append(float(giga.net(grid, pos).qual[0, 0]))
            planes = igd.net.encode(grid)
            p = normalise(pos)
            a = torch.sigmoid(igd.net.affordance(planes, p))[0, 0]
            v = torch.sigmoid(igd.net.classify(planes, p, quat))[0, 0]
            q_igd.append(float(a * v))  # q = a·v (paper)
            labels.append(int(item["label"]))
    return np.array(q_giga), np.array(q_igd), np.array(labels)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--giga", required=True, help="GIGA checkpoint")
    parser.add_argument("--igd", required=True, help="IGD checkpoint")
    parser.add_argument("--data", required=True, help="processed root (its validation split is used)")
    parser.add_argument("--split", default="val")
    parser.add_argument("--giga-threshold", type=float, default=0.5, help="GIGA's threshold (GIGA's protocol)")
    parser.add_argument("--json", help="write the numbers here")
    args = parser.parse_args(argv)

    from igd.data.datasets import GraspDataset
    from igd.errors import IGDError
    from igd.planners.base import load_planner

    torch.manual_seed(0)
    try:
        giga, igd = load_planner("giga", args.giga), load_planner("igd", args.igd)
        dataset = GraspDataset(args.data, split=args.split, occ_points=0, seed=0)
    except IGDError as e:
        print(f"calibrate_threshold: {e}", file=sys.stderr)
        return 2
    q_giga, q_igd, labels = qualities(giga, igd, dataset)
    pos = labels == 1
    recall = float(np.mean(q_giga[pos] >= args.giga_threshold))
    # the IGD threshold passing the same share of successful labelled grasps
    threshold = float(np.quantile(q_igd[pos], 1.0 - recall)) if recall > 0 else float(q_igd[pos].max())
    out = {
        "data": args.data, "split": args.split, "grasps": int(len(labels)), "positives": int(pos.sum()),
        "giga_threshold": args.giga_threshold, "giga_recall": recall,
        "giga_negatives_passing": float(np.mean(q_giga[~pos] >= args.giga_threshold)),
        "igd_threshold": threshold,
        "igd_negatives_passing": float(np.mean(q_igd[~pos] >= threshold)),
        "igd_q_positives_quantiles": np.quantile(q_igd[pos], [0.1, 0.5, 0.9]).round(4).tolist(),
        "igd_q_negatives_quantiles": np.quantile(q_igd[~pos], [0.1, 0.5, 0.9]).round(4).tolist(),
    }
    print(json.dumps(out, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
