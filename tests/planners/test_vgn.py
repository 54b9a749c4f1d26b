"""VGN: the contract on a tiny network; the released weights load, reproduce their outputs and give
sensible grasps.

Golden values: ``tests/planners/data/vgn_golden.npz`` holds a synthetic grid (a box on the table,
:func:`planner_scenes.make_box_grid` moved off-centre), a few voxel indices, and the outputs of the
released weights there, computed by :func:`reference_forward` below (plain ``F.conv3d`` calls on the
raw state dict, ``repeat_interleave`` for the up-sampling: independent of ``VGNNet``). Regenerate with

    .venv/bin/python tests/planners/test_vgn.py --regenerate

(only if the weights file or the synthetic grid change on purpose; say why in the commit).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from contract import PlannerContractTest

from igd.constants import VOXEL_SIZE
from igd.errors import IGDError
from igd.planners.base import Observation
from igd.planners.vgn import VGNConfig, VGNPlanner

ROOT = Path(__file__).resolve().parents[2]
WEIGHTS = ROOT / "weights" / "vgn_conv.pth"
WEIGHTS_SHA256 = "ba3391d0805e9c9b178cd18106866313cee808ff2b654f689663e92a814cec4b"
GOLDEN = Path(__file__).resolve().parent / "data" / "vgn_golden.npz"
GOLDEN_BOX = dict(center=(0.13, 0.17, 0.08), half_extents=(0.02, 0.035, 0.03))


def reference_forward(state: dict, grid: torch.Tensor):
    """VGN's forward pass written out from its README: grid (1, 1, 40^3) → qual, rot, width (voxel units)."""

    def conv(x, name, stride=1):
        w = state[f"{name}.weight"]
        return F.conv3d(x, w, state[f"{name}.bias"], stride=stride, padding=w.shape[-1] // 2)

    x = grid
    for name in ("encoder.conv1", "encoder.conv2", "encoder.conv3"):
        x = torch.relu(conv(x, name, stride=2))
    for name in ("decoder.conv1", "decoder.conv2", "decoder.conv3"):  # 5 → 10 → 20 → 40
        x = torch.relu(conv(x, name))
        x = x.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3).repeat_interleave(2, dim=4)
    qual = torch.sigmoid(conv(x, "conv_qual"))[0, 0]
    rot = conv(x, "conv_rot")[0]
    rot = rot / rot.norm(dim=0, keepdim=True).clamp(min=1e-12)
    width = conv(x, "conv_width")[0, 0]
    return qual, rot, width


def _raw_state() -> dict:
    return torch.load(WEIGHTS, map_location="cpu", weights_only=True)


@pytest.fixture(scope="module")
def released() -> VGNPlanner:
    return VGNPlanner.from_weights(WEIGHTS)


@pytest.fixture(scope="module")
def golden():
    return dict(np.load(GOLDEN))


# --------------------------------------------------------------------------------------------------
# the contract (tests/planners/contract.py), on the tiny configuration of tests/tiny_planners.py
# --------------------------------------------------------------------------------------------------
class TestVGNContract(PlannerContractTest):
    planner_name = "vgn"
    expected_capabilities = {"volumes", "query_points", "training_module"}


class TestVGNOwnProtocolContract(TestVGNContract):
    """VGN's own protocol: one detection drawn at random (from the seed), threshold lowered to the tiny
    network's quality."""

    config_overrides = {"protocol": "vgn", "threshold": 0.5}
    min_grasps = 1

    def test_one_detection_drawn_from_several(self, grasps):
        assert len(grasps) == 1 and grasps.info["order"] == "random" and grasps.info["candidates"] > 1


# --------------------------------------------------------------------------------------------------
# the released weights
# --------------------------------------------------------------------------------------------------
def test_vendored_weights_are_the_released_file():
    assert hashlib.sha256(WEIGHTS.read_bytes()).hexdigest() == WEIGHTS_SHA256


def test_released_weights_load_exactly(released):
    raw = _raw_state()
    ours = released.state_dict()
    assert set(ours) == set(raw) and len(raw) == 18
    assert sum(v.numel() for v in raw.values()) == 313_238
    for k in raw:
        assert torch.equal(ours[k], raw[k].float()), k


def test_golden_values_reference_implementation(golden):
    """The independent forward pass still gives the committed values (guards the artifact)."""
    qual, rot, width = reference_forward(_raw_state(), torch.from_numpy(golden["grid"])[None])
    i, j, k = golden["index"].T
    np.testing.assert_allclose(qual.numpy()[i, j, k], golden["qual"], atol=1e-5)
    np.testing.assert_allclose(rot.numpy()[:, i, j, k].T, golden["rot"], atol=1e-4)
    np.testing.assert_allclose(width.numpy()[i, j, k], golden["width"], atol=1e-4)


