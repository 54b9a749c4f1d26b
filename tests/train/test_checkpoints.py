"""The files of a run (``igd.train.checkpoints``) are planner checkpoints written by the one writer,
:func:`igd.planners.base.write_checkpoint`: ``best.pt`` is what ``save_pretrained`` writes, ``last.ckpt``
the same plus its ``train`` entry; both read back through the one reader."""

from __future__ import annotations

import torch

from igd.planners.base import read_checkpoint
from igd.planners.vgn import VGNConfig, VGNPlanner
from igd.train.checkpoints import TrainState, load_last, save_best, save_last


def test_run_files_are_planner_checkpoints(tmp_path):
    torch.manual_seed(0)
    planner = VGNPlanner(VGNConfig())
    plain = read_checkpoint(planner.save_pretrained(tmp_path / "plain.pt"))
    best = read_checkpoint(save_best(tmp_path, planner))
    assert list(best) == list(plain) == ["format", "planner", "config", "state_dict"]
    assert best["config"] == plain["config"] and best["planner"] == "vgn"
    assert all(torch.equal(best["state_dict"][k], v) for k, v in plain["state_dict"].items())
    optimizer = torch.optim.SGD(planner.net.parameters(), lr=0.1)
    last = save_last(tmp_path, planner, optimizer, TrainState(epoch=2, step=7), {"lr": 0.1})
    assert list(read_checkpoint(last)) == list(plain) + ["train"]
    fresh = VGNPlanner(VGNConfig())
    train = load_last(last, fresh)
    assert train["state"]["step"] == 7 and train["config"] == {"lr": 0.1}
    assert all(torch.equal(fresh.state_dict()[k], v) for k, v in planner.state_dict().items())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.pt", "last.ckpt", "plain.pt"]  # no temporary left
