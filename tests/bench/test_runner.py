"""The benchmark runner on the real simulator, perception and VGN weights (tiny: 'blocks', 1-3 rounds).

Serial and Ray runs agree row for row; a resumed run recomputes nothing it has and loses nothing;
a killed run keeps its finished rounds. Timing columns are the only thing allowed to differ.
"""

import csv
import json
import shutil
from pathlib import Path

import pytest
from igd_cli import kill_when, run_igd

from igd.bench import runner
from igd.bench.clutter_removal import TIMING_COLUMNS
from igd.bench.config import BenchConfig
from igd.errors import IGDError

ROOT = Path(__file__).resolve().parents[2]
VGN_WEIGHTS = ROOT / "weights" / "vgn_conv.pth"
# timing keys of summary.json (wall-clock, different in every run)
TIMING_SUMMARY_KEYS = {"wall_time", "round_time_total", "planning_time_mean", "planning_time_median",
                       "integration_time_mean", "integration_time_median"}

pytestmark = pytest.mark.skipif(not VGN_WEIGHTS.exists(), reason="weights/vgn_conv.pth is missing")


def make_config(out, **kw) -> BenchConfig:
    settings = dict(planner="vgn", weights=str(VGN_WEIGHTS), scene="pile", objects="blocks", rounds=2,
                    seeds=[0, 1], noise="dex", views="side", workers=1, out=str(out))
    settings.update(kw)
    return BenchConfig(**settings)


def read_rows(path: Path, drop=TIMING_COLUMNS) -> list:
    with open(path, newline="") as f:
        return [{k: v for k, v in row.items() if k not in drop} for row in csv.DictReader(f)]


def result_of(out: Path) -> tuple:
    """Everything of a finished run that must not depend on how it was run."""
    summary = json.loads((out / runner.SUMMARY_FILE).read_text())
    summary = {k: v for k, v in summary.items() if k not in TIMING_SUMMARY_KEYS}
    return read_rows(out / runner.GRASPS_CSV), read_rows(out / runner.ROUNDS_CSV), summary


@pytest.fixture(scope="module")
def serial_run(tmp_path_factory):
    """Seeds 0 and 1, two rounds each, in this process."""
    out = tmp_path_factory.mktemp("bench") / "serial"
    summary = runner.run_benchmark(make_config(out), progress=False)
    return out, summary


def test_serial_run_writes_logs(serial_run):
    out, summary = serial_run
    for name in (runner.CONFIG_FILE, runner.ROUNDS_CSV, runner.GRASPS_CSV, runner.SUMMARY_FILE):
        assert (out / name).is_file()
    assert sorted(p.name for p in (out / runner.ROUNDS_DIR).iterdir()) == [
        "s0_r0000.json", "s0_r0001.json", "s1_r0000.json", "s1_r0001.json"]
    grasps, rounds, stored = result_of(out)
    assert [(r["seed"], r["round_id"]) for r in rounds] == [("0", "0"), ("0", "1"), ("1", "0"), ("1", "1")]
    assert all(int(r["object_count"]) >= 1 for r in rounds)
    assert summary["attempts"] == len(grasps) >= 1
    assert summary["objects"] == sum(int(r["object_count"]) for r in rounds)
    assert set(stored["per_seed"]) == {"0", "1"}
    assert stored["object_set"] == "blocks" and stored["planner"] == "vgn"
    assert [(g["seed"], g["round_id"]) for g in grasps] == sorted((g["seed"], g["round_id"]) for g in grasps)


def test_ray_run_matches_serial(serial_run, tmp_path):
    """Two workers take the rounds in another order and other groupings: a round must not depend on
    what its worker ran before, nor on the process it runs in."""
    serial_out, _ = serial_run
    out = tmp_path / "ray"
    runner.run_benchmark(make_config(out, workers=2), progress=False)
    assert result_of(out) == result_of(serial_out)


