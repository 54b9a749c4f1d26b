"""``igd generate`` (docs/data.md) on the real simulator with the tiny object set 'blocks'.

One serial run of 3 scenes x 6 grasp points is the reference: the raw layout exactly as
docs/data.md, "The raw root", says; a Ray run with 2 workers writes the same rows; a resumed run
redoes only what is missing; a run killed (SIGKILL) after its first scene resumes to exactly the
same rows, none lost or duplicated.
"""

import csv
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from igd_cli import kill_when, run_igd

from igd.cli.main import main
from igd.data import generate, layout
from igd.data.generate import GenerateConfig, run_generate, scene_id
from igd.errors import IGDError
from igd.sim.objects import resolve_mesh_path

SETTINGS = dict(scene="pile", scenes=3, grasps_per_scene=6, objects="blocks", seed=7, protocol="fast")


def config(out, **kw) -> GenerateConfig:
    return GenerateConfig(out=str(out), **{**SETTINGS, "workers": 1, **kw})


def grasps_text(out: Path) -> str:
    return (out / layout.GRASPS_FILE).read_text()


def part_files(out: Path) -> list:
    return sorted(p.name for p in (out / generate.PARTS_DIR).glob("*.json"))


def quiet(messages=None):
    return (lambda m: messages.append(m)) if messages is not None else (lambda m: None)


@pytest.fixture(scope="module")
def serial_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("generate") / "raw"
    stats = run_generate(config(out), progress=False)
    return out, stats


# --------------------------------------------------------------------------------------------------
# the layout
# --------------------------------------------------------------------------------------------------
def test_raw_layout_is_gigas(serial_run):
    out, stats = serial_run
    setup = json.loads((out / layout.SETUP_FILE).read_text())
    assert setup["size"] == pytest.approx(0.3)  # 6 * 0.05 = 0.30000000000000004, as in GIGA's files
    setup["size"] = 0.3
    assert setup == {"size": 0.3, "intrinsic": {"width": 640, "height": 480,
                                                "K": [540.0, 0.0, 320.0, 0.0, 540.0, 240.0, 0.0, 0.0, 1.0]},
                     "max_opening_width": 0.08, "finger_depth": 0.05}
    with open(out / layout.GRASPS_FILE, newline="") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == ("scene_id", "qx", "qy", "qz", "qw", "x", "y", "z", "width", "label")
    grasps = layout.read_grasps(out)
    ids = [scene_id(config('unused'), i) for i in range(3)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids) and len(set(ids)) == 3
    kept = [i for i in ids if (out / "scenes" / f"{i}.npz").exists()]
    assert len(kept) == stats["scenes"] == 3 - stats["skipped_scenes"] >= 2
    assert list(dict.fromkeys(grasps["scene_id"])) == kept  # scene (index) order
    assert all(np.sum(grasps["scene_id"] == i) == 6 for i in kept)
    quats = np.stack([grasps[c] for c in ("qx", "qy", "qz", "qw")], axis=1)
    np.testing.assert_allclose(np.linalg.norm(quats, axis=1), 1.0, atol=1e-9)
    assert set(grasps["label"].tolist()) <= {0, 1}
    assert np.all(grasps["width"][grasps["label"] == 0] == 0.08)
    assert np.all((grasps["width"][grasps["label"] == 1] > 0.008) & (grasps["width"][grasps["label"] == 1] <= 0.08))
    for sid in kept:
        with np.load(out / "scenes" / f"{sid}.npz") as d:
            assert sorted(d.files) == ["depth_imgs", "extrinsics"]
            assert d["depth_imgs"].shape == (1, 480, 640) and d["depth_imgs"].dtype == np.float32
            assert d["extrinsics"].shape == (1, 7) and d["extrinsics"].dtype == np.float32
            assert d["depth_imgs"].max() > 0
        items = layout.read_mesh_pose_list(out, sid)
        assert len(items) >= 1
        for mesh, scale, pose in items:
            assert not Path(mesh).is_absolute() and resolve_mesh_path(mesh).is_file()
            assert 0.5 < scale <= 1.0 and pose.shape == (4, 4)
    side = layout.read_sensor_data(out, kept[0])[1][0]
    from igd.perception.camera import side_view_extrinsic

    np.testing.assert_allclose(side, side_view_extrinsic().to_list(), atol=1e-6)


