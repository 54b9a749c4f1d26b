"""Bad input for training and loading (issue 4, item 8): a checkpoint of another planner type, a truncated
checkpoint, a dataset with no positives, a grid of the wrong shape. Each is a clear error (one
``igd: error:`` line and exit code 2 through the CLI, an :class:`IGDError` through the API), never a NaN
loss or a silent wrong load.

Cases covered elsewhere (not repeated here): ``--resume`` with another planner's ``last.ckpt``,
a truncated ``last.ckpt`` for ``--resume``/``--init``, a GIGA run on a root without positives and a
processed grid file of the wrong shape (``tests/train/test_cli_train.py``); ``from_pretrained`` /
``load_planner`` with another planner's or a truncated checkpoint (every planner's contract suite,
``tests/planners/contract.py``); ``Observation`` with a wrong-shaped or NaN grid
(``tests/planners/test_contract.py``); IGD's loss on a batch without positives (``tests/planners/test_igd.py``).
The learned planners come from the registry and their tiny networks from ``tests/tiny_planners.py``.
"""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
import torch
from tiny_planners import learned_planners, tiny_fields, tiny_planner, tiny_set

from igd.cli.main import main
from igd.data.datasets import flatten_grasps
from igd.errors import IGDError
from igd.planners.base import Observation, registry

#: The planners with weights, from the registry; their tiny networks are tests/tiny_planners.py's.
LEARNED = learned_planners()

pytestmark = pytest.mark.usefixtures("one_thread")


