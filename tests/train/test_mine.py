"""igd mine end to end on a tiny generated and processed root (blocks), with a real planner and PyBullet, and
the mined rows in training (``igd train --mined NAME --mined-rows M``)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from igd.cli.main import main
from igd.data import layout
from igd.data.datasets import SceneBatchedGraspDataset
from igd.errors import IGDError
from igd.train.mine import MineConfig, mined_folder, run_mine


@pytest.fixture(scope="module")
def roots(tmp_path_factory, one_thread):
    tmp = tmp_path_factory.mktemp("mine")
    raw, processed = tmp / "raw", tmp / "processed"
    assert main(["generate", "--scene", "packed", "--scenes", "4", "--grasps-per-scene", "24", "--objects", "blocks",
                 "--seed", "0", "--workers", "1", "--no-progress", "--out", str(raw)]) == 0
    assert main(["process", str(raw), str(processed), "--noise", "none", "--occ-points", "64", "--val-fraction", "0.25",
                 "--workers", "1", "--no-progress"]) == 0
    assert main(["process", str(raw), str(processed), "--add-negatives", "--workers", "1", "--no-progress"]) == 0
    return raw, processed


@pytest.fixture(scope="module")
def mined(roots):
    """The authors' GIGA's 4 best grasps on every training scene, labelled as the benchmark executes them."""
    raw, processed = roots
    cfg = MineConfig(checkpoint="giga-packed-authors", data=str(processed), name="bench", per_scene=4)
    summary = run_mine(cfg, progress=False)
    return cfg, summary, layout.read_grasps(mined_folder(processed, "bench"))


def test_mining_labels_the_planners_own_grasps_on_training_scenes_only(roots, mined):
    raw, processed = roots
    cfg, summary, rows = mined
    train = set(layout.read_splits(processed)["train"])
    assert summary["scenes"] == len(train) == 3 and summary["rows"] == len(rows) > 0
    assert set(rows["scene_id"]) <= train  # the validation scene is never mined
    per_scene = {s: int((rows["scene_id"] == s).sum()) for s in set(rows["scene_id"])}
    assert max(per_scene.values()) <= 4
    assert set(np.unique(rows["label"])) <= {0, 1} and summary["positives"] == int(rows["label"].sum())
    assert sum(summary["new_causes"].values()) == len(rows)
    assert summary["new_causes"].get("success", 0) == summary["positives"]
    assert 0 < summary["positives"]  # the authors' GIGA grasps simple blocks
    quat = np.stack([rows[c] for c in ("qx", "qy", "qz", "qw")], axis=1)
    assert np.allclose(np.linalg.norm(quat, axis=1), 1.0, atol=1e-6)
    pos = np.stack([rows[c] for c in ("x", "y", "z")], axis=1)
    assert (pos > 0).all() and (pos < 0.3).all()
    assert np.all(rows["width"][rows["label"] == 0] == 0.08)
    assert np.all(rows["width"][rows["label"] == 1] < 0.08)  # a success stores the measured opening


def test_a_bench_label_is_what_the_benchmark_execution_gives(roots, mined):
    from igd.eval.evaluate import urdf_of_mesh
    from igd.geometry import Transform
    from igd.sim.simulation import ClutterRemovalSim

    raw, processed = roots
    _, _, rows = mined
    sim = ClutterRemovalSim("packed", object_set=None)
    try:
        for r in rows[:3]:
            items = [(urdf_of_mesh(m), s, p) for m, s, p in layout.read_mesh_pose_list(raw, str(r["scene_id"]))]
            sim.replay(items)
            pose = Transform(Rotation.from_quat([r["qx"], r["qy"], r["qz"], r["qw"]]), [r["x"], r["y"], r["z"]])
            outcome = sim.execute_grasp(pose, 0.08, remove=False, allow_contact=True)
            assert int(outcome.label) == int(r["label"])
    finally:
        sim.close()


def test_the_fast_protocol_mirrors_the_replayed_scene(roots):
    """The fast labeller's geometric checks need the replayed objects in its probe world: without them
    every grasp would be called empty."""
    raw, processed = roots
    summary = run_mine(MineConfig(checkpoint="giga-packed-authors", data=str(processed), name="fast", per_scene=4,
                                  protocol="fast", scenes=2), progress=False)
    assert summary["rows"] > 0
    assert summary["new_causes"].get("empty", 0) < summary["rows"]


def test_a_killed_run_resumes_without_losing_or_repeating_a_scene(roots, mined, tmp_path):
    raw, processed = roots
    cfg, _, rows = mined
    folder = mined_folder(processed, "bench")
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    try:
        parts = sorted((folder / "parts").glob("*.csv"))
        (folder / layout.GRASPS_FILE).unlink()  # killed before the end ...
        parts[0].unlink()  # ... with one scene not landed ...
        parts[1].write_text("garbage\n")  # ... and one part corrupt
        with pytest.raises(IGDError, match="--resume"):
            run_mine(cfg, progress=False)
        with pytest.raises(IGDError, match="per_scene"):
            run_mine(MineConfig(**{**cfg.to_dict(), "per_scene": 2}), resume=True, progress=False)
        summary = run_mine(cfg, resume=True, progress=False)
        assert summary["new_scenes"] == 2 and summary["scenes"] == 3
        again = layout.read_grasps(folder)
        assert again.tolist() == rows.tolist()  # the same rows, once each
    finally:
        shutil.rmtree(folder)
        shutil.copytree(copy, folder)


def test_items_carry_the_scenes_mined_rows(roots, mined):
    raw, processed = roots
    _, _, rows = mined
    ds = SceneBatchedGraspDataset(processed, split="train", grasps_per_scene=4, dropped_negatives=2,
                                  certain_negatives=3, mined_rows=5, mined="bench", occ_points=0)
    plain = SceneBatchedGraspDataset(processed, split="train", grasps_per_scene=4, dropped_negatives=2,
                                     certain_negatives=3, occ_points=0)
    checked = 0
    for i, scene_id in enumerate(ds.scenes):
        item = ds[i]
        assert item["pos"].shape == (4 + 2 + 5 + 3, 3) and item["certain"].tolist() == [0.0] * 11 + [1.0] * 3
        assert np.array_equal(item["pos"][:6].numpy(), plain[i]["pos"][:6].numpy())  # K and D rows as without
        mine = rows[rows["scene_id"] == scene_id]
        if len(mine):
            known = np.stack([mine["x"], mine["y"], mine["z"], mine["label"]], axis=1)  # (n, 4)
            got = np.concatenate([item["pos"][6:11].numpy(), item["label"][6:11].numpy()[:, None]], axis=1)
            assert (np.abs(got[:, None, :] - known[None]).max(-1).min(1) < 1e-6).all()  # each a mined row
            checked += 1
    assert checked >= 1


def test_bad_settings_are_one_clear_error(roots, tmp_path, capsys):
    raw, processed = roots
    with pytest.raises(IGDError, match="mined set's name"):
        SceneBatchedGraspDataset(processed, split="train", grasps_per_scene=4, mined_rows=2)
    with pytest.raises(IGDError, match="igd mine"):
        SceneBatchedGraspDataset(processed, split="train", grasps_per_scene=4, mined_rows=2, mined="nope")
    for bad in ({"protocol": "reference"}, {"per_scene": 0}, {"name": "../x"}, {"split": "test"}):
        with pytest.raises(IGDError):
            MineConfig(**{"checkpoint": "giga-packed-authors", "data": str(processed), **bad})
    assert main(["mine", "giga-packed-authors", "--data", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("igd: error:") and "\n" not in err and "not a processed root" in err
    # a checkpoint that is not there fails before the mined set's folder is made
    assert main(["mine", str(tmp_path / "missing.pt"), "--data", str(processed), "--name", "never"]) == 2
    assert "checkpoint not found" in capsys.readouterr().err
    assert not (processed / "mined" / "never").exists()
    assert main(["train", "--planner", "giga", "--data", str(processed), "--out", str(tmp_path / "run"),
                 "--mined-rows", "4"]) == 2
    assert "--mined NAME --mined-rows M" in capsys.readouterr().err


def test_training_with_mined_rows_runs_and_records_them(roots, mined, tmp_path, tiny_giga):
    raw, processed = roots
    run = tmp_path / "run"
    assert main(["train", "--planner", "giga", "--data", str(processed), "--out", str(run), "--epochs", "1",
                 "--max-steps", "2", "--batch-size", "2", "--grasps-per-scene", "4", "--dropped-negatives", "2",
                 "--mined", "bench", "--mined-rows", "4", "--no-progress", *tiny_giga]) == 0
    stored = json.loads((run / "train.json").read_text())
    assert stored["mined"] == "bench" and stored["mined_rows"] == 4
    assert (run / "best.pt").is_file()


def test_two_mined_sets_are_pooled(roots, mined):
    raw, processed = roots
    run_mine(MineConfig(checkpoint="giga-packed-authors", data=str(processed), name="pool2", per_scene=2,
                        protocol="fast", scenes=1), progress=False)
    one = SceneBatchedGraspDataset(processed, split="train", grasps_per_scene=4, mined_rows=2, mined="bench",
                                   occ_points=0)
    both = SceneBatchedGraspDataset(processed, split="train", grasps_per_scene=4, mined_rows=2, mined="bench,pool2",
                                    occ_points=0)
    extra = len(layout.read_grasps(mined_folder(processed, "pool2")))
    assert extra > 0
    assert sum(len(v) for v, _ in both._mined) == sum(len(v) for v, _ in one._mined) + extra
    with pytest.raises(IGDError, match="pool3"):
        SceneBatchedGraspDataset(processed, split="train", grasps_per_scene=4, mined_rows=2, mined="bench,pool3")
