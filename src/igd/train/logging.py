"""Metrics of a run: ``RUN/metrics.csv`` (one row per logged interval and per validation) and
TensorBoard (``RUN/tensorboard/``) when ``tensorboard`` or ``tensorboardX`` is installed.

Columns: ``epoch, step, split, lr`` and then every metric the planner's loss reports (sorted).
On resume the rows after the checkpoint's step are dropped, so the log matches the weights.
"""

from __future__ import annotations

import csv
from pathlib import Path

__all__ = ["MetricsLog", "RunningMean", "open_tensorboard"]

FIXED = ("epoch", "step", "split", "lr")


class RunningMean:
    """Means of metric dicts over the steps since the last :meth:`pop`."""

    def __init__(self):
        self.sums: dict[str, float] = {}
        self.count = 0

    def add(self, metrics: dict[str, float]) -> None:
        for k, v in metrics.items():
            self.sums[k] = self.sums.get(k, 0.0) + float(v)
        self.count += 1

    def pop(self) -> dict[str, float]:
        out = {k: v / max(self.count, 1) for k, v in self.sums.items()}
        self.sums, self.count = {}, 0
        return out


class MetricsLog:
    """Appends rows to a CSV file; widens the header (rewriting the file) when new metrics appear."""

    def __init__(self, path: str | Path, resume_step: int | None = None):
        self.path = Path(path)
        self.columns: list[str] = list(FIXED)
        rows = self._read()
        if resume_step is None:
            rows = []
        else:
            rows = [r for r in rows if int(float(r["step"])) <= resume_step]
        if rows:
            self.columns = list(FIXED) + sorted({k for r in rows for k in r} - set(FIXED))
        self._rewrite(rows)

    def _read(self) -> list[dict]:
        if not self.path.is_file():
            return []
        with open(self.path, newline="") as f:
            return list(csv.DictReader(f))

    def _rewrite(self, rows: list[dict]) -> None:
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=self.columns, restval="")
            writer.writeheader()
            writer.writerows(rows)
        tmp.replace(self.path)

    def log(self, epoch: int, step: int, split: str, lr: float, metrics: dict[str, float]) -> None:
        row = {"epoch": epoch, "step": step, "split": split, "lr": f"{lr:.6g}"}
        row.update({k: f"{v:.6g}" for k, v in metrics.items()})
        new = sorted(set(row) - set(self.columns))
        if new:
            rows = self._read()
            self.columns += new
            self._rewrite(rows)
        with open(self.path, "a", newline="") as f:
            csv.DictWriter(f, fieldnames=self.columns, restval="").writerow(row)


def open_tensorboard(folder: str | Path):
    """A ``SummaryWriter`` on ``folder``, or None when neither tensorboard nor tensorboardX is installed."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            return None
    return SummaryWriter(str(folder))