def _error(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("igd: error: "), err
    return lines[0]


def _train(root, run, planner, *extra):
    k = "0" if planner == "vgn" else "4"
    return ["train", "--planner", planner, "--data", str(root), "--out", str(run), "--epochs", "1",
            "--batch-size", "2", "--grasps-per-scene", k, "--occ-points", "64", "--no-progress",
            *tiny_set(planner), *extra]


def _bench(planner, weights, out):
    return ["bench", "--planner", planner, "--weights", str(weights), "--objects", "blocks", "--rounds", "1",
            "--seeds", "0", "--workers", "1", "--no-progress", "--out", str(out)]


#: (checkpoint's type, asked for): every ordered pair of learned planners.
PAIRS = [(saved, wanted) for saved in LEARNED for wanted in LEARNED if saved != wanted]
#: Those where ``--init`` is refused: not a transfer the asked-for planner declares (IGD from GIGA is one).
FOREIGN_INITS = [(saved, wanted) for saved, wanted in PAIRS if saved not in registry()[wanted].transfer_renames]


# --------------------------------------------------------------------------------------------------
# a checkpoint of another planner type: the error names both types
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("saved, wanted", FOREIGN_INITS)
def test_train_init_with_another_planners_checkpoint(saved, wanted, tiny_root, tmp_path, capsys):
    path = tiny_planner(saved).save_pretrained(tmp_path / f"{saved}.pt")
    run = tmp_path / "run"
    assert main(_train(tiny_root.root, run, wanted, "--init", str(path))) == 2
    line = _error(capsys)
    assert f"'{saved}'" in line and f"'{wanted}'" in line and str(path) in line, line
    assert not (run / "last.ckpt").exists()


@pytest.mark.parametrize("saved, wanted", PAIRS)
def test_bench_weights_of_another_planner(saved, wanted, tmp_path, capsys):
    path = tiny_planner(saved).save_pretrained(tmp_path / f"{saved}.pt")
    out = tmp_path / "bench"
    assert main(_bench(wanted, path, out)) == 2
    line = _error(capsys)
    assert f"'{saved}'" in line and f"'{wanted}'" in line, line
    assert not out.exists(), "nothing is written before the weights are checked"


def test_init_with_other_network_sizes_is_refused(tiny_root, tmp_path, capsys):
    """Same planner type, other sizes than the run's --set: an error, not a partial load."""
    path = tiny_planner("giga").save_pretrained(tmp_path / "giga.pt")
    assert main(_train(tiny_root.root, tmp_path / "run", "giga", "--set", "hidden=16", "--init", str(path))) == 2
    assert str(path) in _error(capsys)


def test_init_loads_the_weights_exactly(tiny_root, tmp_path):
    """The good case next to the bad ones: --init with a matching checkpoint starts from its weights."""
    from igd.train import TrainConfig
    from igd.train.checkpoints import load_init
    from igd.train.loop import build_planner

    source = tiny_planner("giga")
    path = source.save_pretrained(tmp_path / "giga.pt")
    planner = build_planner(TrainConfig(planner="giga", data=[str(tiny_root.root)], out=str(tmp_path / "r"),
                                        planner_config=tiny_fields("giga")))
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        load_init(path, planner)
        assert torch.get_num_threads() == 2  # reading the weights does not reset the run's threads
    finally:
        torch.set_num_threads(threads)
    for key, value in source.state_dict().items():
        assert torch.equal(value, planner.state_dict()[key]), key


def test_init_of_igd_from_giga_is_a_transfer_of_the_matching_tensors(tiny_root, tmp_path, capsys):
    """IGD from a GIGA checkpoint: the encoder, width and occupancy heads by name, GIGA's quality head into
    the affordance head; IGD's own modules (denoiser, DAMs, classifier) stay as initialised."""
    from igd.train import TrainConfig
    from igd.train.checkpoints import load_init
    from igd.train.loop import build_planner

    source = tiny_planner("giga", plane_mapping="reference")
    path = source.save_pretrained(tmp_path / "giga.pt")
    cfg = dict(tiny_fields("igd"), plane_mapping="ours")
    planner = build_planner(TrainConfig(planner="igd", data=[str(tiny_root.root)], out=str(tmp_path / "r"),
                                        planner_config=cfg))
    with pytest.raises(IGDError, match="plane_mapping=reference"):
        load_init(path, planner)
    planner = build_planner(TrainConfig(planner="igd", data=[str(tiny_root.root)], out=str(tmp_path / "r"),
                                        planner_config=dict(cfg, plane_mapping="reference")))
    fresh = {k: v.clone() for k, v in planner.net.state_dict().items()}
    load_init(path, planner)
    assert "tensors from the 'giga' checkpoint" in capsys.readouterr().err
    theirs, mine = source.net.state_dict(), planner.net.state_dict()
    for key, value in theirs.items():
        if key.startswith(("encoder.", "decoder_width.", "decoder_occ.")):
            assert torch.equal(mine[key], value), key
        elif key.startswith("decoder_qual."):
            assert torch.equal(mine[key.replace("decoder_qual.", "decoder_aff.")], value), key
    own = [k for k in mine if k.startswith(("denoiser.", "decoder_grasp."))]
    assert own and all(torch.equal(mine[k], fresh[k]) for k in own)


@pytest.mark.parametrize("name", ["se3dif", "dgrasp"])
def test_init_of_a_pose_space_planner_from_giga_takes_the_encoder_and_occupancy(name, tiny_root, tmp_path, capsys):
    """SE(3)-DiF and dGrasp from a GIGA checkpoint: its encoder and occupancy head by name; their pose-space
    heads stay as initialised."""
    from igd.train import TrainConfig
    from igd.train.checkpoints import load_init
    from igd.train.loop import build_planner

    source = tiny_planner("giga")
    path = source.save_pretrained(tmp_path / "giga.pt")
    giga = tiny_fields("giga")
    cfg = dict(tiny_fields(name), features=giga["features"], unet_filters=giga["unet_filters"],
               unet_depth=giga["unet_depth"], occ_hidden=giga["hidden"], occ_blocks=giga["blocks"])
    planner = build_planner(TrainConfig(planner=name, data=[str(tiny_root.root)], out=str(tmp_path / "r"),
                                        planner_config=cfg))
    fresh = {k: v.clone() for k, v in planner.net.state_dict().items()}
    load_init(path, planner)
    assert "(decoder_occ, encoder)" in capsys.readouterr().err
    theirs, mine = source.net.state_dict(), planner.net.state_dict()
    shared = [k for k in theirs if k.startswith(("encoder.", "decoder_occ."))]
    assert shared and all(torch.equal(mine[k], theirs[k]) for k in shared)
    own = [k for k in mine if not k.startswith(("encoder.", "decoder_occ."))]
    assert own and all(torch.equal(mine[k], fresh[k]) for k in own)


# --------------------------------------------------------------------------------------------------
# a truncated checkpoint: one line, exit code 2
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", LEARNED)
def test_truncated_checkpoint_through_the_cli(name, tiny_root, tmp_path, capsys):
    path = tiny_planner(name).save_pretrained(tmp_path / f"{name}.pt")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert main(_train(tiny_root.root, tmp_path / "run", name, "--init", str(path))) == 2
    line = _error(capsys)
    assert "truncated" in line and str(path) in line, line
    assert main(_bench(name, path, tmp_path / "bench")) == 2
    line = _error(capsys)
    assert str(path) in line, line
    assert not (tmp_path / "bench").exists()


@pytest.mark.parametrize("name", LEARNED)
def test_empty_checkpoint_through_the_cli(name, tiny_root, tmp_path, capsys):
    path = tmp_path / "empty.pt"
    path.write_bytes(b"")
    assert main(_train(tiny_root.root, tmp_path / "run", name, "--init", str(path))) == 2
    assert str(path) in _error(capsys)


# --------------------------------------------------------------------------------------------------
# a dataset with no positives: an error before training
# --------------------------------------------------------------------------------------------------
def _zero_labels(root, scenes=None) -> None:
    path = root / "grasps.csv"
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        if scenes is None or row["scene_id"] in scenes:
            row["label"] = "0"
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@pytest.mark.parametrize("name", LEARNED)
def test_train_on_a_root_without_positives(name, root_copy, tmp_path, capsys):
    _zero_labels(root_copy)
    run = tmp_path / "run"
    assert main(_train(root_copy, run, name)) == 2
    line = _error(capsys)
    assert "no positive grasps" in line and "grasps.csv" in line, line
    assert not (run / "last.ckpt").exists() and not (run / "metrics.csv").exists()


def test_train_on_a_root_whose_val_split_has_no_positives(root_copy, tmp_path, capsys):
    val = json.loads((root_copy / "splits.json").read_text())["val"]
    _zero_labels(root_copy, set(val))
    assert main(_train(root_copy, tmp_path / "run", "giga")) == 2
    line = _error(capsys)
    assert "no positive grasps" in line and "'val'" in line, line


# --------------------------------------------------------------------------------------------------
# the losses: a batch of all-negative labels gives a finite loss and finite gradients
# --------------------------------------------------------------------------------------------------
def scene_batch(s: int = 2, k: int = 3, points: int = 32, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    occ_points = 0.05 + 0.2 * torch.rand(s, points, 3, generator=g)
    grid = torch.zeros(s, 1, 40, 40, 40)
    grid[:, :, 10:30, 10:30, :12] = 1.0
    return {
        "grid": grid, "pos": 0.05 + 0.2 * torch.rand(s, k, 3, generator=g),
        "quat": torch.nn.functional.normalize(torch.randn(s, k, 4, generator=g), dim=-1),
        "width": 0.02 + 0.06 * torch.rand(s, k, generator=g), "label": torch.zeros(s, k),
        "occ_points": occ_points, "occ": (occ_points[..., 2] < 0.09).float(),
    }


@pytest.mark.parametrize("layout", ["scene", "item"])
@pytest.mark.parametrize("name", LEARNED)
def test_all_negative_batch_gives_a_finite_loss(name, layout):
    net = tiny_planner(name).training_module().train()
    batch = scene_batch()
    if layout == "item":
        batch = flatten_grasps(batch)
    loss, metrics = net.loss(batch)
    assert torch.isfinite(loss) and loss > 0
    assert all(math.isfinite(v) for v in metrics.values()), metrics
    loss.backward()
    grads = [p.grad for p in net.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


# --------------------------------------------------------------------------------------------------
# a grid of the wrong shape: IGDError from every planner's loss and plan
# --------------------------------------------------------------------------------------------------
BAD_GRIDS = {
    "32^3": lambda g: torch.zeros(g.shape[0], 1, 32, 32, 32),
    "one axis short": lambda g: g[..., :39],
    "two channels": lambda g: g.expand(-1, 2, -1, -1, -1),
    "no batch axis": lambda g: g[0],
    "other batch size": lambda g: g[:1],
}


@pytest.mark.parametrize("bad", sorted(BAD_GRIDS))
@pytest.mark.parametrize("name", LEARNED)
def test_loss_rejects_a_grid_of_the_wrong_shape(name, bad):
    net = tiny_planner(name).training_module()
    batch = scene_batch()
    for layout in (batch, flatten_grasps(batch)):
        with pytest.raises(IGDError, match="grid"):
            net.loss({**layout, "grid": BAD_GRIDS[bad](layout["grid"])})


@pytest.mark.parametrize("shape", [(1, 32, 32, 32), (40, 40, 39), (2, 40, 40, 40), (1, 1, 40, 40, 40), (64000,)])
@pytest.mark.parametrize("name", LEARNED)
def test_plan_rejects_a_grid_of_the_wrong_shape(name, shape):
    planner = tiny_planner(name)
    grid = np.zeros(shape, np.float32)
    with pytest.raises(IGDError, match="shape"):
        planner.plan(Observation(grid))
    with pytest.raises(IGDError, match="shape"):
        planner.plan(Observation(np.ones(shape, np.float32)))
