"""``igd demo``: benchmark runs, viewer pages and a report folder, through the real command."""

import json
import re
from pathlib import Path

import pytest

from igd.cli.demo import choose_planners
from igd.cli.main import main
from igd.errors import IGDError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def tiny_igd(tmp_path):
    """A tiny random-weights IGD checkpoint (a path, as users pass their own)."""
    import torch

    from igd.planners.igd import IGDConfig, IGDPlanner

    torch.manual_seed(0)
    planner = IGDPlanner(IGDConfig(features=8, hidden=16, unet_filters=8, denoiser_hidden=32, max_points=200,
                                   force=True))
    return planner.save_pretrained(tmp_path / "tiny-igd.pt")


def test_demo_writes_runs_views_and_a_report(tiny_igd, tmp_path, capsys):
    out = tmp_path / "demo"
    args = ["demo", "--planners", str(tiny_igd), "topdown", "--objects", "blocks", "--rounds", "1",
            "--workers", "1", "--out", str(out), "--no-progress"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    readme = out / "report" / "README.md"
    assert f"report: {readme}" in printed
    for label in ("tiny-igd", "topdown"):
        summary = json.loads((out / "bench" / label / "summary.json").read_text())
        assert summary["rounds_per_seed"] == 1 and summary["seeds"] == [0]
        assert (out / "views" / f"{label}.html").stat().st_size > 1000
        assert (out / "views" / f"{label}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = readme.read_text()
    assert "tiny-igd" in text and "topdown" in text
    assert "tiny-igd.png" in text and "tiny-igd.html" in text  # snapshots shown, viewers linked
    report = json.loads((out / "report" / "report.json").read_text())
    assert {e["label"] for e in report["entries"]} == {"tiny-igd", "topdown"}
    # a smoke run says so, in the output and above the report's table, and links the joint results
    assert printed.count("note: a smoke run: 1 round(s) of seed 0 per planner") == 2
    head = text.split("| planner")[0]
    assert "**A smoke run**: 1 round(s) of seed 0 per planner" in head and "(1 seed)" in text
    [link] = re.findall(r"\[docs/results.md\]\(([^)]+)\)", head)
    assert (readme.parent / link).resolve() == ROOT / "docs" / "results.md"
    # a second call resumes: the finished rounds are reused, not played again
    before = (out / "bench" / "topdown" / "rounds.csv").read_text()
    assert main(args) == 0
    assert (out / "bench" / "topdown" / "rounds.csv").read_text() == before


def test_unreleased_names_fall_back_to_vgn(monkeypatch, capsys):
    import igd.released as released

    found = released.find_weights
    monkeypatch.setattr(released, "find_weights", lambda name: None if name.startswith("igd-") else found(name))
    chosen = choose_planners(["igd-packed", "vgn"])
    assert [label for label, _, _ in chosen] == ["vgn"]  # the fallback, once
    assert "igd-packed is not released" in capsys.readouterr().out


def test_bad_planner_is_one_line(tmp_path, capsys):
    with pytest.raises(IGDError, match="unknown planner 'nope'"):
        choose_planners(["nope"])
    assert main(["demo", "--planners", "nope", "--out", str(tmp_path / "d")]) == 2
    assert main(["demo", "--rounds", "0", "--out", str(tmp_path / "d")]) == 2
