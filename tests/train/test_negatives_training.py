"""Extra negatives in training: what GIGA's and IGD's losses take from certain negatives, and
``igd train --dropped-negatives / --certain-negatives`` end to end on a tiny processed root."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from igd import batch_keys as keys
from igd.cli.main import main
from igd.train.config import TrainConfig, config_differences

URDF = ('<robot name="box"><link name="base"><inertial><mass value="0.1"/><inertia ixx="1e-4" iyy="1e-4" '
        'izz="1e-4" ixy="0" ixz="0" iyz="0"/></inertial><collision><geometry><box size="{}"/></geometry>'
        '</collision></link></robot>')


def _batch(s: int = 2, k: int = 6, seed: int = 0) -> dict:
    """Rows 0-3 labelled (0 and 2 positive), rows 4-5 certain negatives."""
    g = torch.Generator().manual_seed(seed)
    label = torch.zeros(s, k)
    label[:, [0, 2]] = 1.0
    certain = torch.zeros(s, k)
    certain[:, 4:] = 1.0
    occ_points = 0.1 + 0.1 * torch.rand(s, 32, 3, generator=g)
    return {keys.GRID: torch.rand(s, 1, 40, 40, 40, generator=g), keys.POS: 0.1 + 0.1 * torch.rand(s, k, 3, generator=g),
            keys.QUAT: torch.nn.functional.normalize(torch.randn(s, k, 4, generator=g), dim=-1),
            keys.WIDTH: torch.full((s, k), 0.08), keys.LABEL: label, keys.CERTAIN: certain,
            keys.OCC_POINTS: occ_points, keys.OCC: (occ_points[..., 2] < 0.15).float()}


def _other_orientation_and_width(batch: dict) -> dict:
    out = {name: t.clone() for name, t in batch.items()}
    out[keys.QUAT][:, 4:] = torch.nn.functional.normalize(torch.randn(out[keys.QUAT][:, 4:].shape), dim=-1)
    out[keys.WIDTH][:, 4:] = 0.01
    return out


def _moved(batch: dict) -> dict:
    out = {name: t.clone() for name, t in batch.items()}
    out[keys.POS][:, 4:] += 0.02
    return out


def test_giga_learns_only_quality_from_certain_negatives():
    from igd.planners.giga.model import GIGANet

    torch.manual_seed(0)
    net = GIGANet(features=8, hidden=16, unet_filters=8).eval()
    batch = _batch()
    loss, metrics = net.loss(batch)
    other, other_metrics = net.loss(_other_orientation_and_width(batch))
    assert float(loss.detach()) == pytest.approx(float(other.detach()), abs=1e-7)  # no rotation or width term for them
    assert metrics["loss_qual"] == pytest.approx(other_metrics["loss_qual"], abs=1e-7)
    moved, moved_metrics = net.loss(_moved(batch))
    assert moved_metrics["loss_qual"] != pytest.approx(metrics["loss_qual"], abs=1e-6)  # their quality is trained


def _igd_loss(net, batch):
    from igd.planners.igd.loss import igd_loss

    return igd_loss(net, batch, generator=torch.Generator().manual_seed(1))


@pytest.fixture(scope="module")
def igd_net():
    from igd.planners.igd.loss import LossSettings
    from igd.planners.igd.model import IGDNet

    torch.manual_seed(0)
    return IGDNet(features=8, hidden=16, unet_filters=8, denoiser_hidden=32,
                  loss_settings=LossSettings(neg_rounds=2)).eval()


def test_igd_learns_only_the_affordance_from_certain_negatives(igd_net):
    batch = _batch()
    _, metrics = _igd_loss(igd_net, batch)
    _, other = _igd_loss(igd_net, _other_orientation_and_width(batch))
    for name in ("loss", "loss_aff", "loss_grasp", "loss_ddpm", "loss_width"):  # no classifier, diffuser, width
        assert other[name] == pytest.approx(metrics[name], abs=1e-7), name
    _, moved = _igd_loss(igd_net, _moved(batch))
    assert moved["loss_aff"] != pytest.approx(metrics["loss_aff"], abs=1e-6)  # the affordance is trained on them
    labelled = {name: t for name, t in batch.items() if name != keys.CERTAIN}  # as labelled negatives instead
    _, as_rows = _igd_loss(igd_net, labelled)
    _, as_rows_other = _igd_loss(igd_net, {n: t for n, t in _other_orientation_and_width(batch).items()
                                           if n != keys.CERTAIN})
    assert as_rows["loss_grasp"] != pytest.approx(as_rows_other["loss_grasp"], abs=1e-7)


def test_igd_loss_without_certain_rows_is_the_papers(igd_net):
    batch = _batch()
    batch[keys.CERTAIN].zero_()
    with_key, _ = _igd_loss(igd_net, batch)
    without, _ = _igd_loss(igd_net, {n: t for n, t in batch.items() if n != keys.CERTAIN})
    torch.testing.assert_close(with_key, without, rtol=1e-6, atol=1e-7)


def test_igd_classifier_skips_certain_rows_with_the_same_loss():
    """The classifier is not evaluated on certain rows: its term equals the one of a batch without them
    (neg_rounds = 0: the classifier's samples are deterministic), and its cost falls with them."""
    from igd.planners.igd import model as igd_model
    from igd.planners.igd.loss import LossSettings, igd_loss
    from igd.planners.igd.model import IGDNet

    torch.manual_seed(0)
    net = IGDNet(features=8, hidden=16, unet_filters=8, denoiser_hidden=32,
                 loss_settings=LossSettings(neg_rounds=0)).eval()
    batch = _batch()
    seen = []
    original = igd_model.IGDNet.classify

    def counting(self, planes, p, quat, feature=None):
        seen.append(p.shape[1])
        return original(self, planes, p, quat, feature)

    igd_model.IGDNet.classify = counting
    try:
        _, with_certain = igd_loss(net, batch, generator=torch.Generator().manual_seed(1))
        labelled = {n: t[:, :4] if n in keys.GRASP_KEYS else t for n, t in batch.items() if n != keys.CERTAIN}
        _, without = igd_loss(net, labelled, generator=torch.Generator().manual_seed(1))
    finally:
        igd_model.IGDNet.classify = original
    assert seen == [4 * 20, 4 * 20]  # 4 labelled rows × 20 samples, the 2 certain rows skipped
    assert with_certain["loss_grasp"] == pytest.approx(without["loss_grasp"], rel=1e-6)
    assert with_certain["loss_grasp"] > 0


def test_igd_ddpm_draws_feed_only_positives_and_lower_the_variance():
    """``ddpm_draws`` D: the ε-network sees D × P × 4 samples (P positives, none of the other rows), and the
    term's spread over generator seeds falls (about 1/sqrt(D))."""
    from igd.planners.igd.loss import LossSettings, igd_loss
    from igd.planners.igd.model import IGDNet

    batch = _batch()  # 2 scenes, 2 positives each
    spreads = {}
    for draws in (1, 8):
        torch.manual_seed(0)
        net = IGDNet(features=8, hidden=16, unet_filters=8, denoiser_hidden=32,
                     loss_settings=LossSettings(neg_rounds=0, ddpm_draws=draws)).eval()
        shapes = []
        hook = net.denoiser.register_forward_hook(lambda m, args, out: shapes.append(tuple(out.shape)))
        values = [igd_loss(net, batch, generator=torch.Generator().manual_seed(seed))[1]["loss_ddpm"]
                  for seed in range(16)]
        hook.remove()
        assert shapes[0] == (draws, 4, 4, 4), shapes[0]
        spreads[draws] = float(torch.tensor(values).std())
    assert 0 < spreads[8] < 0.7 * spreads[1], spreads


# --------------------------------------------------------------------------------------------------
# igd train
# --------------------------------------------------------------------------------------------------
@pytest.fixture
def root_with_negatives(tiny_root, tmp_path, monkeypatch) -> Path:
    """A copy of the tiny processed root, its catalogue given box URDFs, then ``--add-negatives``."""
    cache = Path(shutil.copytree(tiny_root.root.parent / "cache", tmp_path / "cache"))
    monkeypatch.setenv("IGD_CACHE", str(cache))
    for meta in (cache / "objects" / "v1" / "gen").glob("*/meta.json"):
        extents = json.loads(meta.read_text())["extents"]
        (meta.parent / "object.urdf").write_text(URDF.format(" ".join(map(str, extents))))
    root = Path(shutil.copytree(tiny_root.root, tmp_path / "processed"))
    assert main(["process", str(tiny_root.raw), str(root), "--add-negatives", "--no-progress"]) == 0
    return root


def test_train_with_both_kinds_of_negatives(root_with_negatives, tmp_path, tiny_giga, capsys):
    run = tmp_path / "run"
    args = ["train", "--planner", "giga", "--data", str(root_with_negatives), "--out", str(run), "--epochs", "1",
            "--batch-size", "2", "--grasps-per-scene", "4", "--occ-points", "64", "--no-progress",
            "--dropped-negatives", "3", "--certain-negatives", "5", *tiny_giga]
    assert main(args) == 0
    saved = json.loads((run / "train.json").read_text())
    assert saved["dropped_negatives"] == 3 and saved["certain_negatives"] == 5
    assert (run / "best.pt").is_file()


def test_extra_negatives_need_scene_items(tiny_root, tmp_path, capsys):
    args = ["train", "--planner", "giga", "--data", str(tiny_root.root), "--out", str(tmp_path / "run"),
            "--grasps-per-scene", "0", "--certain-negatives", "4", "--no-progress"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "grasps_per_scene > 0" in err[0]


def test_a_run_saved_before_the_negatives_options_resumes_unchanged():
    new = TrainConfig(data=["d"], out="o").to_dict()
    old = {k: v for k, v in new.items() if k not in ("dropped_negatives", "certain_negatives")}
    assert config_differences(old, new) == []
    assert config_differences(old, {**new, "certain_negatives": 8}) == ["certain_negatives: 0 -> 8"]
