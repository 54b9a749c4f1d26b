"""``igd train`` on bad input: one ``igd: error:`` line and exit code 2, never a traceback or a NaN run."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest

from igd.cli.main import main


def _train(root, run, *extra, planner="giga", tiny=()):
    return ["train", "--planner", planner, "--data", str(root), "--out", str(run), "--epochs", "1",
            "--batch-size", "2", "--grasps-per-scene", "4", "--occ-points", "64", "--no-progress", *tiny, *extra]


def _error(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("igd: error: "), err
    return lines[0]


@pytest.fixture(scope="module")
def finished_once(tiny_root, tmp_path_factory, tiny_giga):
    """A finished one-epoch GIGA run (tiny network), shared: tests use a copy (:func:`finished`)."""
    run = tmp_path_factory.mktemp("giga-run") / "run"
    assert main(_train(tiny_root.root, run, tiny=tiny_giga)) == 0
    return run


@pytest.fixture
def finished(finished_once, tmp_path, capsys):
    capsys.readouterr()
    return Path(shutil.copytree(finished_once, tmp_path / "run"))


def test_help_lists_train(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    assert "--grasps-per-scene" in out and "--strategy ddp" in out


def test_resume_with_other_settings_names_the_fields(finished, tiny_root, tiny_giga, capsys):
    assert main(_train(tiny_root.root, finished, "--resume", "--lr", "0.001", tiny=tiny_giga)) == 2
    line = _error(capsys)
    assert "other settings" in line and "lr: 0.0002 -> 0.001" in line


def test_existing_run_without_resume_is_refused(finished, tiny_root, tiny_giga, capsys):
    assert main(_train(tiny_root.root, finished, tiny=tiny_giga)) == 2
    assert "--resume" in _error(capsys)


def test_checkpoint_of_another_planner(finished, tiny_root, tmp_path, capsys):
    assert main(_train(tiny_root.root, tmp_path / "vgn", "--init", str(finished / "best.pt"), planner="vgn")) == 2
    assert "planner 'giga'" in _error(capsys)
    vgn_run = tmp_path / "vgn2"
    vgn_run.mkdir()
    (vgn_run / "last.ckpt").write_bytes((finished / "last.ckpt").read_bytes())
    assert main(_train(tiny_root.root, vgn_run, "--resume", planner="vgn")) == 2
    assert "planner 'giga'" in _error(capsys)


def test_truncated_checkpoint(finished, tiny_root, tiny_giga, capsys):
    data = (finished / "last.ckpt").read_bytes()
    (finished / "last.ckpt").write_bytes(data[: len(data) // 2])
    assert main(_train(tiny_root.root, finished, "--resume", tiny=tiny_giga)) == 2
    assert "truncated" in _error(capsys)
    assert main(_train(tiny_root.root, finished.parent / "other", "--init", str(finished / "last.ckpt"),
                       tiny=tiny_giga)) == 2
    assert "truncated" in _error(capsys)


def test_best_pt_is_not_resumable(finished, tiny_root, tiny_giga, capsys):
    (finished / "last.ckpt").write_bytes((finished / "best.pt").read_bytes())
    assert main(_train(tiny_root.root, finished, "--resume", tiny=tiny_giga)) == 2
    assert "not a resumable checkpoint" in _error(capsys)


def test_dataset_without_positives(root_copy, tmp_path, tiny_giga, capsys):
    path = root_copy / "grasps.csv"
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        row["label"] = "0"
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert main(_train(root_copy, tmp_path / "run", tiny=tiny_giga)) == 2
    assert "no positive grasps" in _error(capsys)


def test_grid_of_the_wrong_shape(root_copy, tmp_path, tiny_giga, capsys):
    for path in (root_copy / "scenes").glob("*.npz"):
        np.savez_compressed(path, grid=np.zeros((1, 32, 32, 32), np.float32))
    assert main(_train(root_copy, tmp_path / "run", tiny=tiny_giga)) == 2
    assert "(1, 32, 32, 32)" in _error(capsys)


def test_nan_loss_stops_naming_the_step(tiny_root, tmp_path, tiny_giga, capsys, monkeypatch):
    from igd.planners.giga.model import GIGANet

    real = GIGANet.loss

    def poisoned(self, batch):
        loss, metrics = real(self, batch)
        return loss * float("nan"), metrics

    monkeypatch.setattr(GIGANet, "loss", poisoned)
    run = tmp_path / "run"
    assert main(_train(tiny_root.root, run, tiny=tiny_giga)) == 2
    line = _error(capsys)
    assert "the loss is nan at step 1" in line
    assert not (run / "last.ckpt").exists()


def test_bad_values_are_one_line(tiny_root, tmp_path, capsys):
    assert main(_train(tiny_root.root, tmp_path / "r", "--epochs", "0")) == 2
    assert "epochs" in _error(capsys)
    assert main(_train(tiny_root.root, tmp_path / "r", planner="topdown")) == 2
    assert "no weights to train" in _error(capsys)
    assert main(_train(tiny_root.root, tmp_path / "r", "--set", "nope=1")) == 2
    assert "nope" in _error(capsys)
    assert main(_train(tmp_path / "missing", tmp_path / "r")) == 2
    _error(capsys)
