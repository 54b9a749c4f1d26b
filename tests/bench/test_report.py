"""``igd report`` / :func:`igd.report.write_report` on tiny runs written with the bench's own writers.

The runs are hand-made rounds stored through :mod:`igd.bench.runner` (``prepare_out``, the round
files, ``aggregate``), so their files have exactly the format of a real run; the expected numbers
are computed by hand and with :func:`igd.bench.metrics.compute_metrics`.
"""

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from igd.bench import runner
from igd.bench.clutter_removal import GRASP_COLUMNS, RoundResult
from igd.bench.config import BenchConfig
from igd.bench.metrics import compute_metrics
from igd.cli.main import main
from igd.errors import IGDError
from igd.report import load_run, write_report
from igd.report.numbers import object_table


def grasp(seed, round_id, k, label, cause, obj="", planning=0.1, integration=0.05):
    row = dict.fromkeys(GRASP_COLUMNS, 0.0)
    row.update(round_id=round_id, scene_id=f"s{seed}_r{round_id:04d}_{k:02d}", qw=1.0, label=label, seed=seed,
               cause=cause, object_name=obj, target_name="", planning_time=planning, integration_time=integration,
               score=0.9,
               width=0.04)
    return row


def result(seed, round_id, object_count, outcomes, end_reason, times=()):
    """A round: ``outcomes`` are ``(label, cause, object_name)``; ``times`` the planning times."""
    times = list(times) or [0.1] * len(outcomes)
    rows = [grasp(seed, round_id, k, lab, cause, obj, planning=t)
            for k, ((lab, cause, obj), t) in enumerate(zip(outcomes, times))]
    return RoundResult(seed, round_id, object_count, rows, end_reason, scene_seed=1, timings={}, wall_time=1.0)


def make_run(out, results, finish=True, **settings):
    """Store ``results`` as a run in ``out``: config, round files, and (``finish``) CSVs and summary."""
    kw = {"planner": "topdown", "scene": "pile", "objects": "pile/test", "rounds": 2, "seeds": [0, 1],
          "noise": "none", "views": "side", "workers": 1, "out": str(out)}
    kw.update(settings)
    cfg = BenchConfig(**kw)
    runner.prepare_out(cfg, resume=False)
    for r in results:
        runner.write_json(runner.round_path(out, r.seed, r.round_id), r.to_dict())
    if finish:
        runner.aggregate(cfg, results, wall_time=4.0)
    return out


