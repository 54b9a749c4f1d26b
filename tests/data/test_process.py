"""``igd process``: clean/balance, grids, occupancy, split, resume, and bad input (issue 3 items 4, 9)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil

import numpy as np
import pytest
import trimesh
from scipy.spatial.transform import Rotation

from igd.cli.main import main
from igd.data import layout
from igd.data.occupancy import points_inside_mesh
from igd.data.process import (
    ProcessConfig,
    clean_and_balance,
    process_dataset,
    split_scenes,
)
from igd.errors import IGDError


def rows(labels, positions):
    dtype = [("scene_id", "U64")] + [(c, "f8") for c in layout.GRASP_COLUMNS[1:9]] + [("label", "i8")]
    return np.array([(f"s{i % 3}", 0, 0, 0, 1, *p, 0.08, lab) for i, (lab, p) in enumerate(zip(labels, positions))],
                    dtype=dtype)


# --------------------------------------------------------------------------------------------------
# pieces
# --------------------------------------------------------------------------------------------------
def test_clean_and_balance_drops_outside_rows_and_extra_negatives_seeded():
    rng = np.random.default_rng(0)
    pos = rng.uniform(0.0, 0.3, (200, 3))
    grasps = rows(rng.random(200) < 0.2, pos)
    kept, counts = clean_and_balance(grasps, np.random.default_rng(1))
    inside = np.all((pos >= 0.02) & (pos <= 0.28), axis=1)
    assert counts["rows_outside"] == (~inside).sum()
    assert (kept["label"] == 1).sum() == (kept["label"] == 0).sum() == (grasps[inside]["label"] == 1).sum()
    kept_pos = np.stack([kept[c] for c in "xyz"], 1)
    assert np.all((kept_pos >= 0.02) & (kept_pos <= 0.28))
    again, _ = clean_and_balance(grasps, np.random.default_rng(1))
    np.testing.assert_array_equal(kept, again)
    other, _ = clean_and_balance(grasps, np.random.default_rng(2))
    assert not np.array_equal(kept, other)


def test_clean_and_balance_keeps_everything_when_negatives_are_scarce():
    grasps = rows([1, 1, 1, 0], [[0.1, 0.1, 0.1]] * 4)
    kept, counts = clean_and_balance(grasps, np.random.default_rng(0))
    assert len(kept) == 4 and counts["negatives_dropped"] == 0


def test_split_is_by_scene_deterministic_and_disjoint():
    ids = [f"s{i:02d}" for i in range(20)]
    train, val = split_scenes(ids, 0.1, seed=5)
    assert len(val) == 2 and sorted(train + val) == ids and not set(train) & set(val)
    assert (train, val) == split_scenes(list(reversed(ids)), 0.1, seed=5)
    assert split_scenes(ids, 0.1, seed=6) != (train, val)
    assert len(split_scenes(ids[:3], 0.1, seed=0)[1]) == 1  # at least one validation scene


def test_ray_parity_matches_analytic_solids():
    rng = np.random.default_rng(0)
    sphere = trimesh.creation.icosphere(subdivisions=3, radius=0.05)
    p = rng.uniform(-0.06, 0.06, (20000, 3))
    r = np.linalg.norm(p, axis=1)
    clear = (r < 0.049) | (r > 0.05)  # away from the facets
    np.testing.assert_array_equal(points_inside_mesh(sphere.vertices, sphere.faces, p)[clear], (r < 0.05)[clear])
    box = trimesh.creation.box(extents=[0.04, 0.06, 0.05])
    pose = np.eye(4)
    pose[:3, :3] = Rotation.from_rotvec([0.3, -0.5, 0.9]).as_matrix()
    pose[:3, 3] = [0.15, 0.15, 0.1]
    box.apply_transform(pose)
    p = rng.uniform(0.09, 0.21, (20000, 3)).astype(np.float16).astype(np.float64)
    local = (p - pose[:3, 3]) @ pose[:3, :3]
    np.testing.assert_array_equal(points_inside_mesh(box.vertices, box.faces, p),
                                  np.all(np.abs(local) < [0.02, 0.03, 0.025], axis=1))


def test_ray_parity_counts_points_on_shared_edges_once():
    """Points exactly above the diagonals that split the box's faces into triangles."""
    box = trimesh.creation.box(extents=[0.0625] * 3)
    box.apply_translation([0.15625, 0.15625, 0.125])
    g = 0.1 + np.arange(64) * 2.0 ** -9
    x, y = np.meshgrid(g, g, indexing="ij")
    p = np.stack([x.ravel(), y.ravel(), np.full(x.size, 0.13)], axis=1)
    on_diagonal = np.isclose(p[:, 0], p[:, 1], atol=0) | np.isclose(p[:, 0] - 0.125, 0.1875 - p[:, 1], atol=0)
    assert on_diagonal.sum() > 10
    np.testing.assert_array_equal(points_inside_mesh(box.vertices, box.faces, p),
                                  np.all((p > box.bounds[0]) & (p < box.bounds[1]), axis=1))


