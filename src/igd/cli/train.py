r"""Train a learned planner (vgn, giga, igd) on processed data, on Lightning Fabric (CPU or GPUs).

examples:
  # VGN on one processed root, 12 epochs, 32 grasps of each scene per item
  igd train --planner vgn --data data/pile/processed --out runs/vgn-pile --epochs 12 --seed 0

  # GIGA on pile + packed (GIGA's released data keeps occupancy under the raw roots), 32 grasps per scene
  igd train --planner giga --data data/pile/processed --data data/packed/processed \
      --raw data/pile/raw --raw data/packed/raw --out runs/giga --epochs 12 --grasps-per-scene 32

  # IGD, a quick smoke run: a small network, 20 steps
  igd train --planner igd --data data/pile/processed --out runs/igd-smoke --epochs 1 --max-steps 20 \
      --set features=8 --set unet_filters=8

  # GIGA with 32 more labelled negatives (dropped by balancing) and 32 certain negatives per scene item
  igd process data/raw/packed-train data/processed/packed-train-dex --add-negatives
  igd train --planner giga --data data/processed/packed-train-dex --out runs/giga-neg --epochs 12 \
      --dropped-negatives 32 --certain-negatives 32

  # GIGA fine-tuned on the grasps it would execute on its training scenes, labelled (igd mine), 16 per item
  igd mine runs/giga-neg/best.pt --data data/processed/packed-train-dex --name giga-neg --per-scene 16
  igd train --planner giga --init runs/giga-neg/best.pt --data data/processed/packed-train-dex \
      --out runs/giga-mined --epochs 5 --dropped-negatives 32 --certain-negatives 32 --mined giga-neg --mined-rows 16

  # continue a killed run (same settings; more --epochs is allowed)
  igd train --planner igd --data data/pile/processed --out runs/igd --epochs 12 --resume

  # four GPUs with DDP, bf16 autocast (the same command on a CPU runs on the CPU)
  igd train --planner igd --data data/pile/processed --out runs/igd --epochs 12 \
      --accelerator gpu --devices 4 --strategy ddp --precision bf16-mixed

  # then benchmark the best checkpoint
  igd bench --planner igd --weights runs/igd/best.pt --scene packed

outputs (in --out):
  train.json  last.ckpt (resume)  best.pt (best validation loss)  metrics.csv  tensorboard/ (if installed)
"""

from __future__ import annotations

import argparse