def test_golden_values_vgn_planner(released, golden):
    qual, rot, width = released.predict(golden["grid"])
    i, j, k = golden["index"].T
    np.testing.assert_allclose(qual[i, j, k], golden["qual"], atol=1e-5)
    np.testing.assert_allclose(rot[:, i, j, k].T, golden["rot"], atol=1e-4)
    np.testing.assert_allclose(width[i, j, k] / VOXEL_SIZE, golden["width"], atol=1e-4)


def test_model_matches_reference_everywhere(released, golden):
    ref = reference_forward(_raw_state(), torch.from_numpy(golden["grid"])[None])
    ours = released.predict(golden["grid"])
    for name, a, b, scale, atol in zip(("qual", "rot", "width"), ours, ref, (1.0, 1.0, VOXEL_SIZE), (1e-5, 1e-4, 1e-4)):
        np.testing.assert_allclose(a, b.numpy() * scale, atol=atol * scale, err_msg=name)


# --------------------------------------------------------------------------------------------------
# planning
# --------------------------------------------------------------------------------------------------
def _box_distance(points: np.ndarray, center, half_extents) -> np.ndarray:
    from planner_scenes import box_sdf

    return box_sdf(np.atleast_2d(points), center, half_extents)


def test_grasps_on_the_box(released, box_grid):
    center, half = (0.15, 0.15, 0.08), (0.025, 0.02, 0.03)
    grasps = released.plan(Observation(box_grid))
    assert len(grasps) >= 1 and grasps.scores[0] >= 0.9
    for pose, width in zip(grasps.poses[:3], grasps.widths[:3]):
        tcp, approach = pose[:3, 3], pose[:3, 2]
        between_fingers = tcp + 0.03 * approach  # the middle of the fingers, 3 cm ahead of the TCP
        assert _box_distance(tcp, center, half)[0] < 0.05, "the TCP is within a finger length of the box"
        assert _box_distance(between_fingers, center, half)[0] < 0.015, "the fingers straddle the box"
        assert approach[2] < -0.5, "approaches from above (the table is below)"
        assert 0.02 < width <= 0.08


def test_vgn_protocol_draws_one_of_the_detections(box_grid):
    first = VGNPlanner.from_weights(WEIGHTS, protocol="vgn", seed=3)
    picks = [first.plan(Observation(box_grid)) for _ in range(2)]
    again = VGNPlanner.from_weights(WEIGHTS, protocol="vgn", seed=3)
    for g in picks:
        assert len(g) == 1 and g.info["order"] == "random" and g.info["candidates"] >= 1
        assert g.scores[0] >= 0.9
        same = again.plan(Observation(box_grid))
        np.testing.assert_array_equal(g.poses, same.poses)  # the same seed gives the same draws


def test_reseed_restarts_the_random_draw(box_grid):
    """``reseed(s)`` (the benchmark's, per round) makes the 'vgn' protocol's draws those of ``seed=s``."""
    planner = VGNPlanner.from_weights(WEIGHTS, protocol="vgn", seed=0)
    planner.plan(Observation(box_grid))
    planner.reseed(3)
    fresh = VGNPlanner.from_weights(WEIGHTS, protocol="vgn", seed=3)
    for _ in range(3):
        a, b = planner.plan(Observation(box_grid)), fresh.plan(Observation(box_grid))
        assert len(a) == 1
        np.testing.assert_array_equal(a.poses, b.poses)


def test_threshold_override_and_force(box_grid):
    planner = VGNPlanner.from_weights(WEIGHTS, threshold=1.0, force=True)
    assert planner.postprocess.threshold == 1.0 and planner.postprocess.force
    forced = planner.plan(Observation(box_grid))  # nothing reaches 1.0: the single best is kept
    assert len(forced) == 1 and forced.info["forced"] and 0.9 < forced.scores[0] < 1.0
    empty_grid = np.zeros((1, 40, 40, 40), np.float32)
    assert len(planner.plan(Observation(empty_grid))) == 0  # nothing observed: no surface, no grasp


# --------------------------------------------------------------------------------------------------
# weights errors
# --------------------------------------------------------------------------------------------------
def test_mismatched_state_dict_raises():
    planner = VGNPlanner()
    state = planner.state_dict()
    state.pop("conv_qual.bias")
    state["extra.weight"] = torch.zeros(1)
    state["conv_rot.weight"] = torch.zeros(4, 16, 3, 3, 3)
    with pytest.raises(IGDError) as e:
        planner.load_state_dict(state)
    msg = str(e.value)
    assert "conv_qual.bias" in msg and "extra.weight" in msg and "conv_rot.weight" in msg
    assert "\n" not in msg


@pytest.mark.parametrize("payload", [[1, 2, 3], {"a": 1}, {}])
def test_from_weights_rejects_non_state_dicts(tmp_path, payload):
    path = tmp_path / "bad.pth"
    torch.save(payload, path)
    with pytest.raises(IGDError, match="neither an igd checkpoint nor a VGN state dict"):
        VGNPlanner.from_weights(path)


def test_from_weights_rejects_foreign_tensors(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"layer.weight": torch.zeros(3)}, path)
    with pytest.raises(IGDError, match="missing keys"):
        VGNPlanner.from_weights(path)