def test_resume_recomputes_nothing_and_loses_nothing(serial_run, tmp_path, monkeypatch):
    serial_out, _ = serial_run
    out = tmp_path / "resumed"
    shutil.copytree(serial_out, out)
    (out / runner.ROUNDS_DIR / "s1_r0000.json").unlink()
    (out / runner.ROUNDS_DIR / "s1_r0001.json").unlink()
    for name in (runner.ROUNDS_CSV, runner.GRASPS_CSV, runner.SUMMARY_FILE):
        (out / name).unlink()
    kept = out / runner.ROUNDS_DIR / "s0_r0000.json"
    before = kept.stat()

    played = []
    real_run_round = runner.run_round
    monkeypatch.setattr(runner, "run_round", lambda sim, planner, cfg, seed, round_id: (
        played.append((seed, round_id)), real_run_round(sim, planner, cfg, seed, round_id))[1])
    runner.run_benchmark(make_config(out), progress=False, resume=True)

    assert played == [(1, 0), (1, 1)]
    after = kept.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert result_of(out) == result_of(serial_out)


def test_resume_of_a_complete_run_plays_nothing(serial_run, tmp_path, monkeypatch):
    out = tmp_path / "complete"
    shutil.copytree(serial_run[0], out)
    monkeypatch.setattr(runner, "run_round", lambda *a: pytest.fail("a stored round was played again"))
    runner.run_benchmark(make_config(out), progress=False, resume=True)
    assert result_of(out) == result_of(serial_run[0])


def test_existing_results_need_resume(serial_run, tmp_path):
    out = tmp_path / "again"
    shutil.copytree(serial_run[0], out)
    with pytest.raises(IGDError, match="has results; pass --resume"):
        runner.run_benchmark(make_config(out), progress=False)


def test_resume_with_other_settings_is_refused(serial_run, tmp_path):
    out = tmp_path / "other"
    shutil.copytree(serial_run[0], out)
    with pytest.raises(IGDError, match=r"other settings \(noise: 'dex' \(stored\) != 'none' \(now\)\)"):
        runner.run_benchmark(make_config(out, noise="none"), progress=False, resume=True)
    with pytest.raises(IGDError, match="overrides"):
        runner.run_benchmark(make_config(out, overrides={"threshold": 0.8}), progress=False, resume=True)


def test_a_corrupt_round_file_is_redone(serial_run, tmp_path):
    out = tmp_path / "corrupt"
    shutil.copytree(serial_run[0], out)
    (out / runner.ROUNDS_DIR / "s0_r0000.json").write_text('{"format": "igd-bench-round-v1", "seed"')
    runner.run_benchmark(make_config(out), progress=False, resume=True)
    assert result_of(out) == result_of(serial_run[0])


def test_killed_run_resumes_without_loss_or_duplicates(tmp_path):
    out = tmp_path / "killed"
    args = ["bench", "--planner", "vgn", "--weights", VGN_WEIGHTS, "--scene", "pile", "--objects", "blocks",
            "--rounds", 3, "--seeds", 0, "--workers", 1, "--out", out, "--no-progress"]
    rounds_dir = out / runner.ROUNDS_DIR
    kill_when(args, lambda: bool(list(rounds_dir.glob("s*_r*.json"))))
    at_kill = sorted(p.name for p in rounds_dir.glob("s*_r*.json"))
    assert 1 <= len(at_kill) < 3, at_kill
    first = rounds_dir / at_kill[0]
    before = first.stat()

    done = run_igd(*args, "--resume", timeout=600)
    assert done.returncode == 0, done.stderr
    with open(out / runner.ROUNDS_CSV, newline="") as f:
        rounds = [(r["seed"], r["round_id"]) for r in csv.DictReader(f)]
    assert rounds == [("0", "0"), ("0", "1"), ("0", "2")]
    assert first.stat().st_mtime_ns == before.st_mtime_ns
    assert not list(rounds_dir.glob(".*.tmp"))
    assert "logs:" in done.stdout
