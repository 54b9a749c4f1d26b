"""Depth noise models (docs/perception.md#depth-noise-models): statistics on synthetic images,
determinism, zeros stay zero."""

import numpy as np
import pytest

from igd.errors import IGDError
from igd.perception.camera import DEFAULT_INTRINSIC, side_view_extrinsic
from igd.perception.depth import render_boxes
from igd.perception.noise import (
    NOISE_MODELS,
    STEREO_BASELINE,
    STEREO_FOCAL_PX,
    apply_noise,
    blur_noise,
    depth_noise,
    dex_noise,
    dot_pattern,
    lateral_noise,
    stereo_noise,
)

RANDOM_MODELS = ["dex", "lateral", "depth", "stereo"]


@pytest.fixture(scope="module")
def scene_depth():
    """(480, 640) side view of two boxes on the table, with a rectangular hole of zeros."""
    depth = render_boxes(DEFAULT_INTRINSIC, side_view_extrinsic(),
                         [((0.18, 0.10, 0.05), (0.26, 0.20, 0.15)), ((0.05, 0.05, 0.05), (0.12, 0.09, 0.10))])
    depth[300:340, 100:180] = 0.0
    return depth


def test_registry_lists_spec_models():
    assert {"none", "dex", "lateral", "depth", "blur", "stereo"} <= set(NOISE_MODELS)
    assert set(NOISE_MODELS) - {"none", "dex", "lateral", "depth", "blur", "stereo"} == {"dex_scale", "dex_field"}


def test_unknown_kind_lists_valid_ones(scene_depth):
    with pytest.raises(IGDError, match="expected one of none, dex, lateral, depth, blur, stereo, dex_scale, dex_field"):
        apply_noise(scene_depth, "gauss", np.random.default_rng(0))


def test_rejects_legacy_random_state(scene_depth):
    with pytest.raises(IGDError, match="Generator"):
        apply_noise(scene_depth, "dex", np.random.RandomState(0))


@pytest.mark.parametrize("kind", list(NOISE_MODELS))
def test_zeros_stay_zero_and_input_untouched(scene_depth, kind):
    before = scene_depth.copy()
    out = apply_noise(scene_depth, kind, np.random.default_rng(3))
    assert out.shape == scene_depth.shape and out.dtype == np.float32
    assert np.all(out[scene_depth == 0] == 0)
    assert np.all(out >= 0) and np.all(np.isfinite(out))
    np.testing.assert_array_equal(scene_depth, before)