@pytest.mark.parametrize("fraction", [0.0, 0.001, 0.3, 0.9])
def test_from_weights_truncated_release(tmp_path, fraction):
    data = WEIGHTS.read_bytes()
    path = tmp_path / "vgn_conv.pth"
    path.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(IGDError, match="truncated or not a checkpoint"):
        VGNPlanner.from_weights(path)


def test_from_weights_missing_file(tmp_path):
    with pytest.raises(IGDError, match="not found"):
        VGNPlanner.from_weights(tmp_path / "nope.pth")


def test_from_weights_reads_igd_checkpoints_with_overrides(tmp_path, released):
    path = released.save_pretrained(tmp_path / "vgn.pt")
    again = VGNPlanner.from_weights(path, protocol="vgn")
    assert again.config.protocol == "vgn"
    for k, v in released.state_dict().items():
        assert torch.equal(again.state_dict()[k], v)


def test_config_validation():
    for bad in (dict(protocol="gpd"), dict(threshold=1.5), dict(force="yes"), dict(seed=-1), dict(device="gpu")):
        with pytest.raises(IGDError, match=f"VGNConfig.{next(iter(bad))}"):
            VGNConfig(**bad)


# --------------------------------------------------------------------------------------------------
# training loss
# --------------------------------------------------------------------------------------------------
def test_one_training_step_reduces_the_loss(box_grid):
    torch.manual_seed(0)
    planner = VGNPlanner()
    net = planner.net.train()
    batch = {
        "grid": torch.from_numpy(box_grid[None].copy()),  # one positive: every loss term is active
        "pos": torch.tensor([[0.15, 0.15, 0.14]]),
        "quat": torch.tensor([[1.0, 0.0, 0.0, 0.0]]),
        "width": torch.tensor([0.05]),
        "label": torch.tensor([1.0]),
    }
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss, metrics = net.loss(batch)
    assert set(metrics) >= {"loss", "loss_qual", "loss_rot", "loss_width", "accuracy"}
    loss.backward()
    opt.step()
    with torch.no_grad():
        after, _ = net.loss(batch)
    assert torch.isfinite(after) and after < metrics["loss"]


def test_scene_batched_loss_equals_one_grasp_per_item(box_grid):
    """K grasps of S scenes read from one forward pass give the loss of S·K one-grasp items."""
    torch.manual_seed(0)
    net = VGNPlanner().net.eval()
    g = torch.from_numpy(box_grid[None].copy())
    grids = torch.cat([g, g.flip(-1)])  # S = 2 different scenes
    gen = torch.Generator().manual_seed(1)
    pos = torch.rand(2, 3, 3, generator=gen) * 0.25 + 0.02  # (S, K, 3)
    quat = torch.nn.functional.normalize(torch.randn(2, 3, 4, generator=gen), dim=-1)
    scene = {"grid": grids, "pos": pos, "quat": quat, "width": torch.rand(2, 3, generator=gen) * 0.08,
             "label": torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])}
    flat = {k: v.reshape(6, *v.shape[2:]) for k, v in scene.items() if k != "grid"}
    flat["grid"] = grids.repeat_interleave(3, dim=0)
    with torch.no_grad():
        a, ma = net.loss(scene)
        b, mb = net.loss(flat)
    assert torch.allclose(a, b, atol=1e-6)
    assert ma == pytest.approx(mb, abs=1e-6)
    bad = dict(scene, label=torch.zeros(2, 4))
    with pytest.raises(IGDError, match="label"):
        net.loss(bad)


def test_loss_names_missing_keys():
    with pytest.raises(IGDError, match="label"):
        VGNPlanner().net.loss({"grid": torch.zeros(1, 1, 40, 40, 40)})


# --------------------------------------------------------------------------------------------------
# regenerating the artifact
# --------------------------------------------------------------------------------------------------
def write_golden(path: Path = GOLDEN) -> None:
    """Write ``vgn_golden.npz`` from :func:`reference_forward` (see the module docstring)."""
    from planner_scenes import make_box_grid

    grid = make_box_grid(**GOLDEN_BOX)[0]
    qual, rot, width = (t.numpy() for t in reference_forward(_raw_state(), torch.from_numpy(grid)[None, None]))
    surface = np.argwhere((grid > 0.5))
    top = surface[np.argsort(-qual[tuple(surface.T)], kind="stable")[:6]]
    fixed = np.array([[0, 0, 0], [39, 39, 39], [20, 20, 20], [10, 30, 15], [17, 22, 16], [5, 33, 7]])
    index = np.concatenate([top, fixed]).astype(np.int64)
    i, j, k = index.T
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, grid=grid[None].astype(np.float32), index=index, qual=qual[i, j, k],
                        rot=rot[:, i, j, k].T, width=width[i, j, k])
    print(f"wrote {path}: {len(index)} voxels, qual {np.round(qual[i, j, k], 3)}")


if __name__ == "__main__":
    if "--regenerate" not in sys.argv:
        sys.exit(__doc__)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    write_golden()
