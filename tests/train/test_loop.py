"""The training loop (``igd.train``): runs, files, determinism and resume, on tiny data and networks."""

from __future__ import annotations

import csv
import os

import pytest
import torch
from igd_cli import kill_when
from tiny_planners import tiny_set

from igd.cli.main import main
from igd.planners.base import load_planner
from igd.train.config import TrainConfig, milestones
from igd.train.loop import epoch_indices, lr_at


def _rows(run):
    with open(run / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


def _giga_args(root, run, tiny, *extra):
    return ["train", "--planner", "giga", "--data", str(root), "--out", str(run), "--batch-size", "2",
            "--grasps-per-scene", "4", "--occ-points", "64", "--log-every", "1", "--no-progress", *tiny, *extra]


def _weights(path):
    return torch.load(path, map_location="cpu", weights_only=True)["state_dict"]


def test_schedule_follows_the_paper():
    assert milestones(12) == [9, 11]
    cfg = TrainConfig(data=["x"], out="y", epochs=12, lr=2e-4)
    assert [lr_at(cfg, e) for e in (0, 8, 9, 10, 11)] == pytest.approx([2e-4, 2e-4, 2e-5, 2e-5, 2e-6])


def test_epoch_order_is_seeded_and_shards_evenly():
    assert epoch_indices(10, 0, 1) == epoch_indices(10, 0, 1) != epoch_indices(10, 0, 2)
    shards = [epoch_indices(7, 0, 0, rank, 2) for rank in range(2)]
    assert len(shards[0]) == len(shards[1]) == 4 and set(shards[0] + shards[1]) == set(range(7))


def test_giga_run_writes_checkpoints_and_metrics(tiny_root, tmp_path, tiny_giga, capsys):
    run = tmp_path / "run"
    assert main(_giga_args(tiny_root.root, run, tiny_giga, "--epochs", "2")) == 0
    assert "trained giga: epoch 2, step 4" in capsys.readouterr().out
    rows = _rows(run)
    train = [r for r in rows if r["split"] == "train"]
    val = [r for r in rows if r["split"] == "val"]
    assert [int(r["step"]) for r in train] == [1, 2, 3, 4] and [int(r["epoch"]) for r in val] == [1, 2]
    assert {"loss", "loss_occ", "loss_qual", "lr"} <= set(rows[0])
    assert all(torch.isfinite(torch.tensor(float(r["loss"]))) for r in rows)
    for name in ("train.json", "last.ckpt", "best.pt"):
        assert (run / name).is_file()
    planner = load_planner("giga", run / "best.pt")
    assert planner.config.features == 4
    assert load_planner("giga", run / "last.ckpt").config.hidden == 8


def test_vgn_run_one_grasp_per_item(tiny_root, tmp_path):
    run = tmp_path / "vgn"
    assert main(["train", "--planner", "vgn", "--data", str(tiny_root.root), "--out", str(run), "--epochs", "1",
                 "--batch-size", "2", "--max-steps", "2", "--log-every", "1", "--no-progress"]) == 0
    rows = _rows(run)
    assert [(r["split"], int(r["step"])) for r in rows] == [("train", 1), ("train", 2), ("val", 2)]
    assert all(float(r["loss"]) == float(r["loss"]) for r in rows)  # finite, not NaN
    planner = load_planner("vgn", run / "best.pt")
    assert planner.net.training is False


def test_resume_continues_and_equals_an_uninterrupted_run(tiny_root, tmp_path, tiny_giga):
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert main(_giga_args(tiny_root.root, straight, tiny_giga, "--epochs", "2")) == 0
    assert main(_giga_args(tiny_root.root, split, tiny_giga, "--epochs", "1")) == 0
    assert main(_giga_args(tiny_root.root, split, tiny_giga, "--epochs", "2", "--resume")) == 0
    steps = [int(r["step"]) for r in _rows(split) if r["split"] == "train"]
    assert steps == [1, 2, 3, 4]  # the step count continues, never restarts at 0
    a, b = _weights(straight / "last.ckpt"), _weights(split / "last.ckpt")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert _rows(straight) == _rows(split)


def test_a_run_folder_moved_elsewhere_resumes_there(tiny_root, tmp_path, tiny_giga):
    """A run carried to another folder (or machine) resumes from its last.ckpt as if it had not moved."""
    import shutil

    straight, first = tmp_path / "straight", tmp_path / "first"
    assert main(_giga_args(tiny_root.root, straight, tiny_giga, "--epochs", "2")) == 0
    assert main(_giga_args(tiny_root.root, first, tiny_giga, "--epochs", "1")) == 0
    moved = tmp_path / "elsewhere" / "run"
    moved.parent.mkdir()
    shutil.move(str(first), str(moved))
    assert main(_giga_args(tiny_root.root, moved, tiny_giga, "--epochs", "2", "--resume")) == 0
    a, b = _weights(straight / "last.ckpt"), _weights(moved / "last.ckpt")
    assert a and all(torch.equal(a[k], b[k]) for k in a)


def test_resume_after_max_steps_mid_epoch(tiny_root, tmp_path, tiny_giga):
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert main(_giga_args(tiny_root.root, straight, tiny_giga, "--epochs", "1", "--val-every", "5")) == 0
    assert main(_giga_args(tiny_root.root, split, tiny_giga, "--epochs", "1", "--max-steps", "1")) == 0
    assert main(_giga_args(tiny_root.root, split, tiny_giga, "--epochs", "1", "--resume")) == 0
    a, b = _weights(straight / "last.ckpt"), _weights(split / "last.ckpt")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_killed_run_resumes(tiny_root, tmp_path, tiny_giga):
    run = tmp_path / "killed"
    args = _giga_args(tiny_root.root, run, tiny_giga, "--epochs", "40")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    assert kill_when(args, (run / "last.ckpt").is_file, timeout=60, env=env), "the run wrote no last.ckpt"
    before = torch.load(run / "last.ckpt", weights_only=True)["train"]["state"]
    assert before["epoch"] >= 1 and before["step"] == 2 * before["epoch"]
    target = before["epoch"] + 1
    assert main(_giga_args(tiny_root.root, run, tiny_giga, "--epochs", str(target), "--resume")) == 0
    after = torch.load(run / "last.ckpt", weights_only=True)["train"]["state"]
    assert after["epoch"] == target and after["step"] == 2 * target
    steps = [int(r["step"]) for r in _rows(run) if r["split"] == "train"]
    assert steps == list(range(1, 2 * target + 1))


def test_igd_run_is_deterministic(tiny_root, tmp_path):
    tiny = tiny_set("igd")
    runs = [tmp_path / "a", tmp_path / "b"]
    for run in runs:
        args = _giga_args(tiny_root.root, run, tiny, "--epochs", "1", "--max-steps", "1")
        args[2] = "igd"
        assert main(args) == 0
    a, b = (_weights(run / "last.ckpt") for run in runs)
    assert all(torch.equal(a[k], b[k]) for k in a)  # the diffusion noise is seeded too
    assert load_planner("igd", runs[0] / "best.pt").config.denoiser_hidden == 16
