"""The files of a run: ``last.ckpt`` (resume) and ``best.pt`` (the planner of the best validation loss).

``last.ckpt`` is an igd planner checkpoint (:func:`~igd.planners.base.write_checkpoint`'s payload:
format, planner, config, state_dict, so ``igd bench --weights RUN/last.ckpt`` works too) plus a
``train`` entry: the optimizer state, epoch, step, the position in the epoch, the best validation
loss so far, the torch RNG state and the run's :class:`TrainConfig`. ``best.pt`` is a plain planner
checkpoint. Both are written by :func:`~igd.planners.base.write_checkpoint`, atomically (a temporary
file renamed over the old one).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from igd.errors import IGDError
from igd.planners.base import Planner, read_checkpoint, write_checkpoint

__all__ = [
    "BEST",
    "LAST",
    "METRICS_CSV",
    "TRAIN_JSON",
    "TrainState",
    "load_init",
    "load_last",
    "save_best",
    "save_last",
]

LAST = "last.ckpt"
BEST = "best.pt"
TRAIN_JSON = "train.json"
METRICS_CSV = "metrics.csv"


@dataclasses.dataclass
class TrainState:
    """Where a run stands: ``epoch`` (current, 0-based), ``batch`` (batches of it done), ``step`` (in all)."""

    epoch: int = 0
    batch: int = 0
    step: int = 0
    best_val: float | None = None


def save_last(run: Path, planner: Planner, optimizer, state: TrainState, config: dict) -> Path:
    """Write ``RUN/last.ckpt``: the planner's checkpoint and the ``train`` entry to resume from."""
    train = {"optimizer": optimizer.state_dict(), "state": dataclasses.asdict(state),
             "rng": torch.get_rng_state(), "config": config}
    return write_checkpoint(planner, Path(run) / LAST, train=train)


def save_best(run: Path, planner: Planner) -> Path:
    """Write ``RUN/best.pt``: the planner's checkpoint."""
    return write_checkpoint(planner, Path(run) / BEST)


def _check_type(path: Path, payload: dict, planner: Planner, what: str) -> None:
    if payload["planner"] != planner.name:
        raise IGDError(f"{path}: {what} is a checkpoint of planner '{payload['planner']}', "
                       f"but this run trains '{planner.name}'")


def load_last(path: Path, planner: Planner) -> dict:
    """Read ``last.ckpt``, check its type, load the weights into ``planner``; returns its ``train`` entry."""
    payload = read_checkpoint(path)
    _check_type(path, payload, planner, "--resume")
    train = payload.get("train")
    if not isinstance(train, dict) or not {"optimizer", "state", "rng", "config"} <= set(train):
        raise IGDError(f"{path}: not a resumable checkpoint (no optimizer/step state); "
                       f"it may be a best.pt - use it with --init instead")
    _load_weights(path, payload, planner)
    return train


def load_init(path: str | Path, planner: Planner) -> None:
    """Start from the weights of a checkpoint (``--init``): of the same planner type, all of them
    (strictly); of another type (our file or a released one, e.g. the authors' GIGA), the **transfer** of
    docs/training.md, for the types the planner's ``transfer_renames`` names: every tensor whose name,
    after those renames, and shape match one of ``planner``'s; the others keep their fresh initialisation. One line on stderr
    says what was taken. Both must read the feature planes the same way (``plane_mapping``)."""
    import sys

    from igd.api import load

    path = Path(path)
    source = load(str(path), threads=0).planner  # 0: reading weights leaves the run's torch threads alone
    if source.name == planner.name:
        _load_weights(path, {"state_dict": source.state_dict()}, planner)
        return
    if source.name not in planner.transfer_renames:
        raise IGDError(f"{path}: --init is a checkpoint of planner '{source.name}', but this run trains "
                       f"'{planner.name}', which starts from its own type"
                       + (f" or by transfer from {', '.join(repr(t) for t in planner.transfer_renames)}"
                          if planner.transfer_renames else ""))
    mine, theirs = getattr(planner.config, "plane_mapping", None), getattr(source.config, "plane_mapping", None)
    if mine is not None and theirs is not None and mine != theirs:
        raise IGDError(f"{path}: --init from a '{source.name}' checkpoint with plane_mapping '{theirs}' into a "
                       f"'{planner.name}' with plane_mapping '{mine}': pass --set plane_mapping={theirs}")
    renames = planner.transfer_renames.get(source.name, {})
    target = planner.net.state_dict()
    taken: dict[str, torch.Tensor] = {}
    for key, value in source.net.state_dict().items():
        new = next((to + key[len(frm):] for frm, to in renames.items() if key.startswith(frm)), key)
        if new in target and target[new].shape == value.shape:
            taken[new] = value.float()
    if not taken:
        raise IGDError(f"{path}: a '{source.name}' checkpoint shares no tensor (name and shape) with planner "
                       f"'{planner.name}': nothing to start from")
    target.update(taken)
    planner.net.load_state_dict(target, strict=True)
    modules = sorted({k.split(".")[0] for k in taken})
    print(f"--init: {len(taken)} of {len(target)} tensors from the '{source.name}' checkpoint {path} "
          f"({', '.join(modules)}); the rest initialised afresh", file=sys.stderr)


def _load_weights(path: Path, payload: dict, planner: Planner) -> None:
    try:
        planner.load_state_dict(payload["state_dict"])
    except IGDError as e:
        raise IGDError(f"{path}: {e}") from e
