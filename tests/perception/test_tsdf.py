"""TSDF fusion (docs/perception.md#tsdf) pinned on an analytic scene: the table plane z = 0.05 and one box
at large x, seen from the benchmark's side view. The expected values come from ray casting each voxel centre's
own ray in this file, independently of the fusion code; no simulator is involved."""

import numpy as np
import pytest
from scipy.spatial import cKDTree

from igd.constants import HIGH_RES_TRUNCATION, TABLE_HEIGHT, TRUNCATION, VOXEL_SIZE
from igd.errors import IGDError
from igd.geometry import look_at
from igd.perception.camera import DEFAULT_INTRINSIC as K
from igd.perception.camera import circle_extrinsics, side_view_extrinsic
from igd.perception.depth import render_boxes
from igd.perception.tsdf import TSDFVolume, create_tsdf, high_res_cloud, voxel_centres

BOX_LO, BOX_HI = np.array([0.18, 0.10, 0.05]), np.array([0.26, 0.20, 0.15])
EXT = side_view_extrinsic()
EYE = EXT.inverse().translation


def first_hit(eye, dirs):
    """Ray parameter (unit directions (N, 3)) of the first hit with the table plane or the box."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t_table = np.where(dirs[:, 2] < 0, (TABLE_HEIGHT - eye[2]) / dirs[:, 2], np.inf)
        t0, t1 = (BOX_LO - eye) / dirs, (BOX_HI - eye) / dirs
    t_near = np.nanmax(np.minimum(t0, t1), axis=1)
    t_far = np.nanmin(np.maximum(t0, t1), axis=1)
    t_box = np.where((t_near <= t_far) & (t_near > 0), t_near, np.inf)
    return np.minimum(t_table, t_box)


@pytest.fixture(scope="module")
def depth():
    return render_boxes(K, EXT, [(BOX_LO, BOX_HI)])


@pytest.fixture(scope="module")
def volume(depth):
    vol = TSDFVolume()
    vol.integrate(depth, K, EXT)
    return vol


@pytest.fixture(scope="module")
def truth(depth):
    """Per voxel (40, 40, 40): signed distance along its own ray to the surface, and a mask of voxels
    whose pixel is at least 3 px away from a depth discontinuity (rounding to a pixel is harmless there)."""
    c = voxel_centres(0.3, 40)
    pts = np.stack(np.meshgrid(c, c, c, indexing="ij"), axis=-1).reshape(-1, 3).astype(np.float64)
    rng_ = np.linalg.norm(pts - EYE, axis=1)
    dist = first_hit(EYE, (pts - EYE) / rng_[:, None]) - rng_
    cam = EXT.apply(pts)
    u = np.floor(cam[:, 0] * K.fx / cam[:, 2] + K.cx + 0.5).astype(int)
    v = np.floor(cam[:, 1] * K.fy / cam[:, 2] + K.cy + 0.5).astype(int)
    inside = (u >= 0) & (u < K.width) & (v >= 0) & (v < K.height)
    gy, gx = np.gradient(depth)
    edge = np.hypot(gx, gy) > 0.01
    near_edge = np.zeros_like(edge)
    for dy in range(-3, 4):
        for dx in range(-3, 4):
            near_edge |= np.roll(edge, (dy, dx), axis=(0, 1))
    smooth = np.zeros(len(pts), bool)
    smooth[inside] = ~near_edge[v[inside], u[inside]] & (depth[v[inside], u[inside]] > 0)
    box_dist = np.max(np.maximum(BOX_LO - pts, pts - BOX_HI), axis=1)  # < 0 inside the box
    return dict(dist=dist.reshape((40,) * 3), smooth=smooth.reshape((40,) * 3),
                in_box=(box_dist < 0).reshape((40,) * 3), box_depth=(-box_dist).reshape((40,) * 3))


def test_grid_shape_dtype(volume):
    grid = volume.get_grid()
    assert grid.shape == (1, 40, 40, 40) and grid.dtype == np.float32
    assert grid.min() >= 0.0 and grid.max() < 1.0
    assert volume.truncation == pytest.approx(TRUNCATION)


def test_near_surface_voxels_match_analytic_tsdf(volume, truth):
    """Voxels in the band have (min(1, d/trunc) + 1) / 2 with d the distance along their ray."""
    d = truth["dist"]
    sel = truth["smooth"] & (np.abs(d) < 0.9 * TRUNCATION)
    assert sel.sum() > 1000
    expected = (np.minimum(1.0, d[sel] / TRUNCATION) + 1.0) / 2.0
    err = np.abs(volume.get_grid()[0][sel] - expected)
    assert np.median(err) < 0.01  # 0.6 mm along the ray: the voxel's ray vs its pixel's ray
    assert np.quantile(err, 0.99) < 0.03  # half-pixel rounding on the grazing table plane
    front = truth["smooth"] & (d > 0) & (d < 0.9 * TRUNCATION)
    assert np.all(volume.get_grid()[0][front] > 0.5)


def test_far_free_space_is_zero_but_observed(volume, truth):
    sel = truth["smooth"] & (truth["dist"] > 1.2 * TRUNCATION)
    assert sel.sum() > 5000
    assert np.all(volume.get_grid()[0][sel] == 0)
    assert np.all(volume.tsdf[sel] == 1.0) and np.all(volume.weight[sel] == 1)


def test_deep_inside_box_is_zero_and_unobserved(volume, truth):
    sel = truth["in_box"] & (truth["dist"] < -1.2 * TRUNCATION)
    assert sel.sum() > 50
    assert np.all(volume.get_grid()[0][sel] == 0)
    assert np.all(volume.weight[sel] == 0)


def test_occluded_voxels_behind_box_are_zero(volume, truth):
    """Voxels in the box's shadow (outside it, above the table) are never updated. (Right at the
    box's silhouette a voxel's nearest pixel may see past the box: those are left out.)"""
    c = voxel_centres(0.3, 40)
    above_table = (c > TABLE_HEIGHT + TRUNCATION)[None, None, :]
    sel = truth["smooth"] & ~truth["in_box"] & above_table & (truth["dist"] < -1.2 * TRUNCATION)
    sel &= (c > BOX_HI[1])[None, :, None]  # behind the box as seen from y = -0.37
    assert sel.sum() > 100
    assert np.all(volume.get_grid()[0][sel] == 0) and np.all(volume.weight[sel] == 0)


def crossing(values, coords):
    """Linear position where a 1-D profile first crosses 0.5 going from > 0.5 to < 0.5."""
    for a in range(len(values) - 1):
        if values[a] > 0.5 >= values[a + 1] and values[a + 1] > 0:
            return coords[a] + (values[a] - 0.5) / (values[a] - values[a + 1]) * (coords[a + 1] - coords[a])
    raise AssertionError(f"no 0.5 crossing in {values}")


def test_half_level_lies_on_the_surfaces(volume):
    grid, c = volume.get_grid()[0], voxel_centres(0.3, 40)
    # table, left of the box: column over (x, y) = (0.07, 0.15), scanning down
    assert crossing(grid[9, 20, ::-1], c[::-1]) == pytest.approx(TABLE_HEIGHT, abs=1e-3)
    # box top z = 0.15 at (x, y) = (0.22, 0.15): at large x index i = 29, as axes are (x, y, z)
    assert crossing(grid[29, 20, ::-1], c[::-1]) == pytest.approx(BOX_HI[2], abs=1e-3)
    # box front face y = 0.10, scanning +y at (x, z) = (0.22, 0.10)
    assert crossing(grid[29, :, 13], c) == pytest.approx(BOX_LO[1], abs=1e-3)


def test_axes_are_xyz(volume):
    """Surface voxels well above the table belong to the box: large x index, not large y or z."""
    band = (volume.get_grid()[0] > 0.3) & (volume.get_grid()[0] < 0.7)
    i, j, k = np.nonzero(band[:, :, 12:])
    assert len(i) > 50
    x = (i + 0.5) * VOXEL_SIZE
    assert x.min() > BOX_LO[0] - 2 * VOXEL_SIZE and x.max() < BOX_HI[0] + 2 * VOXEL_SIZE


def test_cloud_on_surface_with_normals_to_camera(volume):
    points, normals = volume.get_cloud()
    assert points.shape == normals.shape and points.shape[1] == 3 and len(points) > 500
    box_dist = np.abs(np.max(np.maximum(BOX_LO - points, points - BOX_HI), axis=1))
    surface_dist = np.minimum(np.abs(points[:, 2] - TABLE_HEIGHT), box_dist)
    assert surface_dist.max() < VOXEL_SIZE
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-5)
    assert (np.einsum("ij,ij->i", normals, EYE - points) > 0).mean() > 0.98
    table = (np.abs(points[:, 2] - TABLE_HEIGHT) < 2e-3) & (points[:, 0] < 0.12)
    assert table.sum() > 100 and np.median(normals[table, 2]) > 0.95


def test_integrating_twice_keeps_tsdf_doubles_weight(depth, volume):
    vol = create_tsdf([depth, depth], K, [EXT, EXT])
    np.testing.assert_allclose(vol.tsdf, volume.tsdf, atol=1e-6)
    np.testing.assert_array_equal(vol.weight, 2 * volume.weight)


def test_views_average(depth):
    """Two views: the tsdf is the mean of the single-view values where both updated."""
    other = look_at(np.array([0.6, 0.15, 0.45]), np.array([0.15, 0.15, 0.05]))
    depth2 = render_boxes(K, other, [(BOX_LO, BOX_HI)])
    a, b = create_tsdf(depth, K, EXT), create_tsdf(depth2, K, other)
    both = create_tsdf([depth, depth2], K, [EXT, other])
    wa, wb = a.weight == 1, b.weight == 1
    assert (wa & wb).sum() > 1000 and (wa ^ wb).sum() > 100
    np.testing.assert_allclose(both.tsdf[wa & wb], (a.tsdf + b.tsdf)[wa & wb] / 2, atol=1e-6)
    np.testing.assert_allclose(both.tsdf[wa & ~wb], a.tsdf[wa & ~wb], atol=1e-6)
    np.testing.assert_array_equal(both.weight, a.weight + b.weight)


def test_ignored_pixels_and_voxels_behind_camera():
    vol = TSDFVolume()
    vol.integrate(np.full((K.height, K.width), 2.5, np.float32), K, EXT)  # beyond far: no reading
    vol.integrate(np.zeros((K.height, K.width), np.float32), K, EXT)
    assert not vol.weight.any()
    inside = look_at(np.array([0.15, 0.15, 0.15]), np.array([0.3, 0.15, 0.15]))  # looking +x
    vol.integrate(np.full((K.height, K.width), 1.0, np.float32), K, inside)
    c = voxel_centres(0.3, 40)
    assert not vol.weight[c < 0.15].any()  # z_cam <= 0: behind the camera
    assert vol.weight[c > 0.2].any()


def test_high_res_cloud_on_surface(depth):
    points, normals = high_res_cloud([depth], K, [EXT])
    assert len(points) > 5000
    box_dist = np.abs(np.max(np.maximum(BOX_LO - points, points - BOX_HI), axis=1))
    surface_dist = np.minimum(np.abs(points[:, 2] - TABLE_HEIGHT), box_dist)
    assert np.quantile(surface_dist, 0.99) < 0.0025
    assert create_tsdf([], K, [], resolution=120).truncation == HIGH_RES_TRUNCATION


@pytest.mark.parametrize("bad, pattern", [
    (np.zeros((480, 640), np.uint16), "integer dtype"),
    (np.zeros((640, 480), np.float32), r"shape \(640, 480\).*expected shape \(480, 640\)"),
    (np.full((480, 640), np.nan, np.float32), "NaN"),
    (np.full((480, 640), 600.0, np.float32), "millimetres"),
])
def test_integrate_rejects_bad_depth(bad, pattern):
    with pytest.raises(IGDError, match=pattern):
        TSDFVolume().integrate(bad, K, EXT)


def test_integrate_rejects_matrix_extrinsic(depth):
    with pytest.raises(IGDError, match="Transform"):
        TSDFVolume().integrate(depth, K, EXT.as_matrix())
    with pytest.raises(IGDError, match="2 depth images but 1 extrinsics"):
        create_tsdf([depth, depth], K, [EXT])


def test_matches_open3d(depth):
    """Same voxels, same values as Open3D's UniformTSDFVolume (optional extra `igd[open3d]`)."""
    o3d = pytest.importorskip("open3d")
    views = circle_extrinsics(3)
    depths = [render_boxes(K, e, [(BOX_LO, BOX_HI)]) for e in views]
    ours = create_tsdf(depths, K, views)
    ref = o3d.pipelines.integration.UniformTSDFVolume(
        length=0.3, resolution=40, sdf_trunc=TRUNCATION,
        color_type=o3d.pipelines.integration.TSDFVolumeColorType.NoColor)
    intr = o3d.camera.PinholeCameraIntrinsic(K.width, K.height, K.fx, K.fy, K.cx, K.cy)
    for d, e in zip(depths, views):
        rgbd = o3d.geometry.RGBDImage.create_from_color_and_depth(
            o3d.geometry.Image(np.zeros_like(d)), o3d.geometry.Image(d), depth_scale=1.0, depth_trunc=2.0,
            convert_rgb_to_intensity=False)
        ref.integrate(rgbd, intr, e.as_matrix())
    tw = np.asarray(ref.extract_volume_tsdf()).reshape(40, 40, 40, 2)
    assert (tw[..., 1] == ours.weight).mean() > 0.999
    assert (np.abs(tw[..., 0] - ours.tsdf) < 1e-4).mean() > 0.999
    ref_grid = np.zeros((40, 40, 40), np.float32)
    for voxel in ref.extract_voxel_grid().get_voxels():
        ref_grid[tuple(voxel.grid_index)] = voxel.color[0]
    assert (np.abs(ref_grid - ours.get_grid()[0]) < 1e-4).mean() > 0.999
    ref_cloud = ref.extract_point_cloud()
    ref_points, ref_normals = np.asarray(ref_cloud.points), np.asarray(ref_cloud.normals)
    points, normals = ours.get_cloud()
    assert abs(len(points) - len(ref_points)) <= 0.01 * len(points)
    gap, match = cKDTree(ref_points).query(points)
    close = gap < 1e-5
    assert close.mean() > 0.99
    assert np.quantile(np.einsum("ij,ij->i", normals, ref_normals[match])[close], 0.01) > 0.999
