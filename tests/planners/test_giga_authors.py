"""The GIGA authors' weights, loaded as they are, reproduce GIGA's own code; files given to the wrong planner.

Golden values: ``tests/planners/data/giga_reference_golden.npz`` holds the outputs of GIGA's *own*
code (its repository's ``ConvolutionalOccupancyNetwork``, with ``torch_scatter.scatter_mean`` replaced
by an exact plain mean) with the authors' ``giga_packed.pt`` and ``giga_pile.pt`` (vendored as
``weights/giga-{packed,pile}-authors.pt``):

=====================  ==============  =======================================================
key                    shape           what
=====================  ==============  =======================================================
``grid``               (1, 40, 40, 40)  an encoded TSDF of a packed scene
``points``             (1, 512, 3)     normalised query points, uniform in [−0.5, 0.475]³
``{scene}_qual``       (1, 512)        quality after the sigmoid
``{scene}_rot``        (1, 512, 4)     quaternion (x, y, z, w), normalised
``{scene}_width``      (1, 512)        width in GIGA's unit (× 0.3 m)
``{scene}_occ_logit``  (1, 512)        occupancy logit (their ``decoder_tsdf``)
=====================  ==============  =======================================================

It is an independent reference, so it is not regenerated from this repository: to rebuild it, run
GIGA's repository's network on ``grid`` and ``points`` with each weights file (the occupancy head
on the same points) and save the outputs under these keys.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from igd.errors import IGDError
from igd.planners.base import load_planner
from igd.planners.giga import GIGAPlanner
from igd.planners.giga.planner import from_reference_names
from igd.planners.igd import IGDConfig, IGDPlanner
from igd.planners.vgn import VGNPlanner

ROOT = Path(__file__).resolve().parents[2]
WEIGHTS = ROOT / "weights"
AUTHORS = {scene: WEIGHTS / f"giga-{scene}-authors.pt" for scene in ("packed", "pile")}
GOLDEN = Path(__file__).resolve().parent / "data" / "giga_reference_golden.npz"

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def golden() -> dict:
    return dict(np.load(GOLDEN))


def heads(planner: GIGAPlanner, golden: dict) -> dict:
    """The four heads of ``planner.net`` at the golden points (normalised), as numpy."""
    with torch.no_grad():
        planes = planner.net.encode(torch.from_numpy(golden["grid"]))
        p = torch.from_numpy(golden["points"])
        qual_logit, rot, width = planner.net.grasp_heads(planes, p)
        occ_logit = planner.net.occupancy(planes, p)
    return {"qual": torch.sigmoid(qual_logit).numpy(), "rot": rot.numpy(), "width": width.numpy(),
            "occ_logit": occ_logit.numpy()}


# --------------------------------------------------------------------------------------------------
# the authors' weights, as they are
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("scene", ["packed", "pile"])
def test_authors_weights_reproduce_gigas_own_code(scene, golden):
    """With plane_mapping="reference" (set by the loader) our GIGANet gives GIGA's outputs to float precision."""
    planner = GIGAPlanner.from_weights(AUTHORS[scene])
    assert planner.config.plane_mapping == "reference" and planner.config.width_unit == "workspace"
    out = heads(planner, golden)
    assert out["qual"].shape == golden[f"{scene}_qual"].shape == (1, 512)
    for name in ("qual", "width"):
        np.testing.assert_allclose(out[name], golden[f"{scene}_{name}"], rtol=1e-5, atol=1e-5, err_msg=name)
    # the rotation head's raw output is normalised (small norms amplify float32 rounding); logits reach ±40
    np.testing.assert_allclose(out["rot"], golden[f"{scene}_rot"], rtol=1e-5, atol=3e-5, err_msg="rot")
    np.testing.assert_allclose(out["occ_logit"], golden[f"{scene}_occ_logit"], rtol=1e-5, atol=3e-5)


def test_our_mapping_does_not_reproduce_them(golden):
    """The mapping is part of what the weights learned: read with "ours", the same weights disagree."""
    planner = GIGAPlanner.from_weights(AUTHORS["packed"], plane_mapping="ours")
    out = heads(planner, golden)
    assert np.abs(out["qual"] - golden["packed_qual"]).max() > 0.2
    assert np.corrcoef(out["qual"].ravel(), golden["packed_qual"].ravel())[0, 1] < 0.99


