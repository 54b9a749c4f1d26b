"""Judging checkpoints on labelled scenes without a benchmark run: ``igd evaluate`` (see :mod:`igd.eval.evaluate`)."""

from igd.eval.evaluate import EvaluateConfig, format_results, run_evaluate

__all__ = ["EvaluateConfig", "format_results", "run_evaluate"]
