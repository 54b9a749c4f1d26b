"""The shared post-processing (docs/planners.md#post-processing): surface mask, smoothing, widths,
borders, NMS, force, order."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import ndimage
from scipy.spatial.transform import Rotation

from igd.constants import VOXEL_SIZE
from igd.errors import IGDError
from igd.planners.postprocess import (
    PRESETS,
    PostprocessConfig,
    detect,
    order_detections,
    process,
    select,
    surface_mask,
    zero_borders,
)

N = 40
NO_BORDERS = PostprocessConfig(border_xy=0, border_z=0)


def volumes(qual=0.0, width=0.05):
    """Constant ``qual (40^3)``, identity ``rot (4, 40^3)`` and ``width (40^3)`` metres."""
    rot = np.zeros((4, N, N, N), np.float32)
    rot[3] = 1.0
    return np.full((N, N, N), qual, np.float64), rot, np.full((N, N, N), width, np.float64)


def layered_grid() -> np.ndarray:
    """A flat surface seen from above: z < 8 unseen (0), 8..9 observed inside (0.3),
    10..13 observed free space near the surface (0.7), z >= 14 far free space (0)."""
    grid = np.zeros((N, N, N), np.float32)
    grid[:, :, 8:10] = 0.3
    grid[:, :, 10:14] = 0.7
    return grid


# --------------------------------------------------------------------------------------------------
# surface mask
# --------------------------------------------------------------------------------------------------
def test_surface_mask_dilates_free_space_but_not_into_the_object():
    mask = surface_mask(layered_grid())
    column = mask[20, 20]
    assert column[10:14].all(), "observed free space is kept"
    assert column[14:16].all(), "dilated by two voxels into unobserved/far space"
    assert not column[16:].any()
    assert not column[8:10].any(), "never into observed-inside voxels"
    assert not column[:8].any(), "nor through them"


def test_surface_mask_iterations_and_threshold():
    grid = layered_grid()
    assert surface_mask(grid, iterations=0)[20, 20].nonzero()[0].tolist() == list(range(10, 14))
    assert surface_mask(grid, iterations=1)[20, 20].nonzero()[0].tolist() == list(range(10, 15))
    assert not surface_mask(grid, out_th=0.8).any(), "nothing is 'outside' above 0.8"
    np.testing.assert_array_equal(surface_mask(grid[None]), surface_mask(grid))


def test_surface_mask_rejects_wrong_shapes():
    with pytest.raises(IGDError, match="grid must have shape"):
        surface_mask(np.zeros((40, 40, 20)))


# --------------------------------------------------------------------------------------------------
# process: smoothing, mask, widths, borders
# --------------------------------------------------------------------------------------------------
def test_process_smooths_quality_with_sigma_one():
    grid = np.full((N, N, N), 0.7, np.float32)  # all observed free space: the mask keeps everything
    qual, rot, width = volumes()
    qual[20, 20, 20] = 1.0
    out = process(grid, qual, rot, width, NO_BORDERS)
    np.testing.assert_allclose(out, ndimage.gaussian_filter(qual, sigma=1.0, mode="nearest"))
    assert out[20, 20, 20] == pytest.approx((2 * np.pi) ** -1.5, rel=0.05)  # peak of a unit 3D Gaussian


def test_process_applies_the_surface_mask():
    qual, rot, width = volumes(qual=0.9)
    out = process(layered_grid(), qual, rot, width, NO_BORDERS)
    np.testing.assert_array_equal(out > 0, surface_mask(layered_grid()))


def test_process_width_range():
    grid = np.full((N, N, N), 0.7, np.float32)
    qual, rot, width = volumes(qual=0.9)
    cfg = PostprocessConfig(sigma=0.0, border_xy=0, border_z=0)
    width[5, 5, 20], width[6, 6, 20] = 0.033 * 0.3 - 1e-4, 0.233 * 0.3 + 1e-4
    width[7, 7, 20], width[8, 8, 20] = 0.033 * 0.3 + 1e-4, 0.233 * 0.3 - 1e-4
    out = process(grid, qual, rot, width, cfg)
    assert out[5, 5, 20] == 0 and out[6, 6, 20] == 0
    assert out[7, 7, 20] == 0.9 and out[8, 8, 20] == 0.9


def test_process_zeroes_borders():
    grid = np.full((N, N, N), 0.7, np.float32)
    qual, rot, width = volumes(qual=0.8)
    out = process(grid, qual, rot, width, PostprocessConfig(sigma=0.0))
    assert not out[:2].any() and not out[-2:].any() and not out[:, :2].any() and not out[:, -2:].any()
    assert not out[:, :, :7].any()
    assert out[2:-2, 2:-2, 7:].min() == 0.8, "everything else untouched (top z layers included)"
    np.testing.assert_array_equal(zero_borders(qual, 0, 0), qual)
    assert zero_borders(qual, 3, 0)[2].sum() == 0 and zero_borders(qual, 3, 0)[3, 3, 0] == 0.8


# --------------------------------------------------------------------------------------------------
# select: threshold, NMS, poses, force
# --------------------------------------------------------------------------------------------------
def test_select_nms_threshold_and_poses():
    qual, rot, width = volumes()
    qual[10, 10, 10], qual[11, 10, 10] = 0.9, 0.95  # the same 4-voxel window: only the larger survives
    qual[30, 30, 30] = 0.8
    qual[20, 5, 12] = 0.6  # below the threshold
    q = Rotation.from_euler("xyz", [0.3, -0.2, 1.0]).as_quat()
    rot[:, 30, 30, 30] = q
    width[30, 30, 30] = 0.042
    grasps = select(qual, rot, width, threshold=0.7)
    assert len(grasps) == 2
    np.testing.assert_allclose(grasps.scores, [0.95, 0.8])
    np.testing.assert_allclose(grasps.poses[0, :3, 3], np.array([11, 10, 10]) * VOXEL_SIZE)  # no half voxel
    np.testing.assert_allclose(grasps.poses[1, :3, 3], np.array([30, 30, 30]) * VOXEL_SIZE)
    np.testing.assert_allclose(grasps.poses[1, :3, :3], Rotation.from_quat(q).as_matrix(), atol=1e-6)
    assert grasps.widths[1] == pytest.approx(0.042)


def test_select_nms_window_size():
    qual, rot, width = volumes()
    qual[10, 10, 10], qual[14, 10, 10] = 0.9, 0.95  # 4 voxels apart: outside a size-4 window
    assert len(select(qual, rot, width, threshold=0.5, max_filter_size=4)) == 2
    assert len(select(qual, rot, width, threshold=0.5, max_filter_size=9)) == 1


def test_select_force_keeps_the_single_best():
    qual, rot, width = volumes()
    qual[10, 10, 10], qual[30, 30, 30] = 0.3, 0.4
    assert len(select(qual, rot, width, threshold=0.5)) == 0
    forced = select(qual, rot, width, threshold=0.5, force=True)
    assert len(forced) == 1 and forced.scores[0] == 0.4 and forced.info["forced"]
    np.testing.assert_allclose(forced.poses[0, :3, 3], np.array([30, 30, 30]) * VOXEL_SIZE)
    assert len(select(np.zeros_like(qual), rot, width, threshold=0.5, force=True)) == 0
    qual[5, 5, 20] = 0.6  # one passes: force changes nothing
    normal = select(qual, rot, width, threshold=0.5, force=True)
    assert len(normal) == 1 and normal.scores[0] == 0.6 and not normal.info["forced"]


# --------------------------------------------------------------------------------------------------
# order, presets, the whole pipeline
# --------------------------------------------------------------------------------------------------
def _three_detections():
    qual, rot, width = volumes()
    for idx, value in (((10, 10, 10), 0.95), ((20, 20, 20), 0.92), ((30, 30, 30), 0.91)):
        qual[idx] = value
    return select(qual, rot, width, threshold=0.9)


def test_order_random_draws_one_detection_uniformly_and_reproducibly():
    picks = [order_detections(_three_detections(), "random", np.random.default_rng(s)) for s in range(60)]
    assert all(len(p) == 1 and p.info["candidates"] == 3 and p.info["order"] == "random" for p in picks)
    assert {float(p.scores[0]) for p in picks} == {0.95, 0.92, 0.91}
    a = order_detections(_three_detections(), "random", np.random.default_rng(7))
    b = order_detections(_three_detections(), "random", np.random.default_rng(7))
    np.testing.assert_array_equal(a.poses, b.poses)
    best = order_detections(_three_detections(), "best")
    assert len(best) == 3 and best.info["candidates"] == 3
    with pytest.raises(IGDError, match="rng"):
        order_detections(_three_detections(), "random")


def test_presets():
    giga, vgn = PRESETS["giga"], PRESETS["vgn"]
    assert (giga.threshold, giga.order, giga.border_xy, giga.border_z) == (0.5, "best", 2, 7)
    assert giga.min_width == pytest.approx(0.0099) and giga.max_width == pytest.approx(0.0699)
    assert (vgn.threshold, vgn.order, vgn.out_th) == (0.9, "random", 0.5)
    assert PostprocessConfig.preset("vgn", threshold=0.8).threshold == 0.8
    with pytest.raises(IGDError, match="preset"):
        PostprocessConfig.preset("gpd")


@pytest.mark.parametrize("field, value", [
    ("threshold", 1.5), ("order", "worst"), ("force", 1), ("sigma", -1.0), ("out_th", -0.1),
    ("min_width", 0.1), ("border_xy", 20), ("border_z", -1), ("max_filter_size", 0), ("dilation", 1.5)])
def test_config_validation_names_the_field(field, value):
    with pytest.raises(IGDError, match=field):
        dataclasses.replace(PostprocessConfig(), **{field: value})


def test_detect_on_a_flat_surface():
    grid = layered_grid()
    qual, rot, width = volumes(qual=0.1)
    qual[20, 20, 12] = 1.0  # a sharp peak above the surface: smoothing brings it below 0.5 ...
    qual[15:18, 15:18, 11:14] = 0.95  # ... a broad one survives
    grasps = detect(grid, qual, rot, width, PostprocessConfig())
    assert len(grasps) == 1 and grasps.info["order"] == "best"
    np.testing.assert_allclose(grasps.poses[0, :3, 3], np.array([16, 16, 12]) * VOXEL_SIZE)
    forced = detect(grid, qual, rot, width, PostprocessConfig(threshold=0.99, force=True))
    assert len(forced) == 1 and forced.scores[0] < 0.99


def test_process_rejects_mismatched_volumes():
    qual, rot, width = volumes()
    with pytest.raises(IGDError, match="rot must have shape"):
        process(layered_grid(), qual, rot[:3], width)