def test_the_authors_keys_map_onto_ours():
    raw = torch.load(AUTHORS["packed"], map_location="cpu", weights_only=True)
    renamed = from_reference_names(raw)
    assert len(raw) == len(renamed) == 164
    assert "encoder.unet.down.0.conv1.weight" in renamed and "encoder.unet.down_convs.0.conv1.weight" in raw
    assert "encoder.unet.up.1.upconv.bias" in renamed and "decoder_occ.fc_out.weight" in renamed
    assert set(renamed) == set(GIGAPlanner().net.state_dict())
    planner = GIGAPlanner.from_weights(AUTHORS["packed"])
    for key, value in raw.items():  # loaded as they are: every tensor unchanged
        ours = key.replace("down_convs", "down").replace("up_convs", "up").replace("decoder_tsdf", "decoder_occ")
        assert torch.equal(planner.net.state_dict()[ours], value), key


def test_the_factory_loads_them_with_overrides():
    planner = load_planner("giga", weights=AUTHORS["pile"], threshold=0.8)
    assert isinstance(planner, GIGAPlanner) and planner.config.plane_mapping == "reference"
    assert planner.postprocess.threshold == 0.8


def test_a_saved_authors_model_keeps_its_mapping(tmp_path, golden):
    planner = GIGAPlanner.from_weights(AUTHORS["packed"])
    again = GIGAPlanner.from_weights(planner.save_pretrained(tmp_path / "giga.pt"))
    assert again.config == planner.config
    np.testing.assert_array_equal(heads(again, golden)["qual"], heads(planner, golden)["qual"])


# --------------------------------------------------------------------------------------------------
# files given to the wrong planner: one line that says what the file is
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("vgn_file", ["vgn_conv.pth", "vgn-packed-authors.pt", "vgn-pile-authors.pt"])
def test_a_vgn_state_dict_given_to_giga(vgn_file):
    with pytest.raises(IGDError, match=r"is a VGN state dict, not GIGA's: use --planner vgn$") as e:
        GIGAPlanner.from_weights(WEIGHTS / vgn_file)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("vgn_file", ["vgn_conv.pth", "vgn-packed-authors.pt", "vgn-pile-authors.pt"])
def test_vgn_state_dicts_load_into_vgn(vgn_file):
    """GIGA's authors' retrained VGN files are plain VGN state dicts: they load as vgn_conv.pth does."""
    raw = torch.load(WEIGHTS / vgn_file, map_location="cpu", weights_only=True)
    planner = VGNPlanner.from_weights(WEIGHTS / vgn_file)
    for key, value in raw.items():
        assert torch.equal(planner.net.state_dict()[key], value.float()), key


@pytest.mark.parametrize("planner_class", [VGNPlanner, IGDPlanner])
def test_a_giga_state_dict_given_to_another_planner(planner_class):
    name = planner_class.name.upper()
    with pytest.raises(IGDError, match=rf"is a GIGA state dict, not {name}'s: use --planner giga$"):
        planner_class.from_weights(AUTHORS["packed"])


def test_an_igd_checkpoint_given_to_giga(tmp_path):
    path = IGDPlanner(IGDConfig(features=8, hidden=16, unet_filters=8, denoiser_hidden=32)).save_pretrained(
        tmp_path / "igd.pt")
    with pytest.raises(IGDError, match=r"checkpoint is for planner 'igd', not 'giga': use --planner igd$"):
        GIGAPlanner.from_weights(path)


@pytest.mark.parametrize("state", [
    {"layer.weight": torch.zeros(3), "layer.bias": torch.zeros(3)},  # maps onto nothing
    {k: v for k, v in list(torch.load(AUTHORS["packed"], map_location="cpu", weights_only=True).items())[1:]},
])
def test_a_state_dict_that_maps_onto_nothing(tmp_path, state):
    path = tmp_path / "raw.pt"
    torch.save(state, path)
    with pytest.raises(IGDError, match=rf"raw state dict of {len(state)} tensors .* that is no file giga reads; "
                                       "giga reads igd checkpoints and the GIGA authors' state dicts") as e:
        GIGAPlanner.from_weights(path)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("payload", [[1, 2], {}, {"a": 1}])
def test_no_state_dict_at_all(tmp_path, payload):
    path = tmp_path / "bad.pt"
    torch.save(payload, path)
    with pytest.raises(IGDError, match="not an igd checkpoint .* and not a state dict"):
        GIGAPlanner.from_weights(path)


def test_the_authors_file_with_wrong_sizes(tmp_path):
    with pytest.raises(IGDError, match=r"giga-packed-authors.pt: giga: GIGANet: .*shape mismatches"):
        GIGAPlanner.from_weights(AUTHORS["packed"], hidden=16)
