"""The settings of one training run (``igd train``), stored as ``RUN/train.json`` and checked on ``--resume``."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

from igd.configs import config_from_dict
from igd.errors import IGDError

__all__ = ["RESUMABLE_FIELDS", "TrainConfig", "config_differences", "milestones"]

_ACCELERATORS = ("cpu", "gpu", "cuda", "mps", "auto")
_STRATEGIES = ("auto", "ddp", "ddp_spawn", "fsdp")
_PRECISIONS = ("32", "bf16-mixed", "16-mixed")
#: Fields that may change between a run and its ``--resume`` (more epochs or steps, other hardware, the
#: run folder moved or carried to another machine).
RESUMABLE_FIELDS = ("epochs", "max_steps", "resume", "accelerator", "devices", "strategy", "workers",
                    "progress", "val_every", "log_every", "out")


@dataclass
class TrainConfig:
    """One training run. Defaults follow the IGD paper (src/igd/planners/igd/README.md, "Training"):
    AdamW, lr 2e-4, 12 epochs, lr × 0.1 at epochs 0.75·E and 0.92·E (9 and 11 of 12)."""

    planner: str = "igd"
    """Registry name of the planner to train ('vgn', 'giga', 'igd')."""
    data: list[str] = field(default_factory=list)
    """Processed roots (``igd process`` output or GIGA's); several are concatenated."""
    out: str = ""
    """Run folder: train.json, last.ckpt, best.pt, metrics.csv, tensorboard/."""
    raw: list[str] = field(default_factory=list)
    """Raw roots holding ``occ/`` (GIGA's layout): none, one for every processed root, or one per root."""
    epochs: int = 12
    """Passes over the training split."""
    seed: int = 0
    """Seeds the weights, the order of the items, every sample drawn and the losses' noise."""
    batch_size: int = 32
    """Items per step and device: grasps (one grasp per item) or scenes (scene-batched)."""
    grasps_per_scene: int | None = None
    """K grasps per scene item (scene-batched); 0: one grasp per item; None: the planner's default
    (32 for planners whose loss takes scene batches, else 0)."""
    lr: float = 2e-4
    """AdamW learning rate."""
    weight_decay: float = 1e-2
    """AdamW weight decay."""
    max_steps: int | None = None
    """Stop after this many optimiser steps in all (None: run all epochs)."""
    val_every: int = 1
    """Validate every N epochs (and after the last)."""
    log_every: int = 10
    """Steps averaged into one train row of metrics.csv."""
    dropped_negatives: int = 0
    """Per scene item, this many more rows drawn from the labelled negatives balancing dropped
    (``PROCESSED/dropped/grasps.csv``, from ``igd process RAW PROCESSED --add-negatives``); training
    split only, scene-batched only. 0: none (the balanced rows alone)."""
    certain_negatives: int = 0
    """Per scene item, this many certain negatives over the volume (``PROCESSED/negatives/<id>.npz``):
    label 0, they supervise only the quality (GIGA, VGN) or the affordance (IGD); training split only,
    scene-batched only. 0: none."""
    mined: Optional[str] = None
    """Name of a mined set of every processed root (``PROCESSED/mined/NAME/``, ``igd mine``): the grasps
    a trained planner would execute on the training scenes, labelled; several as ``NAME,NAME`` (pooled)."""
    mined_rows: int = 0
    """Per scene item, this many rows drawn from the scene's mined rows (labelled like the stored rows:
    a failure is a negative, a success a positive); training split only, scene-batched only. 0: none."""
    train_scenes: Optional[int] = None
    """Train on the first N training scenes of each root only (in scene-id order, so the subsets of
    increasing N are nested: learning curves); validation keeps the whole split. None: all."""
    occ_points: int = 2048
    """Occupancy points per scene for planners whose loss has an occupancy term."""
    augment: bool = False
    """Turn each item by a random multiple of 90° about the vertical axis."""
    workers: int = 0
    """DataLoader worker processes."""
    init: str | None = None
    """A planner checkpoint whose weights start the run (same planner type)."""
    planner_config: dict[str, object] = field(default_factory=dict)
    """Overrides of the planner's config fields (``--set KEY=VALUE``)."""
    accelerator: str = "cpu"
    """Lightning Fabric accelerator: 'cpu', 'gpu', 'auto'."""
    devices: int = 1
    """Devices (processes) on this node."""
    strategy: str = "auto"
    """Fabric strategy: 'auto' or 'ddp' (one process per device)."""
    precision: Literal["32", "bf16-mixed", "16-mixed"] = "32"
    """Arithmetic: '32' or 'bf16-mixed' (autocast)."""
    resume: bool = False
    """Continue from RUN/last.ckpt."""
    progress: bool = True
    """Show a tqdm progress bar."""

    def __post_init__(self):
        self.data = [str(d) for d in self.data]
        self.raw = [str(r) for r in self.raw]
        if not self.data:
            raise IGDError("TrainConfig.data: give at least one processed root (--data PROCESSED)")
        if not self.out:
            raise IGDError("TrainConfig.out: give the run folder (--out RUN)")
        if len(self.raw) not in (0, 1, len(self.data)):
            raise IGDError(f"TrainConfig.raw: give no raw root, one, or one per processed root "
                           f"({len(self.data)}), got {len(self.raw)}")
        for name, lo in (("epochs", 1), ("batch_size", 1), ("val_every", 1), ("log_every", 1),
                         ("occ_points", 1), ("workers", 0), ("devices", 1), ("seed", 0),
                         ("dropped_negatives", 0), ("certain_negatives", 0), ("mined_rows", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < lo:
                raise IGDError(f"TrainConfig.{name} must be an int >= {lo}, got {value!r}")
        for name, lo in (("grasps_per_scene", 0), ("max_steps", 0), ("train_scenes", 1)):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < lo):
                raise IGDError(f"TrainConfig.{name} must be None or an int >= {lo}, got {value!r}")
        for name in ("lr", "weight_decay"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
                raise IGDError(f"TrainConfig.{name} must be a number in [0, 1), got {value!r}")
        for name, allowed in (("accelerator", _ACCELERATORS), ("strategy", _STRATEGIES),
                              ("precision", _PRECISIONS)):
            if getattr(self, name) not in allowed:
                raise IGDError(f"TrainConfig.{name} must be one of {list(allowed)}, got {getattr(self, name)!r}")
        if bool(self.mined_rows) != bool(self.mined):
            raise IGDError("TrainConfig: mined and mined_rows go together (--mined NAME --mined-rows M, M > 0)")
        if self.mined is not None and (not isinstance(self.mined, str)
                                       or not all(n and "/" not in n for n in self.mined.split(","))):
            raise IGDError(f"TrainConfig.mined must be mined sets' folder names (NAME or NAME,NAME), got {self.mined!r}")
        if (self.dropped_negatives or self.certain_negatives or self.mined_rows) and self.grasps_per_scene == 0:
            raise IGDError("TrainConfig: dropped_negatives, certain_negatives and mined_rows add rows to scene items; "
                           "they need grasps_per_scene > 0 (or its default)")

    @property
    def run(self) -> Path:
        return Path(self.out)

    def raw_for(self, index: int) -> str | None:
        """The raw root of processed root number ``index`` (or None)."""
        if not self.raw:
            return None
        return self.raw[0] if len(self.raw) == 1 else self.raw[index]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def save(self, path: str | Path) -> None:
        path = Path(path)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        tmp.replace(path)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """The config of :meth:`to_dict` (``train.json``); unknown keys are an error."""
        return config_from_dict(cls, values)


def config_differences(old: dict, new: dict) -> list[str]:
    """Fields (outside :data:`RESUMABLE_FIELDS`) whose values differ: ``'name: old -> new'``. A field
    that one side lacks (a run saved before the field existed) counts as its default."""
    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig) if f.default is not dataclasses.MISSING}
    old, new = {**defaults, **old}, {**defaults, **new}
    out = []
    for name in sorted(set(old) | set(new)):
        if name in RESUMABLE_FIELDS:
            continue
        if old.get(name) != new.get(name):
            out.append(f"{name}: {old.get(name)!r} -> {new.get(name)!r}")
    return out


def milestones(epochs: int) -> list[int]:
    """Epochs from which the lr is × 0.1 once more: ``round(0.75·E)``, ``round(0.92·E)`` (9 and 11 of 12)."""
    return [int(round(0.75 * epochs)), int(round(0.92 * epochs))]