# --------------------------------------------------------------------------------------------------
# a whole run
# --------------------------------------------------------------------------------------------------
def test_processed_root_layout(processed):
    root, raw = processed.root, processed.raw
    header = (root / layout.GRASPS_FILE).read_text().splitlines()[0]
    assert header == ",".join(layout.GRASP_COLUMNS)
    grasps = layout.read_grasps(root)
    assert (grasps["label"] == 1).sum() == (grasps["label"] == 0).sum() > 0
    assert set(grasps["scene_id"]) == set(raw.scenes)
    layout.check_setup(root)
    splits = json.loads((root / layout.SPLITS_FILE).read_text())
    assert sorted(splits["train"] + splits["val"]) == sorted(raw.scenes) and len(splits["val"]) == 1
    for sid in raw.scenes:
        with np.load(layout.grid_path(root, sid)) as f:
            assert f["grid"].shape == (1, 40, 40, 40) and f["grid"].dtype == np.float32
        files = layout.list_occ_files(root, sid)
        assert [f.name for f in files] == ["0000.npz", "0001.npz", "0002.npz"]
        with np.load(files[0]) as f:
            assert f["points"].dtype == np.float16 and f["points"].shape == (1000, 3)
            assert f["occ"].dtype == bool and f["occ"].shape == (1000,)
    assert processed.summary["scenes"] == 4


def test_grid_sees_the_boxes_and_occupancy_is_inside_them(processed, helpers):
    sid, boxes = next(iter(processed.raw.scenes.items()))
    grid = layout.read_grid(processed.root, sid)[0]
    lo, hi = boxes[0]
    top = np.round(((lo + hi) / 2 * [1, 1, 0] + [0, 0, hi[2]]) / 0.0075 - 0.5).astype(int)
    assert 0.3 < grid[tuple(top)] < 0.7  # the surface of the box top
    points = np.concatenate([layout.read_occ_file(f)[0] for f in layout.list_occ_files(processed.root, sid)])
    occ = np.concatenate([layout.read_occ_file(f)[1] for f in layout.list_occ_files(processed.root, sid)])
    np.testing.assert_array_equal(occ, helpers.inside_boxes(boxes, points.astype(np.float64)))
    assert 0.01 < occ.mean() < 0.5
    all_lo = np.min([b[0] for b in boxes], axis=0) - 0.02
    all_hi = np.max([b[1] for b in boxes], axis=0) + 0.02
    assert np.all(points >= all_lo - 1e-3) and np.all(points <= all_hi + 1e-3)


def test_noise_is_seeded_per_scene(processed, tmp_path):
    cfg = ProcessConfig(**{**processed.cfg.to_dict(), "out": str(tmp_path / "again"), "occ_points": 0})
    process_dataset(cfg, progress=False)
    sid = min(processed.raw.scenes)
    np.testing.assert_array_equal(layout.read_grid(cfg.out, sid), layout.read_grid(processed.root, sid))
    assert not layout.list_occ_files(cfg.out, sid)
    cfg = ProcessConfig(**{**cfg.to_dict(), "out": str(tmp_path / "other-seed"), "seed": 4})
    process_dataset(cfg, progress=False)
    assert not np.array_equal(layout.read_grid(cfg.out, sid), layout.read_grid(processed.root, sid))


def test_resume_redoes_only_missing_scenes(raw, tmp_path):
    cfg = ProcessConfig(raw=str(raw.root), out=str(tmp_path / "out"), occ_points=600, occ_files=2)
    process_dataset(cfg, progress=False)
    ids = sorted(raw.scenes)
    before = {s: layout.read_grid(cfg.out, s) for s in ids}
    kept = layout.grid_path(cfg.out, ids[0]).stat().st_mtime_ns
    # a run killed after scene 0: scene 1 has half its occupancy, scene 2 nothing; no final files
    layout.grid_path(cfg.out, ids[1]).unlink()
    layout.grid_path(cfg.out, ids[2]).unlink()
    shutil.rmtree(layout.occ_dir(cfg.out, ids[2]))
    os.rename(layout.occ_dir(cfg.out, ids[1]), tmp_path / "out" / "occ" / f".tmp-{ids[1]}-1")
    (tmp_path / "out" / layout.GRASPS_FILE).unlink()
    with pytest.raises(IGDError, match="--resume"):
        process_dataset(cfg, progress=False)
    process_dataset(cfg, progress=False, resume=True)
    assert layout.grid_path(cfg.out, ids[0]).stat().st_mtime_ns == kept
    for s in ids:
        np.testing.assert_array_equal(layout.read_grid(cfg.out, s), before[s])
        assert len(layout.list_occ_files(cfg.out, s)) == 2
    assert not list((tmp_path / "out" / "occ").glob(".tmp-*"))
    other = ProcessConfig(**{**cfg.to_dict(), "noise": "none"})
    with pytest.raises(IGDError, match="noise"):
        process_dataset(other, progress=False, resume=True)


def test_giga_absolute_mesh_paths_and_urdf(giga_raw, tmp_path, helpers):
    cfg = ProcessConfig(raw=str(giga_raw.root), out=str(tmp_path / "out"), occ_points=1500, occ_files=1)
    process_dataset(cfg, progress=False)
    for sid, boxes in giga_raw.scenes.items():
        points, occ = layout.read_occ_file(layout.list_occ_files(cfg.out, sid)[0])
        np.testing.assert_array_equal(occ, helpers.inside_boxes(boxes, points.astype(np.float64)))


