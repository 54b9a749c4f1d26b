"""``igd view`` end to end: a simulated scene, a tiny random-weights checkpoint, the page and the PNG."""

from __future__ import annotations

import json
import re

import pytest
from conftest import SMALL_IGD

from igd.cli.main import main


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A tiny random-weights IGD checkpoint (igd's format)."""
    import torch

    from igd.planners.igd import IGDConfig, IGDPlanner

    torch.manual_seed(0)
    return IGDPlanner(IGDConfig(**SMALL_IGD)).save_pretrained(tmp_path_factory.mktemp("weights") / "igd.pt")


def test_view_writes_page_and_png(checkpoint, tmp_path, capsys):
    out, png = tmp_path / "view.html", tmp_path / "view.png"
    code = main(["view", "--planner", "igd", "--weights", str(checkpoint), "--scene", "pile",
                 "--seed", "1", "--object-count", "2", "--noise", "none", "--top", "3", "--samples", "3",
                 "--point", "0.15", "0.15", "0.08", "--heat-threshold", "0.3", "--out", str(out), "--png", str(png)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "wrote" in printed and out.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
    page = out.read_text(encoding="utf-8")
    assert "igd (" in page and "pile scene" in page and "seed 1" in page
    assert "3 denoising paths" in printed and '"label":"affordance a"' in page
    assert int(re.search(r'"steps":(\d+)', page).group(1)) > 0
    data = json.loads(re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.DOTALL).group(1))
    objects = data["objects"]  # the true meshes, one per object left in the scene
    assert len(objects) == int(data["meta"]["objects"]) >= 1 and all(len(o["f"]) >= 3 * 12 for o in objects)
    assert data["grasps"]["executed"] == (0 if data["grasps"]["list"] else None)  # random weights: maybe none


def test_view_bad_input_is_one_line(tmp_path, capsys):
    code = main(["view", "--planner", "no-such-planner", "--out", str(tmp_path / "v.html")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("igd: error:") and len(err.strip().splitlines()) == 1
    code = main(["view", "--planner", "igd", "--weights", str(tmp_path / "missing.pt")])
    assert code == 2 and "not found" in capsys.readouterr().err