@pytest.mark.parametrize("kind", list(NOISE_MODELS))
def test_same_seed_same_output(scene_depth, kind):
    a = apply_noise(scene_depth, kind, np.random.default_rng(7))
    b = apply_noise(scene_depth, kind, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", RANDOM_MODELS)
def test_different_seeds_differ(scene_depth, kind):
    a = apply_noise(scene_depth, kind, np.random.default_rng(1))
    b = apply_noise(scene_depth, kind, np.random.default_rng(2))
    assert not np.array_equal(a, b)


def test_dex_scale_statistics():
    """Gamma(1000, 0.001): mean 1, std sqrt(1000)·0.001 = 0.0316; the field shows up half the time."""
    rng = np.random.default_rng(0)
    img = np.ones((64, 64), np.float32)
    scales, with_field, field_std = [], [], []
    for _ in range(3000):
        out = dex_noise(img, rng)
        scales.append(np.median(out))  # the field is zero-mean and smooth: the median is ~the scale
        spread = float(out.std())
        with_field.append(spread > 1e-6)
        if spread > 1e-6:
            field_std.append(spread)
    assert abs(np.mean(scales) - 1.0) < 0.003
    assert abs(np.std(scales) - 0.0316) < 0.002
    assert abs(np.mean(with_field) - 0.5) < 0.04
    # bilinear upsampling of N(0, 5 mm) samples: pixel std between ~0.6·σ and σ
    assert 0.003 < np.mean(field_std) < 0.0055


def test_dex_field_is_smooth_and_odd_shapes_work():
    rng = np.random.default_rng(5)
    img = np.full((37, 50), 0.7, np.float32)
    for _ in range(20):
        out = dex_noise(img, rng)
        assert out.shape == img.shape
        if out.std() > 1e-6:  # neighbours differ by far less than the 5 mm sample spread
            assert np.abs(np.diff(out, axis=1)).max() < 0.01


def test_depth_noise_residual_std(scene_depth):
    out = depth_noise(scene_depth, np.random.default_rng(0))
    valid = scene_depth > 0
    res = (out - scene_depth)[valid]
    assert abs(res.mean()) < 2e-4
    assert abs(res.std() - 0.005) < 2e-4


def test_lateral_keeps_value_set_and_moves_some_pixels(scene_depth):
    out = lateral_noise(scene_depth, np.random.default_rng(0))
    assert np.isin(np.unique(out), np.unique(scene_depth)).all()
    assert (out != scene_depth).mean() > 0.3  # σ = 1 px: most pixels move, values differ on slopes


def test_lateral_jitter_is_about_one_pixel():
    """On a horizontal ramp whose value is the column index, the jitter itself is visible."""
    ramp = np.tile(np.arange(1, 201, dtype=np.float32), (200, 1))
    out = lateral_noise(ramp, np.random.default_rng(0))
    jump = (out - ramp)[:, 5:-5]
    assert set(np.unique(jump)).issubset(set(np.arange(-6.0, 7.0)))
    assert abs(jump.std() - 1.08) < 0.05  # std of round(N(0, 1)) = sqrt(1 + 1/12)


def test_blur_preserves_constant_and_reduces_variance():
    rng = np.random.default_rng(0)
    const = np.full((60, 80), 0.6, np.float32)
    np.testing.assert_allclose(blur_noise(const, rng), const, atol=1e-6)
    noisy = 0.6 + rng.normal(0, 0.01, (60, 80)).astype(np.float32)
    out = blur_noise(noisy, rng)
    assert out.std() < 0.35 * noisy.std()  # 5x5 Gaussian, σ = 1.5 px: variance drops ~10x


def test_blur_does_not_bleed_holes():
    img = np.full((40, 40), 0.6, np.float32)
    img[10:20, 10:20] = 0.0
    out = blur_noise(img, np.random.default_rng(0))
    assert np.all(out[img == 0] == 0)
    np.testing.assert_allclose(out[img > 0], 0.6, atol=1e-6)


def test_stereo_quantises_disparity(scene_depth):
    out = stereo_noise(scene_depth, np.random.default_rng(0))
    valid = out > 0
    disp = STEREO_FOCAL_PX * STEREO_BASELINE / out[valid].astype(np.float64)
    eighths = disp * 8
    assert np.abs(eighths - np.round(eighths)).max() < 0.01
    assert valid.mean() > 0.8  # most of the image keeps a reading
    res = (out - scene_depth)[valid]
    assert np.median(np.abs(res)) < 0.004  # sub-pixel shifts and 1/8 px steps: mm-level errors


def test_stereo_invalidates_depth_edges(scene_depth):
    """The consistency filter removes readings along depth discontinuities, not on smooth surfaces."""
    out = stereo_noise(scene_depth, np.random.default_rng(0))
    gy, gx = np.gradient(scene_depth)
    edge = (np.hypot(gx, gy) > 0.02) & (scene_depth > 0)
    smooth = (np.hypot(gx, gy) < 0.002) & (scene_depth > 0)
    assert (out[edge] == 0).mean() > 0.5
    assert (out[smooth] == 0).mean() < 0.05


def test_dot_pattern_is_fixed_and_shape_independent():
    a, b = dot_pattern(480, 640), dot_pattern(100, 120)
    np.testing.assert_array_equal(a[:100, :120], b)
    assert abs(a.mean() - 0.25) < 0.01


def test_noise_rejects_integer_depth():
    with pytest.raises(IGDError, match="1000"):
        apply_noise(np.ones((4, 4), np.uint16), "dex", np.random.default_rng(0))


def test_dex_components_add_up_to_dex():
    """dex_scale and dex_field use exactly dex's draws: scale-only times field-only recombine to dex."""
    from igd.perception.noise import dex_field_noise, dex_noise, dex_scale_noise

    depth = np.full((48, 64), 0.5, dtype=np.float32)
    depth[:4] = 0.0
    for seed in range(6):
        full = dex_noise(depth, np.random.default_rng(seed))
        scaled = dex_scale_noise(depth, np.random.default_rng(seed))
        field = dex_field_noise(depth, np.random.default_rng(seed))
        s = scaled[10, 10] / depth[10, 10]
        assert np.all(scaled[depth > 0] / depth[depth > 0] == pytest.approx(s))
        np.testing.assert_allclose(full, np.where(depth > 0, depth * s + (field - depth), 0), atol=1e-6)
        assert np.all(field[depth == 0] == 0) and np.all(scaled[depth == 0] == 0)
