"""Training throughput: grasp samples per second of each planner's training step, scene-batched against
one grasp per item, in one run (issue 4, item 7).

A step is what ``igd train`` does per batch: the DataLoader fetches and collates the items
(:func:`igd.train.loop.build_datasets`, :func:`igd.data.datasets.collate`), then the planner's
``training_module().loss(batch)``, ``fabric.backward(loss)`` and an AdamW step, on Lightning Fabric
(CPU, fp32). Two ways to fill a batch:

- ``item:B``  one grasp per item, B items, each carrying its own grid and occupancy points (the
  reference implementation's way): B grasp samples per step, B grids encoded;
- ``scene:SxK`` S scenes with K grasps each (``--grasps-per-scene K``): S·K grasp samples per step,
  S grids encoded. All three planners' losses take scene batches (VGN reads the K grasps of a scene
  from one dense forward pass); a planner whose loss did not would get them flattened to S·K items,
  as ``igd train`` does (the table's grids/step then counts S·K).

**Equal loss per sample.** Each grasp sample gets the same loss terms in both modes: for IGD the
diffusion term on its 4 symmetric targets, the affordance and width terms, the classifier's focal loss
on its 4 targets and 96 negatives (``neg_rounds = 10``), and the occupancy term (a mean over the
points of its scene); for GIGA quality, rotation, width and occupancy; for VGN quality, rotation and
width. The harness checks it: on the same grasps (S scenes × K grasps from the data, and the same
S·K grasps as one-grasp items, :func:`igd.data.datasets.flatten_grasps`), with dropout off and the same
noise generator, the losses and every metric must agree within ``rtol = 1e-4``; it stops otherwise.

Timing: ``--warmup`` steps are run first and not counted; the table gives the median over ``--steps``
steps of the whole step (data + loss + backward + optimiser step) and the data part alone; samples/s =
grasp samples per step / median step time. Grids are read once into the dataset's cache before timing
(as in any epoch after the first); occupancy files are read per item, as in training. Default (paper)
network sizes unless ``--set`` overrides them (the table says so).

The reference implementation of IGD trains at about 14 grasp samples/s on this 2-core machine (batch
32, one grasp point per item, 96 negatives each); the ``× ref`` column is IGD's rate over that figure.

Examples:
    python benchmarks/bench_train.py --threads 2 --steps 10 --warmup 2 --json runs/bench_train.json
    python benchmarks/bench_train.py --planners igd --modes item:32 scene:4x32 --steps 5
    python benchmarks/bench_train.py --steps 2 --warmup 1 --set features=8 --set hidden=16  # a smoke test
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import math
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from igd.planners.base import registry

REFERENCE = {"planner": "igd", "mode": "item:32", "samples_per_s": 14.0,
             "what": "reference IGD implementation, batch 32, one grasp point per item, 96 negatives each"}
DEFAULT_DATA = "data/processed/packed_train_100_dex"
DEFAULT_MODES = ["item:32", "scene:1x32", "scene:4x8", "scene:4x32"]
PLANNERS = tuple(sorted(n for n, c in registry().items() if c.learned))
CHECK_RTOL, CHECK_ATOL = 1e-4, 1e-6


# --------------------------------------------------------------------------------------------------
# modes and data
# --------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Mode:
    name: str
    items: int  # DataLoader batch size: grasps (item) or scenes (scene)
    k: int  # grasps per scene item; 0 = one grasp per item

    @property
    def samples(self) -> int:
        return self.items * max(1, self.k)


def parse_mode(text: str) -> Mode:
    kind, _, size = text.partition(":")
    try:
        if kind == "item":
            b = int(size)
            if b >= 1:
                return Mode(f"item:{b}", b, 0)
        elif kind == "scene":
            s, _, k = size.partition("x")
            s, k = int(s), int(k)
            if s >= 1 and k >= 1:
                return Mode(f"scene:{s}x{k}", s, k)
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"mode must be item:B or scene:SxK (positive integers), got {text!r}")


def synthetic_root(folder: Path, scenes: int = 12, grasps: int = 48, points: int = 8192, seed: int = 0) -> Path:
    """A small processed root in ``igd process``'s layout: random box grids, grasps (half positive),
    one occupancy file per scene. Enough to time a step; the numbers are not a real dataset's."""
    from igd.data import layout

    rng = np.random.default_rng(seed)
    root = Path(folder)
    layout.write_setup(root)
    rows, ids = [], []
    for s in range(scenes):
        sid = f"synthetic{s:04d}"
        ids.append(sid)
        grid = np.zeros((1, 40, 40, 40), np.float32)
        for _ in range(4):
            lo = rng.integers(5, 28, size=3)
            lo[2] = 0
            hi = lo + rng.integers(4, 10, size=3)
            grid[0, lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] = rng.uniform(0.3, 1.0)
        layout.write_grid(root, sid, grid)
        for g in range(grasps):
            q = rng.normal(size=4)
            q /= np.linalg.norm(q)
            x, y, z = rng.uniform(0.05, 0.25, size=3)
            rows.append((sid, *q, x, y, z, rng.uniform(0.02, 0.07), g % 2))
        pts = rng.uniform(0.0, 0.3, size=(points, 3)).astype(np.float16)
        occ = pts[:, 2].astype(np.float32) < 0.05
        layout.atomic_savez(layout.occ_dir(root, sid) / layout.occ_file_name(0), points=pts, occ=occ)
    layout.write_grasps(root, rows)
    layout.write_splits(root, ids[:-1], ids[-1:])
    return root


