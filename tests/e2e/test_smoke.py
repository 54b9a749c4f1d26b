"""End to end through the real CLI: generate a few scenes, process them, train a few steps, and
benchmark one round from the checkpoint the training just wrote (docs/data.md, docs/training.md,
docs/benchmark.md).

Tiny on purpose ('blocks' objects, 3 scenes, 16 grasp points, GIGA with a small net), but every
step is the real command on the real files of the step before.
"""

import json
import subprocess
import sys

import pytest


def igd(*args, cwd):
    proc = subprocess.run([sys.executable, "-m", "igd.cli.main", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"igd {' '.join(map(str, args))} failed:\n{proc.stderr[-3000:]}"
    return proc


@pytest.mark.parametrize("planner,extra", [("giga", ["--set", "features=8", "--set", "unet_filters=8",
                                                      "--set", "hidden=8"])])
def test_generate_process_train_bench(tmp_path, planner, extra):
    raw, processed, run, bench = (tmp_path / n for n in ("raw", "processed", "run", "bench"))
    igd("generate", "--scene", "packed", "--scenes", 3, "--grasps-per-scene", 16, "--objects", "blocks",
        "--seed", 0, "--workers", 1, "--no-progress", "--out", raw, cwd=tmp_path)
    stats = json.loads((raw / "stats.json").read_text())
    assert stats["scenes"] >= 1
    igd("process", raw, processed, "--noise", "dex", "--occ-points", 2048, "--occ-files", 2,
        "--val-fraction", 0.34, "--workers", 1, "--no-progress", cwd=tmp_path)
    assert list((processed / "scenes").glob("*.npz"))
    igd("train", "--planner", planner, "--data", processed, "--out", run, "--epochs", 1, "--max-steps", 2,
        "--batch-size", 2, "--grasps-per-scene", 4, "--occ-points", 256, "--seed", 0, "--no-progress",
        *extra, cwd=tmp_path)
    weights = run / "best.pt" if (run / "best.pt").exists() else run / "last.ckpt"
    assert weights.exists()
    igd("bench", "--planner", planner, "--weights", weights, "--scene", "packed", "--objects", "blocks",
        "--rounds", 1, "--seeds", 0, "--workers", 1, "--no-progress", "--out", bench, cwd=tmp_path)
    summary = json.loads((bench / "summary.json").read_text())
    assert summary["planner"] == planner and summary["objects"] >= 1
