"""One training loop for every learned planner, on Lightning Fabric (CPU here; one or many GPUs with DDP
elsewhere, with no code change).

The loop knows planners only through the contract (docs/planners.md): ``planner.training_module()`` is an
``nn.Module`` with ``loss(batch) -> (loss, metrics)``, and two class attributes choose the batches
(``scene_batched_training``, ``training_needs_occupancy``). Optimiser as the IGD paper's
(docs/training.md, "The engine"): AdamW, lr × 0.1 from epochs ``round(0.75·E)`` and
``round(0.92·E)``; the lr is a function of the epoch, so a resumed run (even with more epochs) sets
it again from the epoch alone.

Determinism: the item order of an epoch is a permutation seeded by ``(seed, epoch)``, the items
are seeded by ``(seed, epoch, index)`` (the datasets), and the torch RNG (dropout, diffusion noise)
is reseeded at the start of every epoch, so a run resumed at an epoch boundary gives the same
weights as one that never stopped (on the CPU, bit for bit).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import torch

from igd.data.datasets import (
    GraspDataset,
    SceneBatchedGraspDataset,
    collate,
    flatten_grasps,
)
from igd.errors import IGDError
from igd.planners.base import Planner, build_config, get_planner_class, registry
from igd.train import checkpoints as ckpt
from igd.train.config import TrainConfig, config_differences, milestones
from igd.train.logging import MetricsLog, RunningMean, open_tensorboard

__all__ = ["build_datasets", "build_planner", "epoch_indices", "lr_at", "train"]


# --------------------------------------------------------------------------------------------------
# the pieces
# --------------------------------------------------------------------------------------------------
def build_planner(config: TrainConfig) -> Planner:
    """The planner to train, built from its config class with ``config.planner_config`` overrides."""
    cls = get_planner_class(config.planner)
    if not cls.learned:
        learned = ", ".join(sorted(n for n, c in registry().items() if c.learned))
        raise IGDError(f"planner '{config.planner}' has no weights to train; learned planners: {learned}")
    planner = cls(build_config(cls.config_class, {}, config.planner_config))
    planner.training_module()  # fails early, with the planner's name, if it cannot be trained
    return planner


def grasps_per_scene(config: TrainConfig, planner: Planner) -> int:
    if config.grasps_per_scene is not None:
        return config.grasps_per_scene
    return 32 if planner.scene_batched_training else 0


def build_datasets(config: TrainConfig, planner: Planner, split: str) -> torch.utils.data.Dataset:
    """The ``split`` of every processed root, concatenated (scene-batched when K > 0)."""
    k = grasps_per_scene(config, planner)
    occ = config.occ_points if planner.training_needs_occupancy else 0
    parts = []
    for i, root in enumerate(config.data):
        kwargs = dict(raw_root=config.raw_for(i), split=split, occ_points=occ, seed=config.seed,
                      augment=config.augment and split == "train",
                      max_scenes=config.train_scenes if split == "train" else None)
        if k:
            extra = dict(dropped_negatives=config.dropped_negatives, certain_negatives=config.certain_negatives,
                         mined_rows=config.mined_rows, mined=config.mined) \
                if split == "train" else {}  # validation on the stored rows: a loss comparable between runs
            parts.append(SceneBatchedGraspDataset(root, grasps_per_scene=k, **kwargs, **extra))
        elif config.dropped_negatives or config.certain_negatives or config.mined_rows:
            raise IGDError(f"--dropped-negatives / --certain-negatives / --mined-rows add rows to scene items; planner "
                           f"'{config.planner}' trains one grasp per item here: pass --grasps-per-scene K > 0")
        else:
            parts.append(GraspDataset(root, **kwargs))
    return parts[0] if len(parts) == 1 else torch.utils.data.ConcatDataset(parts)


def _set_epoch(dataset, epoch: int) -> None:
    for part in getattr(dataset, "datasets", [dataset]):
        part.set_epoch(epoch)


def lr_at(config: TrainConfig, epoch: int) -> float:
    """The learning rate of ``epoch`` (0-based): × 0.1 from each milestone on."""
    return config.lr * 0.1 ** sum(epoch >= m for m in milestones(config.epochs))


def epoch_indices(n: int, seed: int, epoch: int, rank: int = 0, world: int = 1) -> list[int]:
    """This rank's items of ``epoch``: a permutation seeded by ``(seed, epoch)``, padded to a multiple
    of ``world`` and dealt out round-robin (every rank gets as many)."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch)).tolist()
    if world > 1:
        order += order[: (-len(order)) % world]
        order = order[rank::world]
    return order