# --------------------------------------------------------------------------------------------------
# one planner, one mode
# --------------------------------------------------------------------------------------------------
def train_config(planner: str, mode: Mode, args, overrides: dict):
    """The :class:`~igd.train.TrainConfig` that ``igd train`` would build for this planner and mode."""
    from igd.train import TrainConfig

    extra = {} if args.occ_points is None else {"occ_points": args.occ_points}
    return TrainConfig(planner=planner, data=[args.data], out=os.path.join(tempfile.gettempdir(), "bench-train-unused"),
                       batch_size=mode.items, grasps_per_scene=mode.k, seed=args.seed, planner_config=dict(overrides),
                       progress=False, **extra)


def build(planner: str, mode: Mode, args, overrides: dict):
    """The planner (seeded, so every mode starts from the same weights) and its train split."""
    from igd.train.loop import build_datasets, build_planner

    cfg = train_config(planner, mode, args, overrides)
    torch.manual_seed(args.seed)
    model = build_planner(cfg)
    dataset = build_datasets(cfg, model, "train")
    return cfg, model, dataset


def _warm_grid_cache(dataset) -> None:
    for part in getattr(dataset, "datasets", [dataset]):
        for scene_id in part.scenes:
            part.grid(scene_id)


def indices_for(n: int, count: int, seed: int) -> list[int]:
    """``count`` item indices: the epochs' seeded permutations one after another (full batches only)."""
    from igd.train.loop import epoch_indices

    out, epoch = [], 0
    while len(out) < count:
        out += epoch_indices(n, seed, epoch)
        epoch += 1
    return out[:count]


def time_mode(fabric, planner: str, mode: Mode, args, overrides: dict) -> dict:
    """Run ``warmup + steps`` training steps; per-step wall times (whole step and data part)."""
    from igd.data.datasets import collate, flatten_grasps

    cfg, model, dataset = build(planner, mode, args, overrides)
    _warm_grid_cache(dataset)
    flatten = mode.k > 0 and not model.scene_batched_training
    net = model.training_module()
    net.train()
    optimizer = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    net, optimizer = fabric.setup(net, optimizer)
    net.mark_forward_method("loss")
    total = args.warmup + args.steps
    loader = torch.utils.data.DataLoader(dataset, batch_size=mode.items, collate_fn=collate, num_workers=0,
                                         sampler=indices_for(len(dataset), total * mode.items, args.seed))
    loader = fabric.setup_dataloaders(loader, use_distributed_sampler=False)
    torch.manual_seed(args.seed)
    step_s, data_s, losses = [], [], []
    it = iter(loader)
    for _ in range(total):
        t0 = time.perf_counter()
        batch = next(it)
        if flatten:
            batch = flatten_grasps(batch)
        t1 = time.perf_counter()
        loss, _ = net.loss(batch)
        if not torch.isfinite(loss.detach()):
            raise SystemExit(f"bench_train: {planner} {mode.name}: the loss is {float(loss.detach())}")
        optimizer.zero_grad(set_to_none=True)
        fabric.backward(loss)
        optimizer.step()
        t2 = time.perf_counter()
        step_s.append(t2 - t0)
        data_s.append(t1 - t0)
        losses.append(float(loss.detach()))
    grasps = batch["pos"].shape[0] * (batch["pos"].shape[1] if batch["pos"].dim() == 3 else 1)
    assert grasps == mode.samples, (grasps, mode)
    step, data = step_s[args.warmup:], data_s[args.warmup:]
    median = float(np.median(step))
    return {
        "planner": planner, "mode": mode.name, "items_per_step": mode.items, "grasps_per_scene": mode.k,
        "samples_per_step": mode.samples, "grids_per_step": mode.samples if flatten else mode.items,
        "median_step_s": median, "mean_step_s": float(np.mean(step)), "min_step_s": float(np.min(step)),
        "max_step_s": float(np.max(step)), "median_data_s": float(np.median(data)),
        "samples_per_s": mode.samples / median, "warmup_step_s": step_s[:args.warmup], "step_s": step,
        "losses": losses, "flattened_to_items": flatten,
    }


