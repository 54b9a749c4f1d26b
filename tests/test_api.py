"""The Python API (``igd.load``, :class:`igd.api.GraspDetector`): world-frame grasps from one depth image.

The scene is a simulated packed scene of the cheap ``blocks`` set (seed 0), seen from the benchmark's
side view; the planner is VGN with its released weights.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import igd
from igd.api import (
    Detections,
    GraspDetector,
    Workspace,
    as_extrinsic,
    as_intrinsic,
    rigid_problem,
)
from igd.errors import IGDError
from igd.geometry import Rotation, Transform
from igd.perception.camera import DEFAULT_INTRINSIC, side_view_extrinsic
from igd.planners.base import Grasps

ROOT = Path(__file__).resolve().parents[1]
VGN_WEIGHTS = ROOT / "weights" / "vgn_conv.pth"
needs_vgn = pytest.mark.skipif(not VGN_WEIGHTS.exists(), reason="weights/vgn_conv.pth is missing")

#: A rigid motion of the whole world (workspace and camera together).
MOTION = Transform(Rotation.from_euler("xyz", [0.3, -0.2, 1.1]), [0.5, -0.2, 0.8])


@pytest.fixture(scope="module")
def sim():
    from igd.sim.simulation import ClutterRemovalSim

    s = ClutterRemovalSim("packed", "blocks")
    s.reset(5, 0)
    yield s
    s.close()


@pytest.fixture(scope="module")
def depth(sim):
    return sim.render(side_view_extrinsic(), DEFAULT_INTRINSIC)


@pytest.fixture(scope="module")
def vgn():
    if not VGN_WEIGHTS.exists():
        pytest.skip("weights/vgn_conv.pth is missing")
    return igd.load("vgn")


@pytest.fixture(scope="module")
def detections(vgn, depth):
    return vgn.detect(depth, DEFAULT_INTRINSIC, side_view_extrinsic(), Workspace())


# --------------------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------------------
def test_import_igd_stays_cheap():
    code = "import sys, igd; assert callable(igd.load); print(sorted({'torch', 'pybullet'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@needs_vgn
def test_load_released_name_and_its_path_give_vgn(vgn):
    assert isinstance(vgn, GraspDetector) and vgn.planner.name == "vgn" and vgn.name == "vgn"
    by_path = igd.load(str(VGN_WEIGHTS))
    assert by_path.planner.name == "vgn" and by_path.name == str(VGN_WEIGHTS)


def test_load_topdown_needs_no_weights_and_reads_its_checkpoint(tmp_path):
    from igd.planners.baselines import TopDownConfig, TopDownPlanner

    assert igd.load("topdown").planner.name == "topdown"
    path = TopDownPlanner(TopDownConfig(width=0.05)).save_pretrained(tmp_path / "td.pt")
    loaded = igd.load(path)
    assert loaded.planner.name == "topdown" and loaded.planner.config.width == 0.05


def test_load_passes_config_overrides():
    assert igd.load("topdown", width=0.06).planner.config.width == 0.06
    with pytest.raises(IGDError, match="unknown field"):
        igd.load("topdown", nope=1)


def test_load_unknown_name_lists_the_released_ones():
    with pytest.raises(IGDError, match="unknown planner 'gigaa'.*vgn-pile.*igd-packed.*topdown"):
        igd.load("gigaa")


def test_load_missing_released_weights_names_the_file(monkeypatch, tmp_path):
    import igd.released

    monkeypatch.setattr(igd.released, "weights_dirs", lambda: [tmp_path])
    with pytest.raises(IGDError, match=r"'igd-packed' needs weights/igd-packed\.pt, which is not in this checkout"):
        igd.load("igd-packed")


def test_load_raw_state_dict_under_another_name_is_recognised_by_its_layout(tmp_path):
    if not VGN_WEIGHTS.exists():
        pytest.skip("weights/vgn_conv.pth is missing")
    import torch

    path = tmp_path / "mine.pth"
    path.write_bytes(VGN_WEIGHTS.read_bytes())
    assert igd.load(path).planner.name == "vgn"  # VGN's conv_qual.* keys say what it is
    assert igd.load(path, planner="vgn").planner.name == "vgn"
    assert igd.load("vgn", weights=path).planner.name == "vgn"  # a type with --weights, as the CLI
    unknown = tmp_path / "unknown.pth"
    torch.save({"layer.weight": torch.zeros(2, 2)}, unknown)
    with pytest.raises(IGDError, match="planner='vgn'"):
        igd.load(unknown)  # a layout nobody knows: the type must be given


def test_load_reads_a_weights_file_once(tmp_path, monkeypatch):
    """``igd.load(path)`` learns the planner type and the weights from one ``torch.load`` (its type tag or
    its layout, then the weights: the same contents, handed on)."""
    import torch

    from igd.planners.baselines import TopDownConfig, TopDownPlanner

    reads = []
    real = torch.load
    monkeypatch.setattr(torch, "load", lambda *args, **kwargs: reads.append(args[0]) or real(*args, **kwargs))
    path = TopDownPlanner(TopDownConfig(width=0.05)).save_pretrained(tmp_path / "td.pt")
    assert igd.load(path).planner.config.width == 0.05 and reads == [path]
    if VGN_WEIGHTS.exists():  # a raw state dict: its layout says VGN
        reads.clear()
        raw = tmp_path / "mine.pth"
        raw.write_bytes(VGN_WEIGHTS.read_bytes())
        assert igd.load(raw).planner.name == "vgn" and len(reads) == 1


# --------------------------------------------------------------------------------------------------
# detection in the world frame
# --------------------------------------------------------------------------------------------------
def test_detect_returns_sorted_world_grasps_inside_the_workspace(detections):
    assert isinstance(detections, Detections) and detections.frame == "world"
    assert len(detections) > 0
    assert np.all(np.diff(detections.scores) <= 0)
    assert Workspace().contains(detections.positions).all()
    assert all(rigid_problem(p, tol=1e-9) is None for p in detections.poses)
    np.testing.assert_allclose(Rotation.from_quat(detections.quaternions).as_matrix(), detections.poses[:, :3, :3],
                               atol=1e-9)


def test_detect_equals_the_benchmark_pipeline(vgn, sim, detections):
    """``detect`` fuses and plans as a benchmark step does (noise off), here in the identity workspace."""
    from igd.bench.clutter_removal import look

    timings = dict.fromkeys(("render", "noise", "integration"), 0.0)
    observation, _ = look(sim, "none", [side_view_extrinsic()], np.random.default_rng(0), timings)
    expected = vgn.plan(observation)
    assert isinstance(expected, Grasps) and len(expected) == len(detections)
    np.testing.assert_allclose(detections.poses, expected.poses, atol=1e-12)
    np.testing.assert_allclose(detections.scores, expected.scores)
    np.testing.assert_allclose(detections.widths, expected.widths)


def test_moving_the_world_moves_the_grasps_rigidly(vgn, depth, detections):
    """Same image, world re-expressed by MOTION: workspace T_world'_ws = MOTION, camera T_cam_world' = T_cam_world MOTION⁻¹."""
    workspace = Workspace(MOTION)
    moved = vgn.detect(depth, DEFAULT_INTRINSIC, side_view_extrinsic() * MOTION.inverse(), workspace)
    assert len(moved) == len(detections)
    np.testing.assert_allclose(moved.poses, MOTION.as_matrix() @ detections.poses, atol=1e-9)
    np.testing.assert_allclose(moved.scores, detections.scores, atol=1e-9)
    assert workspace.contains(moved.positions).all()
    assert not Workspace().contains(moved.positions).any()  # really elsewhere in the world


def test_detect_accepts_matrices_dicts_and_k(vgn, depth, detections):
    T_world_cam = side_view_extrinsic().inverse().as_matrix()
    as_dicts = vgn.detect(depth, {"K": DEFAULT_INTRINSIC.K.tolist(), "width": 640, "height": 480},
                          {"matrix": T_world_cam.tolist(), "convention": "T_world_cam"},
                          {"translation": [0, 0, 0], "quaternion": [0, 0, 0, 1], "size": 0.3}, top=2)
    np.testing.assert_allclose(as_dicts.poses, detections.poses[:2], atol=1e-9)
    as_arrays = vgn.detect(depth.astype(np.float64), DEFAULT_INTRINSIC.K, np.linalg.inv(T_world_cam), np.eye(4))
    np.testing.assert_allclose(as_arrays.poses, detections.poses, atol=1e-9)


def test_plan_is_the_planner_contract_in_the_workspace_frame(vgn, depth, detections):
    observation = vgn.observe(depth, DEFAULT_INTRINSIC, side_view_extrinsic() * MOTION.inverse(), MOTION)
    grasps = vgn.plan(observation)
    np.testing.assert_allclose(grasps.poses, detections.poses, atol=1e-9)  # workspace frame: MOTION undone


def test_records_hold_pose_position_quaternion(detections):
    record = detections.to_records()[0]
    assert set(record) == {"pose", "position", "quaternion", "width", "score"}
    np.testing.assert_allclose(np.asarray(record["pose"])[:3, 3], record["position"])
    assert record["score"] == detections.scores[0]


# --------------------------------------------------------------------------------------------------
# bad input: one IGDError that says what is wrong
# --------------------------------------------------------------------------------------------------
def _scaled(m, s):
    m = np.array(m)
    m[:3, :3] *= s
    return m


def _bad_cases(depth):
    E = side_view_extrinsic()
    mirror = E.as_matrix() @ np.diag([1.0, 1.0, -1.0, 1.0])
    last_row = E.as_matrix()
    last_row[3] = [0.0, 0.0, 0.1, 1.0]
    nan = depth.copy()
    nan[10, 10] = np.nan
    neg = depth.copy()
    neg[5, 5] = -0.1
    good = (DEFAULT_INTRINSIC, E, None)
    return {
        "size mismatch": ((depth[:, :600], *good), "shape"),
        "scaled extrinsic": ((depth, DEFAULT_INTRINSIC, _scaled(E.as_matrix(), 1.1), None), "not orthonormal"),
        "mirror extrinsic": ((depth, DEFAULT_INTRINSIC, mirror, None), "determinant"),
        "bad last row": ((depth, DEFAULT_INTRINSIC, last_row, None), "last row"),
        "all zero": ((np.zeros_like(depth), *good), "no valid reading"),
        "nan": ((nan, *good), "NaN"),
        "inf": ((np.where(depth > 0, np.inf, 0).astype(np.float32), *good), "NaN/inf"),
        "negative": ((neg, *good), "negative"),
        "millimetres": ((depth * 1000, *good), "millimetres"),
        "integer": (((depth * 1000).astype(np.uint16), *good), "integer dtype"),
        "3-D": ((depth[None], *good), "2-D"),
        "behind": ((depth, DEFAULT_INTRINSIC, E, Transform.translation_only([0, -1.39, 0.75])), "behind the camera"),
        "camera pose as extrinsic": ((depth, DEFAULT_INTRINSIC, E.inverse(), None), "outside the 640x480 image"),
        "far away": ((depth, DEFAULT_INTRINSIC, E, Transform.translation_only([5, 0, 0])), "outside"),
        "free space": ((depth, DEFAULT_INTRINSIC, E, Transform.translation_only([0, -0.26, 0.1])),
                       "no depth reading falls inside the workspace"),
        "bad size": ((depth, DEFAULT_INTRINSIC, E, {"matrix": np.eye(4).tolist(), "size": 0.5}), "size must be 0.3"),
        "bad quaternion": ((depth, DEFAULT_INTRINSIC, {"translation": [0, 0, 0], "quaternion": [0, 0, 0, 2]}, None),
                           "unit quaternion"),
    }


BAD_CASES = ("size mismatch", "scaled extrinsic", "mirror extrinsic", "bad last row", "all zero", "nan", "inf",
             "negative", "millimetres", "integer", "3-D", "behind", "camera pose as extrinsic", "far away",
             "free space", "bad size", "bad quaternion")


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_is_one_clear_error(case, depth):
    detector = GraspDetector(igd.load("topdown").planner)  # the checks run before any planner
    args, expected = _bad_cases(depth)[case]
    with pytest.raises(IGDError) as e:
        detector.detect(*args)
    assert expected in str(e.value) and "\n" not in str(e.value)


def test_top_must_be_positive(depth):
    with pytest.raises(IGDError, match="top"):
        igd.load("topdown").detect(depth, DEFAULT_INTRINSIC, side_view_extrinsic(), None, top=0)


def test_input_converters():
    assert as_intrinsic(np.array(DEFAULT_INTRINSIC.K), (480, 640)) == DEFAULT_INTRINSIC
    with pytest.raises(IGDError, match="3x3"):
        as_intrinsic(np.eye(3))  # no image to take the size from
    T = side_view_extrinsic()
    np.testing.assert_allclose(as_extrinsic({"matrix": np.ravel(T.as_matrix()).tolist()}).as_matrix(), T.as_matrix(),
                               atol=1e-12)
    with pytest.raises(IGDError, match="convention"):
        as_extrinsic({"matrix": np.eye(4).tolist(), "convention": "camera_to_world"})
    with pytest.raises(IGDError, match="'matrix'"):
        as_extrinsic({"rotation": [0, 0, 0]})