def _loader(fabric, dataset, config: TrainConfig, indices: list[int]):
    loader = torch.utils.data.DataLoader(dataset, batch_size=config.batch_size, sampler=indices,
                                         num_workers=config.workers, collate_fn=collate)
    return fabric.setup_dataloaders(loader, use_distributed_sampler=False)


def _check_loss(loss: torch.Tensor, step: int, epoch: int, run: Path) -> None:
    if not torch.isfinite(loss.detach()).all():
        raise IGDError(f"the loss is {float(loss.detach()):g} at step {step} (epoch {epoch + 1}); stopped. "
                       f"{run / ckpt.LAST} holds the last finished epoch; lower --lr or check the data")


# --------------------------------------------------------------------------------------------------
# the run
# --------------------------------------------------------------------------------------------------
class _Run:
    """A run in progress: the fabric, the planner, its wrapped module and optimiser, the data and logs."""

    def __init__(self, fabric, config: TrainConfig):
        self.fabric, self.config, self.run = fabric, config, config.run
        self.planner = build_planner(config)
        if config.init and not config.resume:
            ckpt.load_init(config.init, self.planner)
        self.flatten = grasps_per_scene(config, self.planner) > 0 and not self.planner.scene_batched_training
        self.train_set = build_datasets(config, self.planner, "train")
        self.val_set = build_datasets(config, self.planner, "val")
        self.state = ckpt.TrainState()
        resumed = self._resume_weights() if config.resume else None
        net = self.planner.training_module()
        net.train()
        optimizer = torch.optim.AdamW(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        self.model, self.optimizer = fabric.setup(net, optimizer)
        self.model.mark_forward_method("loss")
        self.rng_state = None
        if resumed is not None:
            self.optimizer.load_state_dict(resumed["optimizer"])
            self.rng_state = resumed["rng"]
        self.log = MetricsLog(self.run / ckpt.METRICS_CSV, self.state.step if config.resume else None) \
            if fabric.is_global_zero else None
        self.tb = open_tensorboard(self.run / "tensorboard") if fabric.is_global_zero else None

    def _resume_weights(self) -> dict | None:
        path = self.run / ckpt.LAST
        if not path.is_file():
            raise IGDError(f"--resume: {path} does not exist (nothing to resume; drop --resume to start)")
        train = ckpt.load_last(path, self.planner)
        diff = config_differences(train["config"], self.config.to_dict())
        if diff:
            raise IGDError(f"--resume: the run in {self.run} was started with other settings: "
                           + "; ".join(diff))
        self.state = ckpt.TrainState(**train["state"])
        return train

    # ---- steps ----
    def _batch(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return flatten_grasps(batch) if self.flatten else batch

    def _write(self, split: str, epoch: int, metrics: dict[str, float]) -> None:
        if self.log is None or not metrics:
            return
        lr = self.optimizer.param_groups[0]["lr"]
        self.log.log(epoch + 1, self.state.step, split, lr, metrics)
        if self.tb is not None:
            for k, v in metrics.items():
                self.tb.add_scalar(f"{split}/{k}", v, self.state.step)

    def _steps_left(self) -> float:
        cap = self.config.max_steps
        return math.inf if cap is None else cap - self.state.step

    def train_epoch(self, epoch: int) -> bool:
        """Train on the rest of ``epoch``; False when ``max_steps`` stopped it early."""
        cfg, fabric, state = self.config, self.fabric, self.state
        for group in self.optimizer.param_groups:
            group["lr"] = lr_at(cfg, epoch)
        if self.rng_state is not None:  # resumed in the middle of this epoch
            torch.set_rng_state(self.rng_state)
            self.rng_state = None
        else:
            torch.manual_seed(cfg.seed * 1_000_003 + epoch * 7919 + fabric.global_rank)
        _set_epoch(self.train_set, epoch)
        indices = epoch_indices(len(self.train_set), cfg.seed, epoch, fabric.global_rank, fabric.world_size)
        loader = _loader(fabric, self.train_set, cfg, indices[state.batch * cfg.batch_size:])
        self.model.train()
        running = RunningMean()
        bar = _progress(fabric, cfg, len(loader), f"epoch {epoch + 1}/{cfg.epochs}")
        for batch in loader:
            if self._steps_left() <= 0:
                self._write("train", epoch, running.pop())
                bar.close()
                return False
            loss, metrics = self.model.loss(self._batch(batch))
            _check_loss(loss, state.step + 1, epoch, self.run)
            self.optimizer.zero_grad(set_to_none=True)
            fabric.backward(loss)
            self.optimizer.step()
            state.step += 1
            state.batch += 1
            running.add(metrics)
            bar.update(1)
            bar.set_postfix(loss=f"{float(loss.detach()):.4f}", step=state.step)
            if state.step % cfg.log_every == 0:
                self._write("train", epoch, running.pop())
        bar.close()
        self._write("train", epoch, running.pop())
        return True

    def validate(self, epoch: int) -> float:
        """Mean validation loss over all ranks (fixed samples and noise: comparable between epochs)."""
        cfg, fabric = self.config, self.fabric
        _set_epoch(self.val_set, 0)
        loader = _loader(fabric, self.val_set, cfg,
                         epoch_indices(len(self.val_set), cfg.seed, 0, fabric.global_rank, fabric.world_size))
        self.model.eval()
        running = RunningMean()
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            torch.manual_seed(cfg.seed)
            for batch in loader:
                loss, metrics = self.model.loss(self._batch(batch))
                running.add({**metrics, "loss": float(loss)})
        self.model.train()
        metrics = running.pop()
        reduced = fabric.all_reduce(torch.tensor([metrics[k] for k in sorted(metrics)]), reduce_op="mean")
        metrics = dict(zip(sorted(metrics), reduced.tolist()))
        self._write("val", epoch, metrics)
        return metrics["loss"]

    def save(self, epoch_done: bool, val_loss: float | None) -> None:
        fabric, state = self.fabric, self.state
        if epoch_done:
            state.epoch, state.batch = state.epoch + 1, 0
        better = val_loss is not None and (state.best_val is None or val_loss < state.best_val)
        if better:  # every rank sees the same all-reduced val_loss
            state.best_val = val_loss
        if fabric.is_global_zero:
            if better:
                ckpt.save_best(self.run, self.planner)
            ckpt.save_last(self.run, self.planner, self.optimizer, state, self.config.to_dict())
        fabric.barrier()

    def fit(self) -> dict:
        cfg = self.config
        while self.state.epoch < cfg.epochs and self._steps_left() > 0:
            epoch = self.state.epoch
            done = self.train_epoch(epoch)
            last = epoch + 1 == cfg.epochs or not done or self._steps_left() <= 0
            val = self.validate(epoch) if (epoch + 1) % cfg.val_every == 0 or last else None
            self.save(done, val)
        if self.tb is not None:
            self.tb.close()
        return {"run": str(self.run), "epoch": self.state.epoch, "step": self.state.step,
                "best_val": self.state.best_val, "global_zero": self.fabric.is_global_zero}


def _progress(fabric, config: TrainConfig, total: int, desc: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=not (config.progress and fabric.is_global_zero),
                file=sys.stderr, leave=False, dynamic_ncols=True)


def _prepare_folder(config: TrainConfig) -> None:
    run = config.run
    if run.exists() and not run.is_dir():
        raise IGDError(f"--out {run}: exists and is not a folder")
    if not config.resume and (run / ckpt.LAST).exists():
        raise IGDError(f"--out {run}: already holds a run ({ckpt.LAST}); pass --resume to continue it "
                       "or choose another folder")
    run.mkdir(parents=True, exist_ok=True)


def train(config: TrainConfig) -> dict:
    """Run (or resume) training; returns ``{run, epoch, step, best_val, global_zero}``. Files: see :mod:`igd.train`."""
    from lightning_fabric import Fabric

    precision = "32-true" if config.precision == "32" else config.precision
    fabric = Fabric(accelerator=config.accelerator, devices=config.devices, strategy=config.strategy,
                    precision=precision)
    fabric.launch()
    if fabric.is_global_zero:
        _prepare_folder(config)
    fabric.barrier()
    fabric.seed_everything(config.seed, verbose=False)
    run = _Run(fabric, config)
    if fabric.is_global_zero:
        config.save(config.run / ckpt.TRAIN_JSON)
    return run.fit()