def test_scene_ids_are_stable_and_differ_between_scene_types_and_sets():
    a = scene_id(config("unused"), 0)
    assert a == scene_id(config("elsewhere", workers=2, protocol="reference"), 0)
    others = {scene_id(config("unused", scene="packed"), 0), scene_id(config("unused", objects="pile/train"), 0),
              scene_id(config("unused", seed=8), 0), scene_id(config("unused"), 1)}
    assert a not in others and len(others) == 4


def test_stats_agree_with_the_rows(serial_run):
    out, stats = serial_run
    grasps = layout.read_grasps(out)
    stored = json.loads((out / generate.STATS_FILE).read_text())
    assert stored == json.loads(json.dumps(stats))
    assert stats["grasp_points"] == len(grasps) == 6 * stats["scenes"]
    assert stats["positives"] == int(grasps["label"].sum())
    assert stats["positive_rate"] == pytest.approx(grasps["label"].mean())
    assert stats["trials"] == 6 * len(grasps) == sum(stats["causes"].values())
    assert 0 <= stats["simulated_trials"] <= stats["trials"]
    assert stats["trials_per_second"] > 0 and stats["wall_time"] > 0
    present = sum(len(layout.read_mesh_pose_list(out, sid)) for sid in set(grasps["scene_id"]))
    assert stats["objects"] == present <= stats["objects_drawn"]
    text = generate.format_stats(stats)
    for word in ("scenes", "grasp points", "positive rate", "trials per second", "wall time"):
        assert word in text


# --------------------------------------------------------------------------------------------------
# determinism, resume
# --------------------------------------------------------------------------------------------------
def test_two_ray_workers_write_the_same_rows(serial_run, tmp_path):
    out = tmp_path / "ray"
    run_generate(config(out, workers=2), progress=False)
    assert grasps_text(out) == grasps_text(serial_run[0])
    assert part_files(out) == part_files(serial_run[0])
    for sid in layout.read_grasps(out)["scene_id"][:1]:
        a, b = (layout.read_sensor_data(o, sid)[0] for o in (out, serial_run[0]))
        np.testing.assert_array_equal(a, b)


def test_resume_redoes_only_missing_scenes(serial_run, tmp_path, monkeypatch):
    out = tmp_path / "resumed"
    shutil.copytree(serial_run[0], out)
    parts = sorted((out / generate.PARTS_DIR).glob("*.json"))
    parts[1].unlink()  # scene 1 never committed: its npz files may be there, they are redone
    (out / layout.GRASPS_FILE).unlink()
    kept = parts[0].stat()
    done = []
    real = generate.generate_scene
    monkeypatch.setattr(generate, "generate_scene", lambda sim, cfg, i, *a: (done.append(i), real(sim, cfg, i))[1])
    run_generate(config(out), progress=False, resume=True, warn=quiet())
    assert done == [1]
    assert parts[0].stat().st_mtime_ns == kept.st_mtime_ns
    assert grasps_text(out) == grasps_text(serial_run[0])


def test_resume_of_a_complete_run_generates_nothing(serial_run, tmp_path, monkeypatch):
    out = tmp_path / "complete"
    shutil.copytree(serial_run[0], out)
    monkeypatch.setattr(generate, "generate_scene", lambda *a: pytest.fail("a finished scene was redone"))
    stats = run_generate(config(out), progress=False, resume=True)
    assert grasps_text(out) == grasps_text(serial_run[0])
    assert stats["grasp_points"] == serial_run[1]["grasp_points"]


def test_a_corrupt_part_is_redone_and_reported(serial_run, tmp_path):
    out = tmp_path / "corrupt"
    shutil.copytree(serial_run[0], out)
    part = sorted((out / generate.PARTS_DIR).glob("*.json"))[0]
    part.write_text(part.read_text()[:40])
    messages = []
    run_generate(config(out), progress=False, resume=True, warn=quiet(messages))
    assert len(messages) == 1 and str(part) in messages[0] and "corrupt" in messages[0]
    assert grasps_text(out) == grasps_text(serial_run[0])


