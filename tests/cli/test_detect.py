"""``igd detect``: example inputs, end to end on PNG and NPY depth, and one-line errors for bad input.

The example scene is a packed scene of the cheap ``blocks`` set (seed 0) from the benchmark's side view.
"""

import json
import re
from pathlib import Path

import numpy as np
import pytest
from igd_cli import run_igd
from PIL import Image

import igd
from igd.api import Workspace
from igd.cli.main import main
from igd.inputs import EXAMPLE_FILES, GRASPS_FORMAT, read_depth

ROOT = Path(__file__).resolve().parents[2]
VGN_WEIGHTS = ROOT / "weights" / "vgn_conv.pth"


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    folder = tmp_path_factory.mktemp("example")
    assert main(["detect", "--example", str(folder), "--example-objects", "blocks"]) == 0
    return {role: folder / name for role, name in EXAMPLE_FILES.items()}


def detect_args(example, **replace):
    files = {"depth": example["depth_png"], "intrinsics": example["intrinsics"], "extrinsic": example["extrinsic"],
             "workspace": example["workspace"], **replace}
    return ["detect"] + [a for key, value in files.items() for a in (f"--{key}", str(value))]


def test_example_files_are_consistent(example):
    png = np.asarray(Image.open(example["depth_png"]))
    npy = np.load(example["depth_npy"])
    assert png.dtype == np.uint16 and npy.dtype == np.float32 and png.shape == npy.shape == (480, 640)
    np.testing.assert_allclose(png / 1000.0, npy, atol=0.0005 + 1e-6)  # millimetres, rounded
    assert json.loads(example["extrinsic"].read_text())["convention"] == "T_cam_world"
    assert json.loads(example["workspace"].read_text())["size"] == 0.3


def test_help_shows_examples_and_formats():
    result = run_igd("detect", "--help")
    assert result.returncode == 0, result.stderr
    assert "examples:" in result.stdout and "igd detect --example example/" in result.stdout
    assert "T_cam_world, world -> camera" in result.stdout and '"quaternion": [x, y, z, w]' in result.stdout


