"""PyTorch datasets: items, scene batches, augmentation, GIGA's released layout, bad files (issue 3 items 5, 6, 9)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from igd import batch_keys as keys
from igd.data import layout
from igd.data.datasets import (
    GraspDataset,
    SceneBatchedGraspDataset,
    collate,
    flatten_grasps,
    rotate_about_z,
)
from igd.errors import IGDError
from igd.planners.vgn.model import VGNNet

P = 64  # occupancy points per item in these tests


def copy_root(src, dst):
    shutil.copytree(src, dst)
    return dst


# --------------------------------------------------------------------------------------------------
# items and batches
# --------------------------------------------------------------------------------------------------
def test_grasp_dataset_items(processed):
    ds = GraspDataset(processed.root, occ_points=P)
    grasps = layout.read_grasps(processed.root)
    splits = layout.read_splits(processed.root)
    assert len(ds) == np.isin(grasps["scene_id"], splits["train"]).sum()
    item = ds[0]
    assert set(item) == set(keys.ALL_KEYS)
    shapes = {k: tuple(v.shape) for k, v in item.items()}
    assert shapes == {"grid": (1, 40, 40, 40), "pos": (3,), "quat": (4,), "width": (), "label": (),
                      "occ_points": (P, 3), "occ": (P,)}
    assert all(v.dtype == torch.float32 for v in item.values())
    row = grasps[np.isin(grasps["scene_id"], splits["train"])][0]  # rows keep the file order
    np.testing.assert_allclose(item["pos"].numpy(), [row["x"], row["y"], row["z"]], rtol=1e-6)
    assert set(torch.unique(item["occ"]).tolist()) <= {0.0, 1.0}
    assert torch.equal(ds[3]["occ_points"], ds[3]["occ_points"])  # seeded by the index
    val = GraspDataset(processed.root, split="val", occ_points=0)
    assert set(val.scenes) == set(splits["val"]) and not set(val.scenes) & set(ds.scenes)
    assert keys.OCC not in val[0]
    assert len(GraspDataset(processed.root, split="all", occ_points=0)) == len(grasps)


def test_max_scenes_keeps_the_first_scenes_of_the_split_nested(processed):
    full = SceneBatchedGraspDataset(processed.root, grasps_per_scene=4, occ_points=0)
    assert len(full.scenes) >= 2
    one = SceneBatchedGraspDataset(processed.root, grasps_per_scene=4, occ_points=0, max_scenes=1)
    two = GraspDataset(processed.root, occ_points=0, max_scenes=2)
    assert one.scenes == sorted(full.scenes)[:1] and two.scenes == sorted(full.scenes)[:2]
    grasps = layout.read_grasps(processed.root)
    assert len(two) == np.isin(grasps["scene_id"], two.scenes).sum() > 0
    assert GraspDataset(processed.root, occ_points=0, max_scenes=100).scenes == full.scenes


def test_scene_batched_items_and_collate(processed):
    ds = SceneBatchedGraspDataset(processed.root, grasps_per_scene=12, occ_points=P)
    assert len(ds) == len(ds.scenes) == 3
    item = ds[1]
    assert tuple(item["pos"].shape) == (12, 3) and tuple(item["quat"].shape) == (12, 4)
    assert tuple(item["width"].shape) == tuple(item["label"].shape) == (12,)
    assert tuple(item["grid"].shape) == (1, 40, 40, 40) and tuple(item["occ_points"].shape) == (P, 3)
    rows = ds.row_values[ds.row_scene == 1]
    assert len(rows) < 12  # fewer than 12: drawn with replacement
    stored = {tuple(np.round(r[4:7].astype(float), 5)) for r in rows}
    assert {tuple(np.round(p, 5)) for p in item["pos"].double().numpy()} <= stored
    assert torch.equal(ds[1]["pos"], item["pos"])
    ds.set_epoch(1)
    assert not torch.equal(ds[1]["pos"], item["pos"])
    batch = collate([ds[0], ds[1]])
    assert tuple(batch["grid"].shape) == (2, 1, 40, 40, 40) and tuple(batch["pos"].shape) == (2, 12, 3)
    flat = flatten_grasps(batch)
    assert tuple(flat["grid"].shape) == (24, 1, 40, 40, 40) and tuple(flat["pos"].shape) == (24, 3)
    assert tuple(flat["occ_points"].shape) == (24, P, 3) and tuple(flat["label"].shape) == (24,)
    assert torch.equal(flat["grid"][13], batch["grid"][1]) and torch.equal(flat["pos"][13], batch["pos"][1, 1])
    few = SceneBatchedGraspDataset(processed.root, grasps_per_scene=3, occ_points=0)[0]
    assert len({tuple(q) for q in few["quat"].tolist()}) == 3  # enough rows: drawn without replacement


def test_rotation_about_z_moves_grid_poses_and_points_together():
    grid = np.zeros((1, 40, 40, 40), np.float32)
    ijk = np.array([5, 30, 12])
    grid[(0, *ijk)] = 1.0
    pos = (ijk + 0.5) * 0.0075
    quat = Rotation.from_rotvec([0.2, 0.1, 0.4]).as_quat()
    points = np.array([pos, [0.2, 0.1, 0.05]])
    for k in range(4):
        g, p, q, pts = rotate_about_z(k, grid, pos, quat, points)
        assert np.allclose((np.argwhere(g[0])[0] + 0.5) * 0.0075, p, atol=1e-6)
        np.testing.assert_allclose(pts[0], p, atol=1e-6)
        expected = Rotation.from_rotvec([0, 0, k * np.pi / 2]) * Rotation.from_quat(quat)
        assert abs(np.dot(q, expected.as_quat())) == pytest.approx(1.0, abs=1e-6)
    g, p, q, pts = rotate_about_z(1, grid, pos, quat, points)
    np.testing.assert_allclose(pts[1], [0.2, 0.2, 0.05], atol=1e-6)  # (0.05, -0.05) from the centre -> (0.05, 0.05)


def test_augmented_items_turn_grid_grasp_and_occupancy_together(processed):
    plain = GraspDataset(processed.root, split="all", occ_points=128, seed=1)
    turned = GraspDataset(processed.root, split="all", augment=True, occ_points=128, seed=1)
    quarters = set()
    for i in range(8):
        a, b = plain[i], turned[i]  # the same draws, then a random quarter turn
        k = [k for k in range(4) if torch.equal(torch.rot90(a["grid"], k, dims=(1, 2)), b["grid"])]
        assert len(k) >= 1
        _, pos, quat, points = rotate_about_z(k[0], a["grid"].numpy(), a["pos"].numpy(), a["quat"].numpy(),
                                              a["occ_points"].numpy())
        np.testing.assert_allclose(b["pos"].numpy(), pos, atol=1e-6)
        np.testing.assert_allclose(b["occ_points"].numpy(), points, atol=1e-6)
        assert abs(float(np.dot(b["quat"].numpy(), quat))) == pytest.approx(1.0, abs=1e-5)
        assert torch.equal(a["occ"], b["occ"]) and a["label"] == b["label"] and a["width"] == b["width"]
        quarters.add(k[0])
    assert len(quarters) > 1


# --------------------------------------------------------------------------------------------------
# GIGA's released layout, read as-is, and one training step on it
# --------------------------------------------------------------------------------------------------
def test_giga_processed_root_reads_as_is(giga):
    ds = GraspDataset(giga.root, raw_root=giga.raw.root, split="all", occ_points=P)
    raw = layout.read_grasps(giga.raw.root)
    item = ds[0]
    row = raw[(raw["scene_id"] == ds.scenes[ds.row_scene[0]])][0]
    np.testing.assert_allclose(item["pos"].numpy(), [row["x"], row["y"], row["z"]], atol=1e-6)  # voxel -> m
    assert item["width"].item() == pytest.approx(row["width"], abs=1e-6)
    assert tuple(item["occ_points"].shape) == (P, 3) and item["occ_points"].dtype == torch.float32
    with pytest.raises(IGDError, match="raw_root"):
        GraspDataset(giga.root, split="all", occ_points=P)
    assert len(GraspDataset(giga.root, split="all", occ_points=0)) == len(ds)


def test_one_vgn_training_step_on_giga_layout(giga):
    torch.manual_seed(0)
    ds = GraspDataset(giga.root, raw_root=giga.raw.root, split="train", occ_points=P)
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=2, shuffle=True)))
    assert tuple(batch["width"].shape) == (2,) and tuple(batch["pos"].shape) == (2, 3)
    net = VGNNet()
    opt = torch.optim.SGD(net.parameters(), lr=1e-3)
    loss, metrics = net.loss(batch)
    loss.backward()
    opt.step()
    assert torch.isfinite(loss) and set(metrics) >= {"loss", "accuracy"}
    scenes = SceneBatchedGraspDataset(giga.root, raw_root=giga.raw.root, split="all", grasps_per_scene=2,
                                      occ_points=P)
    loader = torch.utils.data.DataLoader(scenes, batch_size=1, collate_fn=collate)
    with torch.no_grad():
        loss, _ = net.loss(flatten_grasps(next(iter(loader))))
    assert torch.isfinite(loss)


# --------------------------------------------------------------------------------------------------
# bad files
# --------------------------------------------------------------------------------------------------
def test_no_positives_is_refused(processed, tmp_path):
    root = copy_root(processed.root, tmp_path / "p")
    text = (root / "grasps.csv").read_text().splitlines()
    (root / "grasps.csv").write_text("\n".join([text[0]] + [t[:-1] + "0" for t in text[1:]]) + "\n")
    with pytest.raises(IGDError, match="has no positive grasps; training would learn nothing"):
        GraspDataset(root, occ_points=0)


def test_wrong_grid_shape_names_the_file(processed, tmp_path):
    root = copy_root(processed.root, tmp_path / "p")
    sid = layout.read_grasps(root)[0]["scene_id"]
    np.savez_compressed(layout.grid_path(root, sid), grid=np.zeros((40, 40, 40), np.float32))
    ds = GraspDataset(root, split="all", occ_points=0)
    with pytest.raises(IGDError, match=f"{sid}.npz.*shape"):
        ds[0]


@pytest.mark.parametrize("what", ["grid", "occ", "csv", "missing grid", "splits"])
def test_corrupt_files_name_the_file(what, processed, tmp_path):
    root = copy_root(processed.root, tmp_path / "p")
    sid = str(layout.read_grasps(root)[0]["scene_id"])
    path = {"grid": layout.grid_path(root, sid), "occ": layout.occ_dir(root, sid) / "0000.npz",
            "csv": root / "grasps.csv", "missing grid": layout.grid_path(root, sid),
            "splits": root / "splits.json"}[what]
    if what == "csv":
        path.write_text(path.read_text()[:-25])  # the last line loses fields
    elif what == "missing grid":
        path.unlink()
    elif what == "splits":
        path.write_text(json.dumps({"train": [sid]}))
    else:
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    with pytest.raises(IGDError, match=path.name) as err:
        ds = GraspDataset(root, split="train" if what == "splits" else "all", occ_points=P, seed=0)
        for f in layout.list_occ_files(root, sid)[1:]:
            f.unlink()  # only the broken occupancy file is left to read
        ds[0]
    assert "\n" not in str(err.value)


def test_other_setup_is_refused(processed, tmp_path):
    root = copy_root(processed.root, tmp_path / "p")
    setup = json.loads((root / "setup.json").read_text())
    setup["size"] = 0.4
    (root / "setup.json").write_text(json.dumps(setup))
    with pytest.raises(IGDError, match="setup.json: size"):
        GraspDataset(root, occ_points=0)