A_ROUNDS = [  # seed 0: 4 of 5 grasps, 5 objects; seed 1: 0 of 2 grasps, 7 objects
    result(0, 0, 3, [(1, "success", "a"), (0, "empty", ""), (1, "success", "b")], "failures", [0.1, 0.2, 0.3]),
    result(0, 1, 2, [(1, "success", "a"), (1, "success", "a")], "cleared", [0.4, 0.5]),
    result(1, 0, 4, [(0, "collision", ""), (0, "slipped", "")], "failures", [0.6, 0.7]),
    result(1, 1, 3, [], "no_grasp"),
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    complete = make_run(root / "complete", A_ROUNDS)
    # another planner and cell, stopped after one round of seed 0 (no CSVs, no summary)
    partial = make_run(root / "partial", [result(0, 0, 5, [(1, "success", "c"), (1, "success", "c")], "failures")],
                       finish=False, planner="vgn", weights=str(root / "vgn_conv.pth"), scene="packed",
                       objects="packed/test", noise="dex", seeds=[0], rounds=3)
    # a resumed run in progress: its CSVs hold round 0, its round files rounds 0 and 1
    resumed = make_run(root / "resumed", [result(0, 0, 2, [(1, "success", "d")], "failures")], rounds=2,
                       seeds=[0], noise="dex")
    runner.write_json(runner.round_path(resumed, 0, 1), result(0, 1, 3, [(0, "empty", "")], "failures").to_dict())
    empty = make_run(root / "empty", [], finish=False, noise="blur", seeds=[3])
    return {"complete": complete, "partial": partial, "resumed": resumed, "empty": empty, "root": root}


@pytest.fixture(scope="module")
def report(runs, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "rep"
    snapshot = runs["root"] / "snap.png"
    Image.new("RGB", (8, 6), (10, 200, 30)).save(snapshot)
    viewer = runs["root"] / "viewer.html"
    viewer.write_text("<html></html>")
    dirs = [runs[k] for k in ("complete", "partial", "resumed", "empty")]
    readme = write_report(dirs, out, labels={str(runs["resumed"]): "td-resumed"}, min_attempts=2,
                          extras=[("Scene snapshots", [snapshot, viewer])])
    return out, readme, json.loads((out / "report.json").read_text()), dirs


def entry(data, label, cell):
    [e] = [e for e in data["entries"] if e["label"] == label and e["cell"] == cell]
    return e


def test_numbers_match_a_hand_computation(report):
    _, _, data, _ = report
    m = entry(data, "topdown", "pile/side/none")["metrics"]
    assert m["per_seed"]["0"]["gsr"] == pytest.approx(80.0) and m["per_seed"]["1"]["gsr"] == 0.0
    assert m["gsr"] == pytest.approx(40.0) and m["gsr_std"] == pytest.approx(math.sqrt(2 * 40.0 ** 2))
    assert m["per_seed"]["0"]["dr"] == pytest.approx(80.0)  # 4 successes / 5 objects
    assert m["dr"] == pytest.approx(40.0) and m["dr_std"] == pytest.approx(m["gsr_std"])
    assert (m["attempts"], m["successes"], m["objects"], m["rounds"]) == (7, 4, 12, 4)
    assert m["planning_time"]["median"] == pytest.approx(0.4)
    assert m["planning_time"]["p90"] == pytest.approx(0.64)  # linear between 0.6 and 0.7
    assert m["planning_time"]["mean"] == pytest.approx(0.4)
    assert m["integration_time"]["median"] == pytest.approx(0.05)
    assert m["causes"]["success"] == {"count": 4, "share": pytest.approx(400 / 7)}
    assert {k: v["count"] for k, v in m["causes"].items()} == {"collision": 1, "empty": 1, "slipped": 1, "success": 4}
    assert {k: v["count"] for k, v in m["end_reasons"].items()} == {"cleared": 1, "failures": 2, "no_grasp": 1}
    assert m["end_reasons"]["failures"]["share"] == pytest.approx(50.0)


def test_numbers_agree_with_bench_metrics_and_summary(report, runs):
    _, _, data, _ = report
    m = entry(data, "topdown", "pile/side/none")["metrics"]
    summary = json.loads((runs["complete"] / runner.SUMMARY_FILE).read_text())
    rounds = [vars(r) for r in A_ROUNDS]
    expected = compute_metrics(rounds, [g for r in A_ROUNDS for g in r.grasps])
    for key in ("gsr", "gsr_std", "dr", "dr_std", "gsr_pooled", "dr_pooled", "attempts", "successes", "objects"):
        assert m[key] == pytest.approx(expected[key]) == pytest.approx(summary[key])
    assert m["per_seed"] == summary["per_seed"]


def test_partial_runs_are_flagged(report, runs):
    _, readme, data, _ = report
    by_path = {r["path"]: r for r in data["runs"]}
    assert not by_path[str(runs["complete"])]["partial"]
    part = by_path[str(runs["partial"])]
    assert part["partial"] and part["source"] == "round files" and part["rounds_stored"] == 1
    assert part["rounds_expected"] == 3
    e = entry(data, "vgn:vgn_conv", "packed/side/dex")
    assert e["partial"] and e["metrics"]["gsr"] == 100.0 and e["metrics"]["dr"] == pytest.approx(40.0)
    resumed = by_path[str(runs["resumed"])]
    assert resumed["partial"] and resumed["source"] == "round files" and resumed["rounds_stored"] == 2
    assert entry(data, "td-resumed", "pile/side/dex")["metrics"]["attempts"] == 2
    empty = by_path[str(runs["empty"])]
    assert empty["partial"] and empty["rounds_stored"] == 0 and "no rounds yet" in empty["notes"]
    m = entry(data, "topdown", "pile/side/blur")["metrics"]
    assert m["gsr"] is None and m["planning_time"]["median"] is None and m["rounds"] == 0
    text = readme.read_text()
    assert "**Partial runs**" in text and str(runs["partial"]) in text
    assert "| topdown | pile/side/none | 2 | 4 | 7 | 40.0 ± 56.6 | 40.0 ± 56.6 | 400 | complete |" in text


def test_one_seed_shows_no_spread_and_every_figure_its_sample_size(report):
    _, readme, data, _ = report
    text = readme.read_text()
    # seeds, rounds, grasps; one seed: no "± 0.0", in the table nor in report.json
    assert ("| vgn:vgn_conv | packed/side/dex | 1 | 1 | 2 | 100.0 ± n/a (1 seed) | 40.0 ± n/a (1 seed) | 100 | "
            "partial |") in text
    assert "± 0.0" not in text
    m = entry(data, "vgn:vgn_conv", "packed/side/dex")["metrics"]
    assert m["gsr_std"] is None and m["dr_std"] is None and m["gsr_seeds"] == 1
    assert entry(data, "topdown", "pile/side/none")["metrics"]["gsr_seeds"] == 2
    figures = [line for line in text.splitlines() if line.startswith("![") and "extras/" not in line]
    assert len(figures) == 4 + 3
    lines = text.splitlines()
    for figure in figures:  # the sample size right under every figure
        after = lines[lines.index(figure) + 2]
        assert after.startswith("Sample size: "), (figure, after)
    assert "vgn:vgn_conv | packed/side/dex: 1 seed, 1 round, 2 grasps" in text
    assert "topdown | pile/side/none: 2 seeds, 4 rounds, 7 grasps" in text


def test_links_are_relative_to_the_report(report, runs):
    out, readme, data, _ = report
    text = readme.read_text()
    for run in data["runs"]:
        assert not Path(run["link"]).is_absolute()
        assert (out / run["link"]).resolve() == Path(run["path"]).resolve()
        assert f"[`{run['path']}`]({run['link']})" in text
    for link in re.findall(r"\]\(([^)]+)\)", text):  # figures, extras, report.json and runs, from the report
        assert (out / link).exists(), link


def test_notes_and_sparse_objects(runs, tmp_path):
    readme = write_report([runs["partial"]], tmp_path / "rep", notes=["**A smoke run**: 1 round."])
    text = readme.read_text()
    assert "> **A smoke run**: 1 round." in text.split("| planner")[0]  # above the table
    data = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert data["notes"] == ["**A smoke run**: 1 round."]
    # object "c": 2 attempts < 5: no rate per object, but the counts one by one
    assert data["objects"]["vgn:vgn_conv"]["sparse"] == [{"object": "c", "attempts": 2, "successes": 2}]
    assert "Every object was attempted fewer than 5 times" in text and "| c | 2 | 2 |" in text


def test_objects_fold_and_unattributed_failures(report):
    _, _, data, _ = report
    table = data["objects"]["topdown"]  # runs "complete" and "empty"
    assert table["objects"][0] == {"object": "a", "attempts": 3, "successes": 3, "rate": 100.0}
    assert table["objects"][1]["object"].startswith("other (1 object <") and table["objects"][1]["attempts"] == 1
    assert table["unattributed_failures"] == 3 and not table["rates_meaningful"]
    named = object_table([{"object_name": "x", "label": 1}, {"object_name": "x", "label": 0},
                          {"object_name": "y", "label": 0}], min_attempts=2)
    assert named["rates_meaningful"] and named["objects"][0] == {"object": "x", "attempts": 2, "successes": 1,
                                                                  "rate": 50.0}
    # target_name (every attempt, new runs) wins over object_name (successes only)
    targeted = object_table([{"target_name": "x", "object_name": "x", "label": 1},
                             {"target_name": "x", "object_name": "", "label": 0},
                             {"target_name": "y", "object_name": "", "label": 0}], min_attempts=1)
    assert targeted["rates_meaningful"] and targeted["unattributed_failures"] == 0
    assert [(r["object"], r["attempts"], r["rate"]) for r in targeted["objects"]] == [("x", 2, 50.0), ("y", 1, 0.0)]


def test_figures_are_valid_pngs_linked_from_the_readme(report):
    out, readme, data, _ = report
    text = readme.read_text()
    names = [data["figures"][k] for k in ("rates", "latency", "causes", "end_reasons")]
    names += list(data["figures"]["objects"].values())
    assert len(names) == 4 + 3  # three planner labels
    for name in names:
        path = out / name
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with Image.open(path) as im:
            im.verify()
        with Image.open(path) as im:
            assert im.size[0] > 100 and im.size[1] > 100
            assert np.asarray(im.convert("L")).std() > 0  # not a blank canvas
        assert f"]({name})" in text


def test_extras_are_copied_and_linked(report):
    out, readme, data, _ = report
    text = readme.read_text()
    assert "## Scene snapshots" in text
    assert "![snap](extras/Scene_snapshots/snap.png)" in text
    assert "[viewer.html](extras/Scene_snapshots/viewer.html)" in text
    assert (out / "extras" / "Scene_snapshots" / "snap.png").is_file()
    assert data["extras"] == [{"title": "Scene snapshots", "files": ["extras/Scene_snapshots/snap.png",
                                                                     "extras/Scene_snapshots/viewer.html"]}]


def test_output_is_deterministic(report, tmp_path):
    out, _, _, dirs = report
    extras_src = out / "extras" / "Scene_snapshots"
    again = tmp_path / "rep"  # as deep below the runs' folders as the first: the same relative links
    write_report(dirs, again, labels={str(dirs[2]): "td-resumed"}, min_attempts=2,
                 extras=[("Scene snapshots", [extras_src / "snap.png", extras_src / "viewer.html"])])
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        assert (again / path.relative_to(out)).read_bytes() == path.read_bytes(), path.name


def test_same_label_and_cell_merge_unless_seeds_overlap(runs, tmp_path):
    other = make_run(tmp_path / "other", [result(2, 0, 4, [(1, "success", "a")], "failures")], seeds=[2], rounds=1)
    write_report([runs["complete"], other], tmp_path / "rep")
    data = json.loads((tmp_path / "rep" / "report.json").read_text())
    [e] = data["entries"]
    assert e["metrics"]["seeds"] == [0, 1, 2] and e["metrics"]["gsr"] == pytest.approx((80 + 0 + 100) / 3)
    with pytest.raises(IGDError, match="both hold seed 0"):
        write_report([runs["complete"], runs["complete"]], tmp_path / "rep2")


def test_load_run_reads_csvs_of_a_finished_run(runs):
    run = load_run(runs["complete"])
    assert run.source == "csv" and not run.partial and len(run.rounds) == 4 and len(run.grasps) == 7
    assert run.grasps[0]["label"] == 1 and isinstance(run.grasps[0]["planning_time"], float)


@pytest.fixture
def bad_dirs(tmp_path):
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "summary.json").write_text("{not json")
    stray = tmp_path / "stray"
    stray.mkdir()
    (stray / "notes.txt").write_text("hello")
    bad_csv = tmp_path / "badcsv"
    bad_csv.mkdir()
    (bad_csv / "rounds.csv").write_text("a,b\n1,2\n")
    (bad_csv / "grasps.csv").write_text("a,b\n1,2\n")
    return {"missing": (tmp_path / "nope", "no such run folder"), "corrupt": (corrupt, "summary.json"),
            "stray": (stray, "not a benchmark run"), "badcsv": (bad_csv, "missing columns")}


@pytest.mark.parametrize("kind", ["missing", "corrupt", "stray", "badcsv"])
def test_bad_run_dirs_exit_2_with_one_line(kind, bad_dirs, runs, tmp_path, capsys):
    path, words = bad_dirs[kind]
    code = main(["report", str(runs["complete"]), str(path), "--out", str(tmp_path / "rep")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("igd: error: ")
    assert str(path) in err and words in err


def test_cli_writes_the_report_and_prints_the_table(runs, tmp_path, capsys):
    code = main(["report", str(runs["complete"]), "--out", str(tmp_path / "rep"),
                 "--label", f"{runs['complete']}=mine"])
    out = capsys.readouterr().out
    assert code == 0 and "| mine | pile/side/none | 2 | 4 | 7 | 40.0 ± 56.6 |" in out and "README.md" in out
    assert (tmp_path / "rep" / "README.md").is_file()
    assert main(["report", str(runs["complete"]), "--out", str(tmp_path / "r2"), "--label", "oops"]) == 2
    assert "--label expects RUN_DIR=NAME" in capsys.readouterr().err


def test_help_shows_examples(capsys):
    with pytest.raises(SystemExit) as e:
        main(["report", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "igd report runs/peer_vgn/* --out" in out and "--label" in out