@pytest.mark.skipif(not VGN_WEIGHTS.exists(), reason="weights/vgn_conv.pth is missing")
def test_png_end_to_end_writes_world_grasps(example, tmp_path):
    out = tmp_path / "grasps.json"
    result = run_igd(*detect_args(example), "--planner", "vgn", "--top", "3", "--out", out, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "grasp(s) in the world frame" in result.stdout and "wrote" in result.stdout
    doc = json.loads(out.read_text())
    assert doc["format"] == GRASPS_FORMAT and doc["frame"] == "world" and doc["planner"] == "vgn"
    assert doc["units"]["width"] == "m"
    grasps = doc["grasps"]
    assert 0 < len(grasps) <= 3
    assert [g["score"] for g in grasps] == sorted((g["score"] for g in grasps), reverse=True)
    assert Workspace().contains(np.array([g["position"] for g in grasps])).all()
    # the same as the Python API on the same image, at the same thread count (float sums depend on it)
    threads = int(re.search(r"ms on (\d+) threads?\)", result.stdout).group(1))
    import torch

    before = torch.get_num_threads()
    try:
        detector = igd.load("vgn", threads=threads)
        expected = detector.detect(read_depth(example["depth_png"]), json.loads(example["intrinsics"].read_text()),
                                   json.loads(example["extrinsic"].read_text()), Workspace(), top=3)
    finally:
        torch.set_num_threads(before)
    np.testing.assert_allclose([g["pose"] for g in grasps], expected.poses, atol=1e-9)


def test_npy_end_to_end_with_a_moved_world(example, tmp_path, capsys):
    """NPY input, with the world moved: the workspace and the camera carry the motion, the grasps follow it."""
    from igd.geometry import Rotation, Transform

    motion = Transform(Rotation.from_euler("z", 0.7), [1.0, 2.0, 0.3])
    T_cam_world = Transform.from_matrix(json.loads(example["extrinsic"].read_text())["matrix"]) * motion.inverse()
    (tmp_path / "T.json").write_text(json.dumps({"translation": T_cam_world.translation.tolist(),
                                                 "quaternion": T_cam_world.quat.tolist()}))
    (tmp_path / "WS.json").write_text(json.dumps({"matrix": motion.as_matrix().tolist()}))
    outs = []
    for depth, extrinsic, workspace in ((example["depth_npy"], example["extrinsic"], example["workspace"]),
                                        (example["depth_npy"], tmp_path / "T.json", tmp_path / "WS.json")):
        out = tmp_path / f"g{len(outs)}.json"
        args = detect_args(example, depth=depth, extrinsic=extrinsic, workspace=workspace)
        assert main(args + ["--planner", "topdown", "--out", str(out)]) == 0
        outs.append(json.loads(out.read_text())["grasps"])
    assert "topdown: 1 grasp(s)" in capsys.readouterr().out
    np.testing.assert_allclose([g["pose"] for g in outs[1]], motion.as_matrix() @ np.array([g["pose"] for g in outs[0]]),
                               atol=1e-9)


# --------------------------------------------------------------------------------------------------
# bad input: exit 2 and one line
# --------------------------------------------------------------------------------------------------
def _write_bad_files(example, d: Path) -> dict:
    """Bad input files in ``d``, by case name: ``(option replacements, extra args)``."""
    depth = np.load(example["depth_npy"])
    T = np.asarray(json.loads(example["extrinsic"].read_text())["matrix"])

    def npy(name, arr):
        np.save(d / name, arr)
        return d / name

    def js(name, data):
        (d / name).write_text(data if isinstance(data, str) else json.dumps(data))
        return d / name

    nan = depth.copy()
    nan[0, :] = np.nan
    scaled = T.copy()
    scaled[:3, :3] *= 2.0
    mirrored = T @ np.diag([-1.0, 1.0, 1.0, 1.0])
    bad_row = T.copy()
    bad_row[3, :3] = 0.2
    Image.fromarray((depth * 100).astype(np.uint8)).save(d / "eight_bit.png")
    return {
        "size mismatch": ({"intrinsics": js("K_small.json", {"width": 320, "height": 240, "fx": 270, "fy": 270,
                                                               "cx": 160, "cy": 120})}, "must match"),
        "scaled extrinsic": ({"extrinsic": js("T_scaled.json", {"matrix": scaled.tolist()})}, "not orthonormal"),
        "mirrored extrinsic": ({"extrinsic": js("T_mirror.json", {"matrix": mirrored.tolist()})}, "determinant"),
        "bad last row": ({"extrinsic": js("T_row.json", {"matrix": bad_row.tolist()})}, "last row"),
        "all-zero depth": ({"depth": npy("zero.npy", np.zeros_like(depth))}, "no valid reading"),
        "nan depth": ({"depth": npy("nan.npy", nan)}, "NaN"),
        "inf depth": ({"depth": npy("inf.npy", np.where(depth > 0, np.inf, 0.0))}, "NaN/inf"),
        "negative depth": ({"depth": npy("neg.npy", -depth)}, "negative"),
        "millimetre npy": ({"depth": npy("mm.npy", depth * 1000.0)}, "looks like millimetres"),
        "integer npy": ({"depth": npy("int.npy", (depth * 1000).astype(np.uint16))}, "--depth-scale 0.001"),
        "3-D npy": ({"depth": npy("stack.npy", np.stack([depth, depth]))}, "2-D"),
        "8-bit png": ({"depth": d / "eight_bit.png"}, "16-bit"),
        "text as png": ({"depth": js("fake.png", "not a png")}, "cannot read the PNG"),
        "jpg": ({"depth": js("depth.jpg", "x")}, "unknown depth format"),
        "camera pose as extrinsic": ({"extrinsic": js("T_inv.json", {"matrix": np.linalg.inv(T).tolist()})},
                                     "not the camera's pose"),
        "workspace behind": ({"workspace": js("WS_behind.json", {"translation": [0, -1.39, 0.75],
                                                                 "quaternion": [0, 0, 0, 1]})}, "behind the camera"),
        "workspace far away": ({"workspace": js("WS_far.json", {"translation": [5, 0, 0], "quaternion": [0, 0, 0, 1]})},
                               "cannot see it"),
        "workspace in free space": ({"workspace": js("WS_free.json", {"translation": [0, -0.26, 0.1],
                                                                      "quaternion": [0, 0, 0, 1]})},
                                    "no depth reading falls inside the workspace"),
        "missing file": ({"intrinsics": d / "nope.json"}, "nope.json: intrinsics file not found"),
        "depth is a directory": ({"depth": d}, f"{d} is a directory; expected the depth image file"),
        "intrinsics is a directory": ({"intrinsics": d}, f"{d} is a directory; expected the intrinsics file"),
        "corrupt json": ({"extrinsic": js("T_corrupt.json", '{"matrix": [[1, 0')},
                         "T_corrupt.json: the extrinsic file is not valid JSON"),
        "missing keys": ({"intrinsics": js("K_keys.json", {"width": 640, "height": 480, "fx": 540})},
                         "K_keys.json: intrinsics must be"),
        "no pose keys": ({"workspace": js("WS_keys.json", {"size": 0.3})}, "WS_keys.json: workspace: expected the key"),
        "list not object": ({"workspace": js("WS_list.json", [1, 2])}, "must hold a JSON object"),
    }


BAD_CASES = ("size mismatch", "scaled extrinsic", "mirrored extrinsic", "bad last row", "all-zero depth", "nan depth",
             "inf depth", "negative depth", "millimetre npy", "integer npy", "3-D npy", "8-bit png", "text as png",
             "jpg", "camera pose as extrinsic", "workspace behind", "workspace far away", "workspace in free space",
             "missing file", "depth is a directory", "intrinsics is a directory", "corrupt json", "missing keys",
             "no pose keys", "list not object")


@pytest.fixture(scope="module")
def bad_files(example, tmp_path_factory):
    return _write_bad_files(example, tmp_path_factory.mktemp("bad"))


def _assert_one_line_error(code, capsys, expected):
    _assert_one_line_error_text(code, capsys.readouterr().err, expected)


def _assert_one_line_error_text(code, err, expected):
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("igd: error:"), err
    assert expected in lines[0], lines[0]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_exits_2_with_one_line(case, example, bad_files, capsys):
    replace, expected = bad_files[case]
    code = main(detect_args(example, **replace) + ["--planner", "topdown"])
    _assert_one_line_error(code, capsys, expected)


@pytest.mark.skipif(not VGN_WEIGHTS.exists(), reason="weights/vgn_conv.pth is missing")
@pytest.mark.parametrize("kind", ["truncated", "empty", "directory"])
def test_unreadable_weights_are_one_short_line(kind, example, tmp_path, capsys):
    path = tmp_path / f"{kind}.pth"
    if kind == "directory":
        path.mkdir()
        expected = f"{path} is a directory; expected a weights file"
    else:
        path.write_bytes(VGN_WEIGHTS.read_bytes()[:4000] if kind == "truncated" else b"")
        expected = f"{path}: truncated or not a checkpoint ({'empty, 0 bytes' if kind == 'empty' else '4,000 bytes'}"
    code = main(detect_args(example) + ["--planner", "vgn", "--weights", str(path)])
    err = capsys.readouterr().err
    _assert_one_line_error_text(code, err, expected)
    if kind != "directory":
        assert "copy or download it again" in err  # what to do
        assert len(err.strip()) < len(str(path)) + 200 and "PytorchStreamReader" not in err  # no torch boilerplate


def test_out_is_a_directory(example, tmp_path, capsys):
    code = main(detect_args(example) + ["--planner", "topdown", "--out", str(tmp_path)])
    _assert_one_line_error(code, capsys, f"{tmp_path} is a directory; expected the grasps file")


def test_threads_override(example, capsys, monkeypatch):
    """--threads and IGD_THREADS (the default, in a fresh process: tests/test_threads.py)."""
    import torch

    before = torch.get_num_threads()
    try:
        assert main(detect_args(example) + ["--planner", "topdown", "--threads", "1"]) == 0
        assert "ms on 1 thread)" in capsys.readouterr().out
        assert main(detect_args(example) + ["--planner", "topdown", "--threads", "2"]) == 0
        assert "ms on 2 threads)" in capsys.readouterr().out
        monkeypatch.setenv("IGD_THREADS", "1")
        assert main(detect_args(example) + ["--planner", "topdown"]) == 0
        assert "ms on 1 thread)" in capsys.readouterr().out
        _assert_one_line_error(main(detect_args(example) + ["--planner", "topdown", "--threads", "-1"]), capsys,
                               "threads: expected a whole number of threads >= 0")
    finally:
        torch.set_num_threads(before)


def test_bad_planner_names(example, capsys, monkeypatch, tmp_path):
    import igd.released

    _assert_one_line_error(main(detect_args(example) + ["--planner", "vgm"]), capsys,
                           "unknown planner 'vgm': expected a released name (vgn, vgn-pile")
    monkeypatch.setattr(igd.released, "weights_dirs", lambda: [tmp_path])
    _assert_one_line_error(main(detect_args(example) + ["--planner", "giga-packed"]), capsys,
                           "weights/giga-packed.pt, which is not in this checkout")


def test_missing_options_and_bad_numbers(example, capsys):
    _assert_one_line_error(main(["detect", "--depth", str(example["depth_png"])]), capsys,
                           "missing --intrinsics, --extrinsic, --workspace")
    _assert_one_line_error(main(detect_args(example) + ["--planner", "topdown", "--top", "0"]), capsys, "--top")
    _assert_one_line_error(main(detect_args(example) + ["--planner", "topdown", "--depth-scale", "-1"]), capsys,
                           "--depth-scale")


def test_depth_scale_reads_other_units(example, tmp_path, capsys):
    tenth_mm = tmp_path / "tenth_mm.png"
    Image.fromarray(np.round(np.load(example["depth_npy"]) * 10000).astype(np.uint16)).save(tenth_mm)
    np.testing.assert_allclose(read_depth(tenth_mm, 0.0001), np.load(example["depth_npy"]), atol=5e-5 + 1e-6)
    _assert_one_line_error(main(detect_args(example, depth=tenth_mm) + ["--planner", "topdown"]), capsys,
                           "the depth units")  # 0.1 mm counts read as mm: ~6 m, beyond the camera range