def test_cli_process(raw, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["process", str(raw.root), str(out), "--occ-points", "300", "--occ-files", "1", "--workers", "1",
                 "--no-progress"])
    assert code == 0, capsys.readouterr().err
    text = capsys.readouterr().out
    assert "scenes: 3" in text and "positive" in text
    assert main(["process", str(raw.root), str(out), "--workers", "1", "--no-progress"]) == 2  # exists, no --resume
    assert "--resume" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------------
# bad input: one line naming the file, exit code 2
# --------------------------------------------------------------------------------------------------
def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def scene_id(i: int) -> str:  # as conftest.scene_id (GIGA-like uuid hex)
    return hashlib.md5(f"scene-{i}".encode()).hexdigest()


def _break_scene_key(root):
    sid = scene_id(0)
    np.savez(root / "scenes" / f"{sid}.npz", depth=np.zeros((1, 480, 640), np.float32))


def _set_setup(root, **change):
    setup = json.loads((root / "setup.json").read_text())
    setup.update(change)
    (root / "setup.json").write_text(json.dumps(setup))


BAD_INPUTS = {
    "truncated scene npz": (lambda r: _truncate(r / "scenes" / f"{scene_id(1)}.npz"), f"{scene_id(1)}.npz"),
    "truncated mesh_pose_list": (lambda r: _truncate(r / "mesh_pose_list" / f"{scene_id(0)}.npz"),
                                 f"mesh_pose_list/{scene_id(0)}.npz"),
    "truncated grasps.csv": (lambda r: (r / "grasps.csv").write_text((r / "grasps.csv").read_text()[:700]),
                             "grasps.csv"),
    "missing key": (_break_scene_key, f"{scene_id(0)}.npz"),
    "missing scene file": (lambda r: (r / "scenes" / f"{scene_id(2)}.npz").unlink(), f"{scene_id(2)}.npz"),
    "missing setup": (lambda r: (r / "setup.json").unlink(), "setup.json"),
    "other size": (lambda r: _set_setup(r, size=0.4), "setup.json"),
    "other intrinsics": (lambda r: _set_setup(r, intrinsic={"width": 640, "height": 480,
                                                            "K": [500, 0, 320, 0, 500, 240, 0, 0, 1]}), "setup.json"),
    "missing mesh": (lambda r: shutil.rmtree(r.parent / "meshes-absolute"), "mesh"),
    "voxel units in metre columns": (
        lambda r: (r / "grasps.csv").write_text((r / "grasps.csv").read_text().replace(",0.08,0", ",10.7,0")),
        "grasps.csv"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_raw_input_is_one_line_naming_the_file(case, tmp_path, capsys, helpers):
    assert helpers.scene_id(0) == scene_id(0)
    raw = helpers.build_raw(tmp_path / "raw", "absolute")
    breaker, name = BAD_INPUTS[case]
    breaker(raw.root)
    code = main(["process", str(raw.root), str(tmp_path / "out"), "--occ-points", "200", "--occ-files", "1",
                 "--workers", "1", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("igd: error:"), err
    assert name in lines[0], lines[0]


def test_no_positive_grasps_is_refused(tmp_path, helpers):
    raw = helpers.build_raw(tmp_path / "raw", "absolute")
    text = (raw.root / "grasps.csv").read_text().splitlines()
    (raw.root / "grasps.csv").write_text("\n".join([text[0]] + [line[:-1] + "0" for line in text[1:]]) + "\n")
    with pytest.raises(IGDError, match="no positive grasp"):
        process_dataset(ProcessConfig(raw=str(raw.root), out=str(tmp_path / "out")), progress=False)


def test_bad_settings_are_refused(tmp_path):
    with pytest.raises(IGDError, match="noise"):
        ProcessConfig(raw="a", out="b", noise="salt")
    with pytest.raises(IGDError, match="differ"):
        ProcessConfig(raw=str(tmp_path), out=str(tmp_path))
    with pytest.raises(IGDError, match="occ_files"):
        ProcessConfig(raw="a", out="b", occ_points=10, occ_files=0)


@pytest.mark.slow
def test_ray_workers_write_the_same_files(processed, tmp_path, catalogue):
    shutil.copytree(processed.raw.mesh_folder, catalogue)
    cfg = ProcessConfig(**{**processed.cfg.to_dict(), "out": str(tmp_path / "ray"), "workers": 2})
    process_dataset(cfg, progress=False)
    for sid in processed.raw.scenes:
        np.testing.assert_array_equal(layout.read_grid(cfg.out, sid), layout.read_grid(processed.root, sid))
        for a, b in zip(layout.list_occ_files(cfg.out, sid), layout.list_occ_files(processed.root, sid)):
            np.testing.assert_array_equal(layout.read_occ_file(a)[0], layout.read_occ_file(b)[0])
    assert (tmp_path / "ray" / "grasps.csv").read_text() == (processed.root / "grasps.csv").read_text()
