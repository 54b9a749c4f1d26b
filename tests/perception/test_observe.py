"""The one path from depth to observation (``igd.perception.observe``, docs/perception.md).

The API, the benchmark, data processing and the viewer all call :func:`observe_depth`; these tests
pin that they build the same observation, bit for bit, from the same images. The images are analytic
boxes on the table (no simulator), except for the viewer, which renders its own scene.
"""

import numpy as np
import pytest

import igd
from igd.bench.clutter_removal import look, round_seeds
from igd.constants import SIZE
from igd.data.process import fuse_grid
from igd.errors import IGDError
from igd.geometry import Transform
from igd.perception.camera import DEFAULT_INTRINSIC as K
from igd.perception.camera import side_view_extrinsic, views
from igd.perception.depth import render_boxes
from igd.perception.noise import apply_noise
from igd.perception.observe import check_workspace_size, crop_to_workspace, observe_depth
from igd.perception.tsdf import create_tsdf, high_res_cloud

BOXES = [((0.08, 0.10, 0.05), (0.14, 0.16, 0.12)), ((0.17, 0.12, 0.05), (0.22, 0.20, 0.09))]


class BoxSim:
    """The benchmark's view of a simulator: ``render(T_cam_world, intrinsic)`` of analytic boxes."""

    def render(self, extrinsic, intrinsic):
        return render_boxes(intrinsic, extrinsic, BOXES)


def timings():
    return dict.fromkeys(("render", "noise", "integration"), 0.0)


def assert_same_observation(a, b):
    assert a.grid.any() and len(a.cloud) > 0  # something to compare
    assert a.grid.dtype == b.grid.dtype == np.float32 and a.cloud.dtype == b.cloud.dtype == np.float64
    np.testing.assert_array_equal(a.grid, b.grid)
    np.testing.assert_array_equal(a.cloud, b.cloud)
    np.testing.assert_array_equal(a.depth, b.depth)
    assert a.intrinsic == b.intrinsic
    assert len(a.extrinsics) == len(b.extrinsics)
    for x, y in zip(a.extrinsics, b.extrinsics):
        np.testing.assert_array_equal(x.as_matrix(), y.as_matrix())


@pytest.fixture(scope="module")
def detector():
    return igd.load("topdown")


@pytest.mark.parametrize("workspace", [None, {"translation": [0, 0, 0], "quaternion": [0, 0, 0, 1], "size": 0.3}])
def test_api_and_benchmark_build_identical_observations(detector, workspace):
    """``GraspDetector.observe`` on the image the benchmark renders == the benchmark's ``look`` (noise off)."""
    extrinsic = side_view_extrinsic()
    bench, _ = look(BoxSim(), "none", [extrinsic], np.random.default_rng(0), timings())
    api = detector.observe(render_boxes(K, extrinsic, BOXES), K, extrinsic, workspace)
    assert_same_observation(api, bench)


def test_api_accepts_float64_and_k_and_builds_the_same(detector):
    extrinsic = side_view_extrinsic()
    bench, _ = look(BoxSim(), "none", [extrinsic], np.random.default_rng(0), timings())
    api = detector.observe(render_boxes(K, extrinsic, BOXES).astype(np.float64), K.K, extrinsic.as_matrix())
    np.testing.assert_array_equal(api.grid, bench.grid)
    np.testing.assert_array_equal(api.cloud, bench.cloud)


@pytest.mark.parametrize("noise", ["dex", "stereo"])
def test_data_processing_fuses_the_benchmark_grid(noise):
    """``igd process``'s grid == the benchmark's, same images (six views), same noise generator state."""
    extrinsics = [Transform.from_list(e.to_list()) for e in views("circle6")]  # as stored in a raw root
    bench, _ = look(BoxSim(), noise, extrinsics, np.random.default_rng(5), timings())
    depths = np.stack([render_boxes(K, e, BOXES) for e in extrinsics])
    grid = fuse_grid(depths, np.stack([e.to_list() for e in extrinsics]), noise, np.random.default_rng(5), K)
    assert bench.grid.any()
    np.testing.assert_array_equal(grid, bench.grid)


def test_is_noise_in_view_order_then_fusion():
    """The draws and arithmetic the benchmark and the data have always used: noise per view from one
    generator, in order, then the 40³ grid and the cropped 120³ cloud of the noisy stack."""
    extrinsics = views("circle6")[:3]
    depths = [render_boxes(K, e, BOXES) for e in extrinsics]
    rng = np.random.default_rng(11)
    noisy = np.stack([apply_noise(d, "dex", rng) for d in depths]).astype(np.float32, copy=False)
    obs = observe_depth(depths, K, extrinsics, noise="dex", rng=np.random.default_rng(11), check=False)
    np.testing.assert_array_equal(obs.grid, create_tsdf(noisy, K, extrinsics).get_grid())
    np.testing.assert_array_equal(obs.cloud, crop_to_workspace(high_res_cloud(noisy, K, extrinsics)[0]))
    np.testing.assert_array_equal(obs.depth, noisy[0])