def test_an_empty_cloud_skips_the_scene(tmp_path, monkeypatch):
    real = generate.build_scene

    def empty_second(sim, rng):
        count, points, normals = real(sim, rng)
        return (count, points[:0], normals[:0]) if rng.bit_generator.seed_seq.entropy == [7, 1] else (count, points, normals)

    monkeypatch.setattr(generate, "build_scene", empty_second)
    out = tmp_path / "skip"
    stats = run_generate(config(out, scenes=2, grasps_per_scene=2), progress=False)
    assert stats["scenes"] == 1 and stats["skipped_scenes"] == 1
    assert not (out / "scenes" / f"{scene_id(config(out), 1)}.npz").exists()
    assert set(layout.read_grasps(out)["scene_id"]) == {scene_id(config(out), 0)}
    assert len(part_files(out)) == 2  # the skipped scene is committed too: a resume does not redo it


# --------------------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------------------
def test_an_existing_root_needs_resume(serial_run, tmp_path):
    out = tmp_path / "again"
    shutil.copytree(serial_run[0], out)
    with pytest.raises(IGDError, match="not empty; pass --resume"):
        run_generate(config(out), progress=False)


def test_resume_with_other_settings_names_the_fields(serial_run, tmp_path):
    out = tmp_path / "other"
    shutil.copytree(serial_run[0], out)
    with pytest.raises(IGDError, match=r"other settings \(seed: 7 \(stored\) != 8 \(now\); "
                                       r"protocol: 'fast' \(stored\) != 'reference' \(now\)\)"):
        run_generate(config(out, seed=8, protocol="reference"), progress=False, resume=True)


def test_resume_of_a_root_from_another_setup_names_setup_json(serial_run, tmp_path):
    out = tmp_path / "setup"
    shutil.copytree(serial_run[0], out)
    setup = json.loads((out / "setup.json").read_text())
    setup["intrinsic"]["K"][0] = 500.0
    (out / "setup.json").write_text(json.dumps(setup))
    with pytest.raises(IGDError, match=r"setup\.json: intrinsic"):
        run_generate(config(out), progress=False, resume=True)
    setup["intrinsic"]["K"][0] = 540.0
    setup["size"] = 0.4
    (out / "setup.json").write_text(json.dumps(setup))
    with pytest.raises(IGDError, match=r"setup\.json: size is 0.4"):
        run_generate(config(out), progress=False, resume=True)


def test_resume_of_a_root_not_made_by_generate_is_refused(tmp_path):
    out = tmp_path / "foreign"
    layout.write_setup(out)
    with pytest.raises(IGDError, match="not written by 'igd generate'"):
        run_generate(config(out), progress=False, resume=True)


@pytest.mark.parametrize("args, message", [
    (["--objects", "nope"], "unknown object set 'pile/nope'"),
    (["--objects", "no/such/folder"], "no/such/folder' is neither an object set"),
    (["--scene", "heap"], "invalid choice: 'heap'"),
    (["--scenes", "0"], "scenes: expected an integer >= 1"),
])
def test_cli_bad_input_is_one_line(tmp_path, capsys, args, message):
    try:
        code = main(["generate", "--scenes", "1", "--out", str(tmp_path / "o"), "--no-progress", *args])
    except SystemExit as e:  # argparse's own errors
        code = e.code
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("igd: error:") and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


# --------------------------------------------------------------------------------------------------
# the kill test: SIGKILL after the first committed scene, then --resume
# --------------------------------------------------------------------------------------------------
def test_killed_run_resumes_without_loss_or_duplicates(serial_run, tmp_path):
    out = tmp_path / "killed"
    s = SETTINGS
    args = ["generate", "--scene", s["scene"], "--scenes", s["scenes"], "--grasps-per-scene", s["grasps_per_scene"],
            "--objects", s["objects"], "--seed", s["seed"], "--protocol", s["protocol"], "--workers", 1,
            "--out", out, "--no-progress"]
    parts = out / generate.PARTS_DIR
    kill_when(args, lambda: bool(list(parts.glob("*.json"))), poll=0.02)
    at_kill = sorted(parts.glob("*.json"))
    assert 1 <= len(at_kill) < 3, at_kill
    before = at_kill[0].stat().st_mtime_ns

    done = run_igd(*args, "--resume", timeout=600)
    assert done.returncode == 0, done.stderr
    assert grasps_text(out) == grasps_text(serial_run[0])
    assert part_files(out) == part_files(serial_run[0])
    assert at_kill[0].stat().st_mtime_ns == before
    assert not [p for p in out.rglob(".*") if p.name not in (generate.RUN_FILE, generate.PARTS_DIR)]
    assert "grasp points" in done.stdout and "positive rate" in done.stdout
