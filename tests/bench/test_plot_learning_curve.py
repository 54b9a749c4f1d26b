"""benchmarks/plot_learning_curve.py: sizes from run folders and from a recorded table, one line per planner."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "plot_learning_curve.py"
CURVE = SCRIPT.parent / "learning-curve-packed.csv"


def _summary(folder: Path, planner: str, gsr: float) -> str:
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps({
        "planner": planner, "gsr": gsr, "gsr_std": 2.0, "dr": gsr - 5, "attempts": 100, "scene": "packed",
        "seeds": [0, 1], "rounds_per_seed": 3, "causes": {"empty": 7}}))
    return str(folder)


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True)


def test_folders_and_table_make_one_plot_with_every_row(tmp_path):
    cell = _summary(tmp_path / "giga-curve-10", "giga", 41.5)
    ref = _summary(tmp_path / "topdown", "topdown", 70.0)
    out = tmp_path / "curve.png"
    table = tmp_path / "points.csv"
    table.write_text("planner,scenes,gsr,gsr_std,dr,attempts,scene,seeds,rounds_per_seed,source\n"
                     "igd,10,33.3,1.5,30.0,90,packed,0-1,3,a command\n"
                     "igd,30,44.4,2.5,40.0,95,packed,0-1,3,a command\n")
    r = _run(f"10={cell}", "--points", str(table), "--reference", ref, "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size > 1000 and out.read_bytes()[:4] == b"\x89PNG"
    rows = [line for line in r.stdout.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert rows == ["| giga | 10 | 41.5 ± 2.0 | 36.5 | 100 | 7 |", "| igd | 10 | 33.3 ± 1.5 | 30.0 | 90 | n/a |",
                    "| igd | 30 | 44.4 ± 2.5 | 40.0 | 95 | n/a |", "| topdown | – | 70.0 ± 2.0 | 65.0 | 100 | 7 |"]


def test_the_recorded_packed_curve_reads(tmp_path):
    r = _run("--points", str(CURVE), "--out", str(tmp_path / "c.png"))
    assert r.returncode == 0, r.stderr
    assert sum(line.startswith("| igd |") for line in r.stdout.splitlines()) >= 4
    assert sum(line.startswith("| giga |") for line in r.stdout.splitlines()) >= 4


def test_bad_table_is_one_clear_error(tmp_path):
    table = tmp_path / "bad.csv"
    table.write_text("planner,scenes,gsr\nigd,10,33\n")
    r = _run("--points", str(table), "--out", str(tmp_path / "c.png"))
    assert r.returncode != 0 and "expected the columns" in r.stderr
    table.write_text("planner,scenes,gsr,gsr_std,dr,attempts,scene,seeds,rounds_per_seed,source\n"
                     "igd,ten,33,1,1,1,packed,0-1,3,x\n")
    r = _run("--points", str(table), "--out", str(tmp_path / "c.png"))
    assert r.returncode != 0 and "line 2" in r.stderr
    r = _run("--out", str(tmp_path / "c.png"))
    assert r.returncode != 0 and "at least one" in r.stderr
