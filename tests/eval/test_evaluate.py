"""igd evaluate end to end on a tiny generated and processed root (blocks), with real planners and PyBullet."""

import json

import numpy as np
import pytest

from igd.cli.main import main
from igd.errors import IGDError
from igd.eval import EvaluateConfig, format_results, run_evaluate


@pytest.fixture(scope="module")
def roots(tmp_path_factory, one_thread):
    tmp = tmp_path_factory.mktemp("eval")
    raw, processed = tmp / "raw", tmp / "processed"
    assert main(["generate", "--scene", "packed", "--scenes", "3", "--grasps-per-scene", "24", "--objects", "blocks",
                 "--seed", "0", "--workers", "1", "--no-progress", "--out", str(raw)]) == 0
    assert main(["process", str(raw), str(processed), "--noise", "none", "--occ-points", "0", "--val-fraction", "0.34",
                 "--workers", "1", "--no-progress"]) == 0
    return raw, processed


def test_every_section_is_measured_on_the_same_scenes(roots, tmp_path):
    raw, processed = roots
    cfg = EvaluateConfig(checkpoints=["giga-packed-authors", "vgn"], data=str(processed), raw=str(raw),
                         split="all", scenes=3)
    results = run_evaluate(cfg, progress=False)
    assert len(results["scene_ids"]) == 3 and [e["label"] for e in results["entries"]] == ["giga-packed-authors", "vgn"]
    rows = sum(1 for _ in open(raw / "grasps.csv")) - 1
    for e in results["entries"]:
        p, v, x = e["points"], e["volume"], e["executed"]
        assert p["n"] == rows and 0 < p["positives"] < rows  # every labelled point, before balancing
        assert 0.0 <= p["accuracy"] <= 1.0 and 0.0 <= p["roc_auc"] <= 1.0
        assert 0.0 <= p["rotation_error_deg"]["p50"] <= 180.0 and p["width_error_mm"]["p50"] >= 0.0
        assert v["voxels"] > 0 and 0.0 <= v["mean"] <= 1.0
        assert x["scenes"] == 3 and x["found"] >= 1
        assert sum(x["simulated"].values()) == x["found"]  # every executed grasp was simulated
        assert sum(x["labelled"].values()) == x["found"]
    giga = results["entries"][0]
    assert giga["points"]["roc_auc"] > 0.7  # the authors' GIGA ranks the labelled points of simple blocks
    assert giga["executed"]["simulated"]["success"] >= 1
    table = format_results(results)
    assert table.count("\n| ") == 2 and "giga-packed-authors" in table


def test_the_same_seed_gives_the_same_numbers(roots):
    raw, processed = roots
    cfg = EvaluateConfig(checkpoints=["giga-packed-authors"], data=str(processed), raw=str(raw), split="all",
                         scenes=2, simulate=False)
    a, b = run_evaluate(cfg, progress=False), run_evaluate(cfg, progress=False)
    for key in ("points", "volume", "executed"):
        assert a["entries"][0][key] == b["entries"][0][key]
    assert a["entries"][0]["executed"]["simulated"] is None


def test_cli_writes_json_and_bad_input_is_one_line(roots, tmp_path, capsys):
    raw, processed = roots
    out = tmp_path / "r.json"
    assert main(["evaluate", "giga-packed-authors", "--data", str(processed), "--split", "all", "--scenes", "1",
                 "--no-simulate", "--out", str(out)]) == 0  # the raw root from process.json
    assert json.loads(out.read_text())["entries"][0]["points"]["n"] > 0
    capsys.readouterr()
    assert main(["evaluate", "giga-packed-authors", "--data", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("igd: error:") and "\n" not in err and "not a processed root" in err
    assert main(["evaluate", "topdown", "--data", str(processed), "--split", "all", "--scenes", "1"]) == 2
    err = capsys.readouterr().err.strip()  # the planner's declared capabilities, checked before any scene
    assert err == ("igd: error: planner 'topdown' has no dense quality volumes (volumes()): igd evaluate scores "
                   "a planner's point queries and volumes")
    with pytest.raises(IGDError, match="scenes"):
        EvaluateConfig(checkpoints=["vgn"], data=str(processed), scenes=0)


def test_query_points_at_voxel_positions_are_the_volumes(roots):
    """The capability contract: GIGA's point queries at voxel centres equal its dense volumes there."""
    import igd

    raw, processed = roots
    grid = np.load(next((processed / "scenes").glob("*.npz")))["grid"]
    planner = igd.load("giga-packed-authors").planner
    qual, rot, width = planner.volumes(grid)
    index = np.array([[10, 20, 8], [20, 20, 10], [30, 5, 12]])
    pred = planner.query_points(grid, index * 0.0075)
    i, j, k = index.T
    assert np.allclose(pred.qual, qual[i, j, k], atol=1e-5) and np.allclose(pred.width, width[i, j, k], atol=1e-6)
    assert np.allclose(np.abs(np.sum(pred.quat * rot[:, i, j, k].T, axis=1)), 1.0, atol=1e-5)


def test_igd_answers_point_queries_with_its_own_orientations(roots):
    import igd

    raw, processed = roots
    grid = np.load(next((processed / "scenes").glob("*.npz")))["grid"]
    planner = igd.load("igd-packed").planner
    positions = np.random.default_rng(0).uniform(0.05, 0.25, (40, 3))
    pred = planner.query_points(grid, positions)
    assert pred.qual.shape == (40,) and pred.quat.shape == (40, 4) and pred.width.shape == (40,)
    assert np.all((pred.qual >= 0) & (pred.qual <= 1)) and np.allclose(np.linalg.norm(pred.quat, axis=1), 1, atol=1e-5)
    again = planner.query_points(grid, positions)  # the planner's seed decides its draws
    assert np.array_equal(pred.quat, again.quat) and np.array_equal(pred.qual, again.qual)
