"""GSR, DR, per-seed statistics and the printed table, on hand-built rows."""

import math

import pytest

from igd.bench.metrics import compute_metrics, format_summary


def _grasp(seed, label, cause=None, planning=0.01, integration=0.02):
    return {"seed": seed, "label": label, "cause": cause or ("success" if label else "collision"),
            "planning_time": planning, "integration_time": integration}


@pytest.fixture
def rows():
    # seed 0: two rounds of 5 objects; 3 of 4 grasps succeed. seed 1: one round of 4 objects with
    # 1 of 2 grasps, and one empty round (3 objects, no grasp: the planner found nothing).
    rounds = [{"seed": 0, "round_id": 0, "object_count": 5, "end_reason": "failures"},
              {"seed": 0, "round_id": 1, "object_count": 5, "end_reason": "failures"},
              {"seed": 1, "round_id": 0, "object_count": 4, "end_reason": "failures"},
              {"seed": 1, "round_id": 1, "object_count": 3, "end_reason": "no_grasp"}]
    grasps = [_grasp(0, 1), _grasp(0, 1), _grasp(0, 0, "slipped"), _grasp(0, 1, planning=0.05),
              _grasp(1, 0), _grasp(1, 1, integration=0.04)]
    return rounds, grasps


def test_per_seed_and_pooled(rows):
    m = compute_metrics(*rows)
    assert m["per_seed"]["0"] == {"gsr": 75.0, "dr": 30.0, "attempts": 4, "successes": 3, "objects": 10, "rounds": 2}
    assert m["per_seed"]["1"]["gsr"] == 50.0
    assert m["per_seed"]["1"]["dr"] == pytest.approx(100 / 7)
    assert m["per_seed"]["1"]["objects"] == 7  # the empty round counts its objects
    assert m["gsr"] == pytest.approx(62.5)
    assert m["gsr_std"] == pytest.approx(math.sqrt(2 * 12.5 ** 2))  # sample std (ddof = 1)
    assert m["dr"] == pytest.approx((30 + 100 / 7) / 2)
    assert m["gsr_pooled"] == pytest.approx(400 / 6)
    assert m["dr_pooled"] == pytest.approx(400 / 17)
    assert (m["attempts"], m["successes"], m["objects"], m["objects_total"], m["rounds"]) == (6, 4, 17, 17, 4)
    assert m["causes"] == {"collision": 1, "slipped": 1, "success": 4}
    assert m["end_reasons"] == {"failures": 3, "no_grasp": 1}
    assert m["planning_time_mean"] == pytest.approx((5 * 0.01 + 0.05) / 6)
    assert m["planning_time_median"] == pytest.approx(0.01)
    assert m["integration_time_median"] == pytest.approx(0.02)


def test_one_seed_has_zero_std(rows):
    rounds, grasps = rows
    m = compute_metrics(rounds[:2], grasps[:4])
    assert (m["gsr"], m["gsr_std"], m["dr"], m["dr_std"]) == (75.0, 0.0, 30.0, 0.0)


def test_no_attempts_is_undefined_not_zero():
    m = compute_metrics([{"seed": 3, "object_count": 5}], [])
    assert m["gsr"] is None and m["gsr_std"] is None and m["gsr_pooled"] is None
    assert m["dr"] == 0.0 and m["per_seed"]["3"]["dr"] == 0.0
    assert m["planning_time_mean"] is None
    assert "n/a" in format_summary(m)


def test_format_summary_table(rows):
    summary = compute_metrics(*rows)
    summary.update(planner="vgn", scene="pile", object_set="pile/test", noise="dex", views="side",
                   seeds=[0, 1], rounds_per_seed=2, wall_time=12.0)
    text = format_summary(summary)
    lines = text.splitlines()
    assert lines[0].startswith("vgn on pile (pile/test), noise dex, views side: 2 seed(s) x 2 round(s)")
    assert any(line.startswith("mean ± std") and "62.5 ± 17.7" in line for line in lines)
    assert any(line.startswith("0 ") and "75.0" in line and "30.0" in line for line in lines)
    header = next(line for line in lines if line.startswith("seed"))
    seed_row = next(line for line in lines if line.startswith("0 "))
    assert len(header) == len(seed_row)  # aligned columns
    assert "planning time" in text and "20.0 ms" in text and "success 4" in text
