"""The clutter-removal benchmark (docs/benchmark.md): settings, one round, the parallel runner, metrics.

Importing this package is light: Ray, PyBullet and torch are imported only when a run starts.
"""

from igd.bench.clutter_removal import RoundResult, run_round
from igd.bench.config import BenchConfig
from igd.bench.metrics import build_summary, compute_metrics, format_summary
from igd.bench.runner import run_benchmark

__all__ = ["BenchConfig", "RoundResult", "run_round", "run_benchmark", "compute_metrics", "build_summary",
           "format_summary"]