from igd.cli._common import parse_assignments
from igd.errors import IGDError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``igd train``."""
    p = parser.add_argument
    p("--planner", required=True, help="the planner type to train: vgn, giga or igd (a type, not a released name)")
    p("--data", action="append", required=True, metavar="PROCESSED",
      help="processed root (repeatable: the roots are concatenated)")
    p("--raw", action="append", default=[], metavar="RAW",
      help="raw root holding occ/ (GIGA's layout); one for all --data or one per --data")
    p("--out", required=True, metavar="RUN", help="run folder")
    p("--epochs", type=int, default=12, help="epochs (default: 12, the paper's)")
    p("--seed", type=int, default=0, help="seed of everything random (default: 0)")
    p("--batch-size", type=int, default=32, help="items per step and device: grasps, or scenes when "
      "scene-batched (default: 32)")
    p("--grasps-per-scene", type=int, metavar="K",
      help="K grasps per scene item (scene-batched; 0: one grasp per item); default: 32")
    p("--lr", type=float, default=2e-4, help="AdamW learning rate (default: 2e-4); x0.1 at 0.75 and 0.92 of the epochs")
    p("--weight-decay", type=float, default=1e-2, help="AdamW weight decay (default: 0.01)")
    p("--max-steps", type=int, help="stop after this many optimiser steps in all")
    p("--val-every", type=int, default=1, help="validate every N epochs (default: 1)")
    p("--log-every", type=int, default=10, help="steps per train row of metrics.csv (default: 10)")
    p("--dropped-negatives", type=int, default=0, metavar="D",
      help="per scene item, D more rows from the labelled negatives balancing dropped (PROCESSED/dropped/, "
           "made by 'igd process RAW PROCESSED --add-negatives'); training split only (default: 0)")
    p("--certain-negatives", type=int, default=0, metavar="C",
      help="per scene item, C certain negatives over the volume (PROCESSED/negatives/, same command): label 0, "
           "quality / affordance only; training split only (default: 0)")
    p("--mined", metavar="NAME[,NAME]", help="mined sets of the processed root (PROCESSED/mined/NAME/, made by "
      "'igd mine CHECKPOINT --data PROCESSED --name NAME'; several pooled): the grasps a planner would execute, labelled")
    p("--mined-rows", type=int, default=0, metavar="M",
      help="per scene item, M rows from the scene's mined set (--mined); training split only (default: 0)")
    p("--train-scenes", type=int, metavar="N", help="train on the first N training scenes of each root (scene-id "
      "order: nested subsets, for learning curves); validation keeps the whole split (default: all)")
    p("--occ-points", type=int, default=2048, help="occupancy points per scene (giga, igd; default: 2048)")
    p("--augment", action="store_true", help="random 90-degree turns about the vertical axis")
    p("--workers", type=int, default=0, help="DataLoader worker processes (default: 0)")
    p("--init", metavar="CKPT", help="start from the weights of a checkpoint, a path or a released name: of the same "
                                     "planner type all of them (e.g. giga-packed); of another type the tensors that "
                                     "match (a transfer, e.g. --planner igd --init giga-packed-authors)")
    p("--set", dest="planner_set", action="append", metavar="KEY=VALUE",
      help="planner config field, e.g. --set features=16 (repeatable)")
    p("--accelerator", default="cpu", choices=("cpu", "gpu", "cuda", "mps", "auto"), help="(default: cpu)")
    p("--devices", type=int, default=1, help="devices (processes) on this node (default: 1)")
    p("--strategy", default="auto", choices=("auto", "ddp", "ddp_spawn", "fsdp"), help="(default: auto)")
    p("--precision", default="32", choices=("32", "bf16-mixed", "16-mixed"), help="(default: 32)")
    p("--resume", action="store_true", help="continue from RUN/last.ckpt (same settings required)")
    p("--no-progress", action="store_true", help="no progress bar")


def _checked_planner_and_init(planner: str, init: str | None) -> tuple[str, str | None]:
    """``--planner`` is a planner type here; ``--init`` a checkpoint path or a released name (its file)."""
    from igd.planners.base import registry
    from igd.released import RELEASED, resolve_planner

    if planner not in registry() and planner in RELEASED:
        raise IGDError(f"igd train --planner takes the planner type to train ('{RELEASED[planner].planner}'), not a "
                       f"released name; to start from the weights of '{planner}' pass --init {planner}")
    if init is not None and init in RELEASED:  # its own file, whatever its type (another type: a transfer)
        init = str(resolve_planner(init).weights)
    return planner, init


def config_from_args(args: argparse.Namespace):
    from igd.train.config import TrainConfig

    planner, init = _checked_planner_and_init(args.planner, args.init)
    return TrainConfig(
        planner=planner, data=args.data, raw=args.raw, out=args.out, epochs=args.epochs, seed=args.seed,
        batch_size=args.batch_size, grasps_per_scene=args.grasps_per_scene, lr=args.lr,
        weight_decay=args.weight_decay, max_steps=args.max_steps, val_every=args.val_every,
        log_every=args.log_every, dropped_negatives=args.dropped_negatives,
        certain_negatives=args.certain_negatives, mined=args.mined, mined_rows=args.mined_rows,
        train_scenes=args.train_scenes, occ_points=args.occ_points, augment=args.augment, workers=args.workers,
        init=init, planner_config=parse_assignments(args.planner_set), accelerator=args.accelerator,
        devices=args.devices, strategy=args.strategy, precision=args.precision, resume=args.resume,
        progress=not args.no_progress)


def run(args: argparse.Namespace) -> int:
    from igd.train import train

    summary = train(config_from_args(args))
    if not summary["global_zero"]:  # other DDP ranks stay quiet
        return 0
    best = "none" if summary["best_val"] is None else f"{summary['best_val']:.4f}"
    print(f"trained {args.planner}: epoch {summary['epoch']}, step {summary['step']}, best val loss {best}; "
          f"files in {summary['run']}")
    return 0
