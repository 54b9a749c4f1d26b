"""The width unit of GIGA and IGD (metres / 0.3) and the conversion of checkpoints in voxel units."""

from __future__ import annotations

import torch

from igd.constants import SIZE, VOXEL_SIZE
from igd.nn import LocalDecoder
from igd.nn.width import VOXEL_TO_WORKSPACE, WIDTH_SCALE, WIDTH_UNIT, convert_width_head, upgrade_width_unit


def width_state(seed: int = 0) -> dict:
    torch.manual_seed(seed)
    return {f"decoder_width.{k}": v for k, v in LocalDecoder(1, 12, 8).state_dict().items()}


def test_the_unit():
    assert WIDTH_UNIT == "workspace" and WIDTH_SCALE == SIZE and abs(SIZE - 0.3) < 1e-12
    assert abs(VOXEL_TO_WORKSPACE - 1 / 40) < 1e-15 and abs(VOXEL_TO_WORKSPACE * SIZE - VOXEL_SIZE) < 1e-15


def test_converting_the_head_keeps_the_width_in_metres():
    """Old head (voxel units) × 0.0075 m = converted head (workspace units) × 0.3 m, at any input."""
    state = width_state()
    converted = convert_width_head(state)
    old, new = LocalDecoder(1, 12, 8), LocalDecoder(1, 12, 8)
    old.load_state_dict({k.split(".", 1)[1]: v for k, v in state.items()})
    new.load_state_dict({k.split(".", 1)[1]: v for k, v in converted.items()})
    p, c = torch.randn(3, 50, 3), torch.randn(3, 50, 12) * 5
    with torch.no_grad():
        torch.testing.assert_close(new(p, c) * SIZE, old(p, c) * VOXEL_SIZE, rtol=1e-5, atol=1e-8)


def test_only_the_output_layer_changes_and_exactly_by_one_fortieth():
    state = width_state(1)
    converted = convert_width_head(state)
    changed = {k for k in state if not torch.equal(state[k], converted[k])}
    assert changed == {"decoder_width.fc_out.weight", "decoder_width.fc_out.bias"}
    for key in changed:  # one rounding of the exact product
        torch.testing.assert_close(converted[key], (state[key].double() / 40).float(), rtol=0, atol=0)
        assert converted[key].dtype == state[key].dtype
    assert torch.equal(state["decoder_width.fc_out.bias"], width_state(1)["decoder_width.fc_out.bias"])  # input kept


def test_upgrade_marks_and_converts_only_unmarked_payloads():
    state = width_state(2)
    old = {"format": "igd-checkpoint-v1", "planner": "giga", "config": {"hidden": 8}, "state_dict": state}
    new = upgrade_width_unit(old)
    assert new["config"] == {"hidden": 8, "width_unit": "workspace"} and old["config"] == {"hidden": 8}
    bias = "decoder_width.fc_out.bias"
    assert torch.equal(new["state_dict"][bias], convert_width_head(state)[bias])
    assert upgrade_width_unit(new) is new  # marked: as it is (no second conversion)
    headless = {**old, "state_dict": {"x": torch.zeros(1)}}
    assert upgrade_width_unit(headless)["state_dict"] == headless["state_dict"]  # loading will name what is missing