# --------------------------------------------------------------------------------------------------
# equal loss per sample
# --------------------------------------------------------------------------------------------------
def check_equal_loss(planner: str, args, overrides: dict, s: int = 2, k: int = 4) -> dict:
    """The loss of S scenes × K grasps and of the same S·K grasps one per item agree (dropout off, same noise)."""
    from igd.data.datasets import collate, flatten_grasps

    _, model, dataset = build(planner, Mode(f"scene:{s}x{k}", s, k), args, overrides)
    net = model.training_module().eval()  # no dropout
    scene = collate([dataset[i] for i in range(min(s, len(dataset)))])
    items = flatten_grasps(scene)
    takes_generator = "generator" in inspect.signature(net.loss).parameters

    def loss_of(batch):
        extra = {"generator": torch.Generator().manual_seed(args.seed)} if takes_generator else {}
        with torch.no_grad():
            loss, metrics = net.loss(batch, **extra)
        return float(loss), metrics

    loss_s, metrics_s = loss_of(scene)
    loss_i, metrics_i = loss_of(items)
    worst = {key: abs(metrics_s[key] - metrics_i[key]) for key in metrics_s}
    ok = set(metrics_s) == set(metrics_i) and math.isclose(loss_s, loss_i, rel_tol=CHECK_RTOL, abs_tol=CHECK_ATOL) \
        and all(math.isclose(metrics_s[key], metrics_i[key], rel_tol=CHECK_RTOL, abs_tol=CHECK_ATOL)
                for key in metrics_s)
    out = {"planner": planner, "grasps": int(items["pos"].shape[0]), "scenes": int(scene["grid"].shape[0]),
           "loss_scene_batched": loss_s, "loss_one_per_item": loss_i, "abs_diff": abs(loss_s - loss_i),
           "max_metric_abs_diff": max(worst.values()), "terms": sorted(k for k in metrics_s if k.startswith("loss_")),
           "ok": ok}
    settings = getattr(net, "loss_settings", None)
    if settings is not None:
        out["negatives_per_grasp"] = settings.num_negatives
    return out