def test_viewer_sees_the_benchmark_first_step():
    """``observe_scene`` (``igd view``) == the first ``look`` of round 0 of the same benchmark seed."""
    from igd.sim.simulation import ClutterRemovalSim
    from igd.viz.simulated import observe_scene

    view = observe_scene("packed", seed=3, objects=3, noise="dex", object_set="blocks")
    seeds = round_seeds(3, 0)
    sim = ClutterRemovalSim("packed", "blocks")
    try:
        sim.reset(3, seed=seeds.scene)
        bench, _ = look(sim, "dex", views("side"), np.random.default_rng(seeds.noise), timings())
    finally:
        sim.close()
    assert view.planner_seed == seeds.planner
    assert_same_observation(view.observation, bench)


# --------------------------------------------------------------------------------------------------
# the function itself
# --------------------------------------------------------------------------------------------------
def test_forms_of_the_images_and_extrinsics_agree():
    e = side_view_extrinsic()
    d = render_boxes(K, e, BOXES)
    one = observe_depth(d, K, e, cloud=False)
    assert one.cloud is None and one.grid.any()
    for depths, extrinsics in [([d], [e]), (d[None], [e.as_matrix()]), ([d], np.stack([e.as_matrix()]))]:
        np.testing.assert_array_equal(observe_depth(depths, K, extrinsics, cloud=False).grid, one.grid)


def test_timings_add_up():
    t = {"noise": 1.0}
    e = side_view_extrinsic()
    observe_depth(render_boxes(K, e, BOXES), K, e, noise="depth", rng=np.random.default_rng(0), timings=t)
    assert set(t) == {"check", "noise", "integration"} and t["noise"] > 1.0 and t["integration"] > 0


def test_workspace_size_is_the_trained_cube():
    assert check_workspace_size(0.3) == SIZE and check_workspace_size(SIZE) == SIZE
    for bad in (0.5, True, "0.3", None):
        with pytest.raises(IGDError, match="size must be 0.3 m"):
            check_workspace_size(bad)


def _bad(case):
    e = side_view_extrinsic()
    d = render_boxes(K, e, BOXES)
    near = np.full((480, 640), 0.1, np.float32)  # readings, all between the camera and the cube
    return {
        "noise without rng": (dict(depths=d, extrinsics=e, noise="dex"), "needs rng"),
        "count mismatch": (dict(depths=[d, d], extrinsics=[e]), "2 depth images but 1 extrinsics"),
        "no image": (dict(depths=[], extrinsics=[]), "no depth image"),
        "not an image": (dict(depths="depth.png", extrinsics=e), "expected an (H, W) image"),
        "second view is 3-D": (dict(depths=[d, d[None]], extrinsics=[e, e]), "depth[1] must be a 2-D"),
        "second view in mm": (dict(depths=[d, d * 1000], extrinsics=[e, e]), "depth[1] median"),
        "second extrinsic not rigid": (dict(depths=[d, d], extrinsics=[e, 2 * np.eye(4)]), "extrinsics[1]"),
        "nothing in the cube": (dict(depths=near, extrinsics=e), "no depth reading falls inside"),
        "bad size": (dict(depths=d, extrinsics=e, size=0.4), "size must be 0.3"),
    }[case]


@pytest.mark.parametrize("case", ["noise without rng", "count mismatch", "no image", "not an image",
                                  "second view is 3-D", "second view in mm", "second extrinsic not rigid",
                                  "nothing in the cube", "bad size"])
def test_bad_input_is_one_line(case):
    kwargs, expected = _bad(case)
    with pytest.raises(IGDError) as e:
        observe_depth(intrinsic=K, **kwargs)
    assert expected in str(e.value) and "\n" not in str(e.value)


def test_unchecked_path_still_rejects_bad_pixels_but_accepts_an_empty_scene():
    e = side_view_extrinsic()
    with pytest.raises(IGDError, match="NaN"):
        observe_depth(np.full((480, 640), np.nan, np.float32), K, e, check=False)
    obs = observe_depth(np.zeros((480, 640), np.float32), K, e, check=False)  # the simulator saw nothing
    assert not obs.grid.any() and obs.cloud.shape == (0, 3)


def test_crop_to_workspace():
    pts = np.array([[0.1, 0.1, 0.1], [0.1, 0.1, 0.05], [0.3, 0.1, 0.1], [0.02, 0.28, 0.055]])
    np.testing.assert_array_equal(crop_to_workspace(pts), pts[[0, 3]])
    assert crop_to_workspace(np.zeros((0, 3))).shape == (0, 3)
