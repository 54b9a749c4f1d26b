"""Training negatives (``igd.data.negatives``): the reach of the closing region, certain negatives in a
known scene, ``igd process --add-negatives`` on a tiny processed root, and the dataset's extra rows."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from igd.cli.main import main
from igd.constants import TABLE_HEIGHT
from igd.data import layout
from igd.data.datasets import SceneBatchedGraspDataset
from igd.data.negatives import (
    DROPPED_DIR,
    NEGATIVES_INFO,
    QUERY_SLACK,
    REACH,
    candidate_voxels,
    certain_negatives,
    negatives_path,
    read_negatives,
)
from igd.errors import IGDError

EXTENTS = {"box_901": (0.04, 0.05, 0.06), "box_902": (0.03, 0.03, 0.08), "box_903": (0.06, 0.04, 0.03)}


def _box_urdf(path: Path, extents) -> Path:
    """A one-link URDF whose collision shape is a box centred at the link origin."""
    size = " ".join(map(str, extents))
    path.write_text(f'<robot name="box"><link name="base"><inertial><mass value="0.1"/><inertia ixx="1e-4" '
                    f'iyy="1e-4" izz="1e-4" ixy="0" ixz="0" iyz="0"/></inertial><collision><geometry>'
                    f'<box size="{size}"/></geometry></collision></link></robot>')
    return path


def _box_distance(points: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return np.linalg.norm(np.maximum(0.0, np.maximum(lo - points, points - hi)), axis=1)


def _nearest(points: np.ndarray, target) -> int:
    return int(np.argmin(np.linalg.norm(points - np.asarray(target), axis=1)))


# --------------------------------------------------------------------------------------------------
# the geometry
# --------------------------------------------------------------------------------------------------
def test_reach_holds_the_grown_closing_box_in_every_orientation():
    from igd.sim.probe import CLOSING_BOX_CENTRE, CLOSING_BOX_HALF, EMPTY_MARGIN

    half = np.asarray(CLOSING_BOX_HALF) + EMPTY_MARGIN
    corners = np.asarray(CLOSING_BOX_CENTRE) + half * np.array(np.meshgrid(*[[-1, 1]] * 3)).reshape(3, -1).T
    turned = Rotation.random(2000, random_state=0).apply(corners[np.arange(2000) % 8])
    assert np.linalg.norm(turned, axis=1).max() <= REACH - 0.004
    assert REACH == pytest.approx(0.0716 + 0.005, abs=1e-3)


@pytest.fixture(scope="module")
def box_scene(tmp_path_factory):
    """One 4 x 5 x 6 cm box on the table at (0.10, 0.10), seen from the side view, and its URDF."""
    from igd.perception.camera import DEFAULT_INTRINSIC, side_view_extrinsic
    from igd.perception.depth import render_boxes
    from igd.perception.tsdf import create_tsdf

    ext = np.array(EXTENTS["box_901"])
    centre = np.array([0.10, 0.10, TABLE_HEIGHT + ext[2] / 2])
    lo, hi = centre - ext / 2, centre + ext / 2
    depth = render_boxes(DEFAULT_INTRINSIC, side_view_extrinsic(), [(lo, hi)])
    grid = create_tsdf(depth[None], DEFAULT_INTRINSIC, [side_view_extrinsic()]).get_grid()
    pose = np.eye(4)
    pose[:3, 3] = centre
    urdf = _box_urdf(tmp_path_factory.mktemp("box") / "box.urdf", ext)
    return SimpleNamespace(grid=grid, lo=lo, hi=hi, items=[(urdf, 1.0, pose)])


def test_bare_table_far_from_the_box_is_a_certain_negative_and_the_box_side_is_not(box_scene):
    candidates = candidate_voxels(box_scene.grid)
    points, n = certain_negatives(box_scene.grid, box_scene.items)
    assert n == len(candidates) > 1000 and 0 < len(points) < n
    table = candidates[_nearest(candidates, [0.24, 0.24, TABLE_HEIGHT + 0.01])]
    assert np.linalg.norm(table - [0.24, 0.24, TABLE_HEIGHT + 0.01]) < 0.01  # a kept voxel on the bare table
    side = candidates[_nearest(candidates, [box_scene.hi[0] + 0.015, 0.10, 0.08])]
    assert _box_distance(side[None], box_scene.lo, box_scene.hi)[0] < 0.03  # a kept voxel at the box's side
    assert np.linalg.norm(points - table, axis=1).min() < 1e-6
    assert np.linalg.norm(points - side, axis=1).min() > 1e-3


def test_certain_negatives_are_exactly_the_candidates_beyond_reach_of_the_box(box_scene):
    candidates = candidate_voxels(box_scene.grid)
    points, _ = certain_negatives(box_scene.grid, box_scene.items)
    d_all = _box_distance(candidates, box_scene.lo, box_scene.hi)
    assert _box_distance(points.astype(np.float64), box_scene.lo, box_scene.hi).min() > REACH
    assert int((d_all > REACH + QUERY_SLACK + 1e-4).sum()) <= len(points) <= int((d_all > REACH).sum())


def test_a_scene_without_objects_makes_every_candidate_a_certain_negative(box_scene):
    points, n = certain_negatives(box_scene.grid, [])
    assert n > 0 and len(points) == n


# --------------------------------------------------------------------------------------------------
# igd process --add-negatives
# --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def with_negatives(tmp_path_factory, helpers):
    """A tiny raw root (boxes with URDFs in the catalogue), processed, then ``--add-negatives``."""
    from igd.data.process import ProcessConfig, process_dataset

    base = tmp_path_factory.mktemp("negatives")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IGD_CACHE", str(base / "cache"))
        raw = helpers.build_raw(base / "raw", "relative", mesh_folder=base / "cache", n_scenes=4)
        for name, ext in EXTENTS.items():
            _box_urdf(base / "cache" / "objects" / "v1" / "gen" / name / "object.urdf", ext)
        cfg = ProcessConfig(raw=str(raw.root), out=str(base / "out"), occ_points=600, occ_files=2,
                            val_fraction=0.25, seed=3)
        process_dataset(cfg, progress=False)
        assert main(["process", str(raw.root), cfg.out, "--add-negatives", "--no-progress"]) == 0
    return SimpleNamespace(raw=raw, root=Path(cfg.out), cache=base / "cache")


def test_add_negatives_writes_the_dropped_rows_and_a_file_per_scene(with_negatives):
    raw, root = with_negatives.raw, with_negatives.root
    grasps = layout.read_grasps(raw.root)
    inside = np.all([(grasps[c] >= 0.02) & (grasps[c] <= 0.28) for c in "xyz"], axis=0)
    stored, dropped = layout.read_grasps(root), layout.read_grasps(root / DROPPED_DIR)
    assert len(dropped) > 0 and np.all(dropped["label"] == 0)
    assert len(dropped) + len(stored) == int(inside.sum())  # nothing lost, nothing twice
    key = lambda t: sorted(zip(t["scene_id"], np.round(t["x"], 6), np.round(t["y"], 6), np.round(t["z"], 6)))  # noqa: E731
    assert key(np.concatenate([stored, dropped])) == key(grasps[inside])
    info = json.loads((root / NEGATIVES_INFO).read_text())
    assert info["dropped_negatives"] == len(dropped) and info["scenes"] == len(set(stored["scene_id"]))
    total = 0
    for scene_id, boxes in raw.scenes.items():
        points = read_negatives(root, scene_id)
        total += len(points)
        d = np.min([_box_distance(points.astype(np.float64), lo, hi) for lo, hi in boxes], axis=0)
        assert len(points) > 0 and d.min() > REACH  # no box within reach of any of them
    assert info["certain_negatives"] == total


def test_add_negatives_again_keeps_the_finished_scenes(with_negatives, monkeypatch):
    monkeypatch.setenv("IGD_CACHE", str(with_negatives.cache))
    root, raw = with_negatives.root, with_negatives.raw.root
    scene = sorted(with_negatives.raw.scenes)[0]
    path = negatives_path(root, scene)
    before = (path.stat().st_mtime_ns, read_negatives(root, scene))
    os.remove(negatives_path(root, sorted(with_negatives.raw.scenes)[1]))  # as if killed before this scene
    assert main(["process", str(raw), str(root), "--add-negatives", "--no-progress"]) == 0
    assert path.stat().st_mtime_ns == before[0]
    np.testing.assert_array_equal(read_negatives(root, scene), before[1])
    assert negatives_path(root, sorted(with_negatives.raw.scenes)[1]).is_file()


def test_add_negatives_refuses_a_raw_root_that_is_not_the_processed_roots(with_negatives, tmp_path, helpers, capsys):
    other = helpers.build_raw(tmp_path / "other", "relative", mesh_folder=tmp_path / "cache", n_scenes=4, seed=5)
    assert main(["process", str(other.root), str(with_negatives.root), "--add-negatives", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is not what balancing" in err[0]


# --------------------------------------------------------------------------------------------------
# the dataset's extra rows
# --------------------------------------------------------------------------------------------------
def test_items_carry_k_stored_rows_then_dropped_then_certain_negatives(with_negatives):
    root = with_negatives.root
    plain = SceneBatchedGraspDataset(root, split="all", grasps_per_scene=6, occ_points=32)
    extra = SceneBatchedGraspDataset(root, split="all", grasps_per_scene=6, occ_points=32,
                                     dropped_negatives=3, certain_negatives=5)
    dropped = layout.read_grasps(root / DROPPED_DIR)
    assert len(extra) == len(plain) > 0 and "certain" not in plain[0]
    for index in range(len(extra)):
        a, b = plain[index], extra[index]
        assert b["pos"].shape == (14, 3) and b["quat"].shape == (14, 4) and b["label"].shape == (14,)
        for name in ("pos", "quat", "width", "label"):  # the stored rows are the plain item's
            np.testing.assert_array_equal(b[name][:6].numpy(), a[name].numpy())
        for name in ("grid", "occ_points", "occ"):
            np.testing.assert_array_equal(b[name].numpy(), a[name].numpy())
        assert b["label"][6:].sum() == 0
        np.testing.assert_array_equal(b["certain"].numpy(), [0] * 9 + [1] * 5)
        scene = extra.scenes[index]
        mine = dropped[dropped["scene_id"] == scene]
        known = np.stack([mine["x"], mine["y"], mine["z"]], axis=1)
        for p in b["pos"][6:9].numpy():
            assert np.linalg.norm(known - p, axis=1).min() < 1e-6
        points = read_negatives(root, scene)
        for p in b["pos"][9:].numpy():
            assert np.linalg.norm(points - p, axis=1).min() < 1e-6
        np.testing.assert_allclose(b["width"][9:].numpy(), 0.08)
        np.testing.assert_allclose(np.linalg.norm(b["quat"].numpy(), axis=1), 1.0, rtol=1e-5)


def test_extra_negatives_without_their_files_name_the_file(tmp_path, with_negatives):
    import shutil

    root = Path(shutil.copytree(with_negatives.root, tmp_path / "copy"))
    shutil.rmtree(root / "negatives")
    with pytest.raises(IGDError, match=r"negatives/.*\.npz: missing.*--add-negatives"):
        SceneBatchedGraspDataset(root, split="all", grasps_per_scene=4, occ_points=0, certain_negatives=2)
    shutil.rmtree(root / DROPPED_DIR)
    with pytest.raises(IGDError, match=r"dropped/grasps.csv: missing"):
        SceneBatchedGraspDataset(root, split="all", grasps_per_scene=4, occ_points=0, dropped_negatives=2)
    with pytest.raises(IGDError, match="dropped_negatives must be an int >= 0"):
        SceneBatchedGraspDataset(root, split="all", grasps_per_scene=4, occ_points=0, dropped_negatives=-1)


def test_probe_negatives_keep_points_whose_six_yaws_all_fail_the_geometric_checks(box_scene):
    from igd.data.negatives import probe_negatives

    top = [0.10, 0.10, box_scene.hi[2] + 0.02]  # 2 cm over the box's top: a top-down grasp closes on it
    table = [box_scene.hi[0] + 0.007, 0.10, TABLE_HEIGHT + 0.006]  # beside it, the fingers meet the table
    points = np.array([top, table])
    kept = probe_negatives(points, box_scene.items, np.random.default_rng(0), 2)
    np.testing.assert_allclose(kept, [table], atol=1e-6)
    assert len(probe_negatives(points, box_scene.items, np.random.default_rng(0), 0)) == 0


def test_probe_negatives_of_a_root_and_a_changed_setting(with_negatives, tmp_path, monkeypatch, capsys):
    import shutil

    monkeypatch.setenv("IGD_CACHE", str(with_negatives.cache))
    raw = str(with_negatives.raw.root)
    assert main(["process", raw, str(with_negatives.root), "--add-negatives", "--probe-negatives", "5",
                 "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "was made with --probe-negatives 0, not 5" in err[0]
    root = Path(shutil.copytree(with_negatives.root, tmp_path / "copy"))
    shutil.rmtree(root / "negatives")
    assert main(["process", raw, str(root), "--add-negatives", "--probe-negatives", "30", "--no-progress"]) == 0
    info = json.loads((root / NEGATIVES_INFO).read_text())
    assert info["probe"] == 30 and 0 < info["probe_negatives"] <= info["probe_tried"] <= 30 * info["scenes"]
    for scene_id, boxes in with_negatives.raw.scenes.items():
        far, both = read_negatives(root, scene_id), read_negatives(root, scene_id, probe=True)
        np.testing.assert_array_equal(both[: len(far)], far)
        near = both[len(far):].astype(np.float64)
        if len(near):  # the probe's points lie within reach of a box (the others are already certain)
            d = np.min([_box_distance(near, lo, hi) for lo, hi in boxes], axis=0)
            assert d.max() <= REACH + QUERY_SLACK