# --------------------------------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------------------------------
def table(rows: list[dict]) -> str:
    header = ("| planner | mode | grasps/step | grids/step | step s (median) | data s | samples/s | "
              "× item:32 | × ref 14/s |")
    lines = [header, "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        base = next((b for b in rows if b["planner"] == r["planner"] and b["mode"] == "item:32"), None)
        speedup = f"{r['samples_per_s'] / base['samples_per_s']:.2f}" if base else "-"
        ref = f"{r['samples_per_s'] / REFERENCE['samples_per_s']:.2f}" if r["planner"] == REFERENCE["planner"] else "-"
        lines.append(f"| {r['planner']} | {r['mode']} | {r['samples_per_step']} | {r['grids_per_step']} | "
                     f"{r['median_step_s']:.3f} | {r['median_data_s']:.3f} | {r['samples_per_s']:.1f} | "
                     f"{speedup} | {ref} |")
    return "\n".join(lines)


def machine() -> dict:
    import lightning_fabric

    return {"python": platform.python_version(), "torch": torch.__version__,
            "lightning_fabric": lightning_fabric.__version__, "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "loadavg_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None}


def parse_sets(items: list[str]) -> dict:
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"bench_train: --set expects KEY=VALUE, got {item!r}")
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("Examples:")[-1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--planners", nargs="+", choices=PLANNERS, default=["igd", "giga", "vgn"])
    ap.add_argument("--modes", nargs="+", type=parse_mode, default=[parse_mode(m) for m in DEFAULT_MODES],
                    help=f"item:B (one grasp per item) or scene:SxK (default: {' '.join(DEFAULT_MODES)})")
    ap.add_argument("--steps", type=int, default=10, help="timed steps per planner and mode (default: 10)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps first (default: 2)")
    ap.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's own choice)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", help=f"a processed root (default: {DEFAULT_DATA}; a small synthetic root if that "
                                   "is missing)")
    ap.add_argument("--synthetic", action="store_true", help="time on a small synthetic processed root")
    ap.add_argument("--occ-points", type=int, help="occupancy points per scene (default: igd train's, 2048)")
    ap.add_argument("--set", dest="sets", action="append", metavar="KEY=VALUE",
                    help="planner config override, e.g. --set hidden=16 (default: the paper's sizes)")
    ap.add_argument("--no-check", action="store_true", help="skip the equal-loss check")
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args(argv)
    if args.steps < 1 or args.warmup < 0:
        ap.error("--steps must be >= 1 and --warmup >= 0")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    overrides = parse_sets(args.sets)

    tmp = None
    if args.synthetic or (args.data is None and not Path(DEFAULT_DATA).is_dir()):
        tmp = tempfile.TemporaryDirectory(prefix="bench-train-")
        if not args.synthetic:
            print(f"bench_train: {DEFAULT_DATA} not found; timing on a small synthetic processed root",
                  file=sys.stderr)
        args.data = str(synthetic_root(Path(tmp.name) / "processed", seed=args.seed))
    elif args.data is None:
        args.data = DEFAULT_DATA
    if not (Path(args.data) / "grasps.csv").is_file():
        raise SystemExit(f"bench_train: --data {args.data}: not a processed root (no grasps.csv); "
                         "run `igd process` or pass --synthetic")
    from lightning_fabric import Fabric

    from igd.errors import IGDError

    fabric = Fabric(accelerator="cpu", devices=1, precision="32-true")
    fabric.launch()
    info = machine()
    print(f"# training throughput: {', '.join(args.planners)} on {args.data}; {info['torch_threads']} torch "
          f"threads, {info['cpu_count']} CPUs (load {info['loadavg_1min']}); {args.warmup} warm-up + "
          f"{args.steps} timed steps; network sizes: {'default (paper)' if not overrides else overrides}")
    if (info["loadavg_1min"] or 0) > 0.5:
        print(f"bench_train: warning: the machine is busy (load {info['loadavg_1min']:.1f}); the rates will be low",
              file=sys.stderr)
    checks, rows = [], []
    try:
        if not args.no_check:
            for planner in args.planners:
                c = check_equal_loss(planner, args, overrides)
                checks.append(c)
                neg = f", {c['negatives_per_grasp']} negatives per grasp" if "negatives_per_grasp" in c else ""
                print(f"equal loss per sample, {planner}: {c['scenes']} scenes x {c['grasps'] // c['scenes']} grasps "
                      f"vs the same {c['grasps']} grasps one per item: {c['loss_scene_batched']:.6f} vs "
                      f"{c['loss_one_per_item']:.6f} (|diff| {c['abs_diff']:.1e}, metrics {c['max_metric_abs_diff']:.1e}; "
                      f"terms {', '.join(c['terms'])}{neg}): {'OK' if c['ok'] else 'MISMATCH'}", flush=True)
                if not c["ok"]:
                    raise SystemExit(f"bench_train: {planner}: the two layouts give different losses")
        for planner in args.planners:
            for mode in args.modes:
                r = time_mode(fabric, planner, mode, args, overrides)
                rows.append(r)
                print(f"  {planner:4s} {mode.name:11s} {r['samples_per_s']:8.1f} samples/s  "
                      f"(step {r['median_step_s']:.3f} s, data {r['median_data_s']:.3f} s)", file=sys.stderr,
                      flush=True)
    except IGDError as e:
        raise SystemExit(f"bench_train: {e}") from e
    finally:
        if tmp is not None:
            tmp.cleanup()
    print()
    print(table(rows))
    print()
    print(f"samples/s = grasp samples per step / median step time (data + loss + backward + AdamW step). "
          f"Every sample has the same loss terms in both modes (checked above). × ref: over the reference "
          f"implementation's {REFERENCE['samples_per_s']:g} IGD samples/s ({REFERENCE['what']}).")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        settings = {k: (v if not isinstance(v, list) or not v or not isinstance(v[0], Mode) else [m.name for m in v])
                    for k, v in vars(args).items() if k != "json"}
        settings["planner_config_overrides"] = overrides
        settings["occ_points_per_scene"] = train_config(args.planners[0], args.modes[0], args, overrides).occ_points
        args.json.write_text(json.dumps({"machine": info, "settings": settings, "reference": REFERENCE,
                                         "equal_loss_checks": checks, "rows": rows}, indent=1) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
