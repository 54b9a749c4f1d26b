"""check_depth (one-line errors for bad depth images) and the analytic box renderer."""

import numpy as np
import pytest

from igd.errors import IGDError
from igd.perception.camera import DEFAULT_INTRINSIC, CameraIntrinsic, side_view_extrinsic
from igd.perception.depth import check_depth, render_boxes

SMALL = CameraIntrinsic(8, 6, 5.0, 5.0, 4.0, 3.0)


def good(shape=(6, 8), value=0.6, dtype=np.float32):
    return np.full(shape, value, dtype)


def test_returns_float32_copy():
    d = good(dtype=np.float64)
    out = check_depth(d, SMALL)
    assert out.dtype == np.float32 and out.shape == (6, 8)
    out[0, 0] = 5.0
    assert d[0, 0] == 0.6
    f32 = good()
    assert check_depth(f32) is not f32


@pytest.mark.parametrize("bad, pattern", [
    (np.full((6, 8), 600, np.uint16), r"integer dtype uint16.*depth.astype\(np.float32\) / 1000"),
    (np.full((6, 8, 1), 0.6, np.float32), r"2-D \(H, W\).*\(6, 8, 1\)"),
    (np.array([["a"]]), "float32/float64"),
])
def test_type_and_rank_errors(bad, pattern):
    with pytest.raises(IGDError, match=pattern):
        check_depth(bad)


def test_shape_mismatch_names_both_shapes():
    with pytest.raises(IGDError, match=r"shape \(8, 6\).*8x6.*expected shape \(6, 8\)"):
        check_depth(good((8, 6)), SMALL)


def test_nan_and_inf_counted():
    d = good()
    d[0, 0], d[1, 1] = np.nan, np.inf
    with pytest.raises(IGDError, match=r"depth has 2 NaN/inf pixels; use 0 for 'no reading'"):
        check_depth(d)


def test_negative_rejected():
    d = good()
    d[2, 2] = -0.1
    with pytest.raises(IGDError, match="negative"):
        check_depth(d)


def test_all_zero_rejected():
    with pytest.raises(IGDError, match="depth image has no valid reading"):
        check_depth(good(value=0.0))


def test_millimetres_detected():
    with pytest.raises(IGDError, match="looks like millimetres"):
        check_depth(good(value=600.0))


def test_name_in_message():
    with pytest.raises(IGDError, match="^depth_0 image has no valid reading"):
        check_depth(good(value=0.0), name="depth_0")


def test_zero_holes_are_fine():
    d = good()
    d[:2] = 0.0
    np.testing.assert_array_equal(check_depth(d, SMALL), d)


def test_render_boxes_side_view():
    """The centre pixel looks at (0.15, 0.15, 0.10) from 0.6 m: on the table plane it reads a bit more."""
    ext = side_view_extrinsic()
    table = render_boxes(DEFAULT_INTRINSIC, ext)
    assert table.shape == (480, 640) and table.dtype == np.float32
    # ray through the principal point hits z = 0.05 beyond the look-at point: 0.6 + 0.05 / sin(30°)
    assert table[240, 320] == pytest.approx(0.7, abs=1e-4)
    assert (table[0] == 0).all()  # top rows see the table beyond 2 m or the sky: no reading
    boxed = render_boxes(DEFAULT_INTRINSIC, ext, [((0.1, 0.1, 0.05), (0.2, 0.2, 0.15))])
    assert boxed[240, 320] < table[240, 320]
    assert (boxed <= table + 1e-6)[table > 0].all()
