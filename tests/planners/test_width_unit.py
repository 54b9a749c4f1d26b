"""GIGA and IGD checkpoints written in voxel units (before ``width_unit``) load converted and plan the same.

A *legacy* checkpoint here is what igd wrote before the change: the config without ``width_unit`` and
``plane_mapping``, the width head predicting metres / 0.0075. Its widths in metres are computed from
the unconverted network (``head × 0.0075``); the loaded planner (head converted, ``× 0.3``) must give
the same width volume, and quality and orientation bit for bit. ``benchmarks/convert_width_unit.py``
writes the same conversion to disk (tested here too); the released weights carry it.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from igd.constants import VOXEL_SIZE
from igd.errors import IGDError
from igd.planners.base import CHECKPOINT_FORMAT, Observation, load_planner, read_checkpoint
from igd.planners.common.queries import query_points
from igd.planners.giga import GIGAConfig, GIGAPlanner
from igd.planners.igd import IGDConfig, IGDPlanner
from igd.planners.vgn import VGNPlanner
from igd.released import RELEASED

ROOT = Path(__file__).resolve().parents[2]
GIGA_SMALL = dict(features=8, hidden=16, unet_filters=8)
IGD_SMALL = dict(features=8, hidden=16, unet_filters=8, denoiser_hidden=32, steps=2, max_points=300)
NEW_FIELDS = ("width_unit", "plane_mapping")

pytestmark = pytest.mark.usefixtures("one_thread")


def legacy_checkpoint(planner, path: Path) -> Path:
    """Write ``planner`` as igd wrote checkpoints before the width unit was recorded; its width head is
    read as voxel units from now on."""
    config = {k: v for k, v in dataclasses.asdict(planner.config).items() if k not in NEW_FIELDS}
    torch.save({"format": CHECKPOINT_FORMAT, "planner": planner.name, "config": config,
                "state_dict": planner.state_dict()}, path)
    return path


def load_script():
    spec = importlib.util.spec_from_file_location("convert_width_unit", ROOT / "benchmarks" / "convert_width_unit.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def giga_legacy(tmp_path):
    torch.manual_seed(0)
    old = GIGAPlanner(GIGAConfig(**GIGA_SMALL))
    with torch.no_grad():  # widths of a few voxels, inside the post-processing's range
        old.net.decoder_width.fc_out.bias.fill_(5.0)
    return old, legacy_checkpoint(old, tmp_path / "giga-old.pt")


def test_a_legacy_giga_checkpoint_predicts_the_same_volumes(tmp_path, box_grid):
    old, path = giga_legacy(tmp_path)
    with torch.no_grad():  # the old meaning of the unconverted head: voxel units
        planes = old.net.encode(torch.from_numpy(box_grid.copy()))
        old_width = old.net.grasp_heads(planes, query_points())[2].reshape(40, 40, 40).numpy() * VOXEL_SIZE
    new = GIGAPlanner.from_weights(path)
    assert new.config.width_unit == "workspace" and new.config.plane_mapping == "ours"
    qual, rot, width = new.predict(box_grid)
    old_qual, old_rot, _ = old.predict(box_grid)  # these heads are untouched by the conversion
    assert np.array_equal(qual, old_qual) and np.array_equal(rot, old_rot)
    assert 0.02 < np.median(width) < 0.06
    np.testing.assert_allclose(width, old_width, rtol=1e-5, atol=1e-9)
    grasps = new.plan(Observation(box_grid))
    assert len(grasps) > 0
    np.testing.assert_allclose(grasps.widths, old_width[tuple(np.round(grasps.poses[:, :3, 3] / VOXEL_SIZE)
                                                               .astype(int).T)], rtol=1e-5)


def test_a_legacy_igd_checkpoint_predicts_the_same_widths(tmp_path, box_grid):
    torch.manual_seed(0)
    old = IGDPlanner(IGDConfig(**IGD_SMALL))
    with torch.no_grad():
        old.net.decoder_aff.fc_out.bias.fill_(3.0)  # gate many voxels
        old.net.decoder_width.fc_out.bias.fill_(5.0)
    path = legacy_checkpoint(old, tmp_path / "igd-old.pt")
    new = load_planner("igd", weights=path)
    assert new.config.width_unit == "workspace" and new.config.plane_mapping == "ours"
    pred, old_pred = new.predict(box_grid), old.predict(box_grid)
    gated = pred.gated
    assert gated.sum() == 300 and np.array_equal(gated, old_pred.gated)
    assert np.array_equal(pred.qual, old_pred.qual) and np.array_equal(pred.rot, old_pred.rot)
    with torch.no_grad():
        planes = old.net.encode(torch.from_numpy(box_grid.copy()))
        p = query_points()[0][torch.from_numpy(np.flatnonzero(gated.ravel()))][None]
        old_width = old.net.width(planes, p)[0].numpy() * VOXEL_SIZE
    np.testing.assert_allclose(pred.width.ravel()[np.flatnonzero(gated.ravel())], old_width, rtol=1e-5, atol=1e-9)


def test_the_script_converts_once_and_the_file_says_so(tmp_path, box_grid):
    old, path = giga_legacy(tmp_path)
    script = load_script()
    report = script.convert(path)
    assert "width head × 1/40" in report and "sha256" in report
    payload = read_checkpoint(path)
    assert payload["config"]["width_unit"] == "workspace" and payload["config"]["plane_mapping"] == "ours"
    state = payload["state_dict"]
    for key, value in old.state_dict().items():
        expected = (value.double() / 40).float() if key.startswith("decoder_width.fc_out.") else value
        assert torch.equal(state[key], expected), key
    assert "left alone" in script.convert(path)  # rerunning changes nothing
    bias = "decoder_width.fc_out.bias"
    assert torch.equal(read_checkpoint(path)["state_dict"][bias], state[bias])
    loaded = GIGAPlanner.from_weights(path)
    fresh = GIGAPlanner.from_weights(legacy_checkpoint(old, tmp_path / "b.pt"))  # converted while loading
    np.testing.assert_array_equal(loaded.predict(box_grid)[2], fresh.predict(box_grid)[2])


def test_the_script_refuses_other_planners(tmp_path):
    path = VGNPlanner().save_pretrained(tmp_path / "vgn.pt")
    with pytest.raises(IGDError, match="only GIGA and IGD checkpoints"):
        load_script().convert(path)
    assert load_script().main([str(path)]) == 2


@pytest.mark.parametrize("name", ["giga-packed-scratch", "giga-pile-scratch", "giga-packed-mined", "giga-pile-mined",
                                  "giga-packed-v1", "giga-pile-v1", "igd-packed", "igd-pile", "igd-packed-scratch",
                                  "igd-packed-v1", "igd-pile-scratch", "igd-pile-v1"])
def test_released_weights_record_their_units(name):
    """Our released GIGA and IGD weights were converted (benchmarks/convert_width_unit.py): no load-time change."""
    config = read_checkpoint(ROOT / "weights" / RELEASED[name].filename)["config"]  # igd-pile: igd-packed's file
    assert config["width_unit"] == "workspace" and config["plane_mapping"] == "ours"


@pytest.mark.parametrize("name", ["giga-packed", "giga-pile", "igd-packed-transfer", "igd-pile-transfer"])
def test_the_transferred_release_keeps_the_authors_plane_mapping(name):
    """giga-packed, giga-pile, igd-packed-transfer and igd-pile-transfer start from the authors' GIGA: they read
    their planes as the authors' network did."""
    config = read_checkpoint(ROOT / "weights" / f"{name}.pt")["config"]
    assert config["width_unit"] == "workspace" and config["plane_mapping"] == "reference"


@pytest.mark.parametrize("name", ["giga-packed-v1", "giga-pile-v1", "igd-packed-v1", "igd-pile-v1"])
def test_the_cards_state_the_converted_files(name):
    import hashlib
    import re

    card = (ROOT / "weights" / f"{name}.md").read_text()
    stated = re.search(r"\| size, sha256 \| [\d,]+ bytes, `([0-9a-f]{64})`", card).group(1)
    assert hashlib.sha256((ROOT / "weights" / f"{name}.pt").read_bytes()).hexdigest() == stated
    assert "metres / 0.3 (`width_unit: workspace`" in card and "convert_width_unit.py" in card
