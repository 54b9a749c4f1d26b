"""The round loop of docs/benchmark.md ("Protocol") on a scripted simulator and planner (the loop's logic alone).

The real simulator, perception and planner run in ``test_runner.py``.
"""

from types import SimpleNamespace

import numpy as np
import pytest

from igd.bench import clutter_removal
from igd.bench.clutter_removal import (
    GRASP_COLUMNS,
    RoundResult,
    round_seeds,
    run_round,
    seed_planner,
)
from igd.bench.config import BenchConfig
from igd.planners.base import Grasps, Observation


class ScriptedSim:
    """Plays back grasp labels; a success removes one object."""

    def __init__(self, labels):
        self.labels = list(labels)
        self.num_objects = 0
        self.reset_seed = None

    def reset(self, object_count, seed):
        self.num_objects, self.reset_seed = object_count, seed

    def nearest_object(self, point):
        return "box"

    def execute_grasp(self, pose, width=0.08, remove=True, allow_contact=True):
        assert remove and allow_contact
        label = self.labels.pop(0)
        self.num_objects -= int(label)
        return SimpleNamespace(label=label, width=0.03 if label else 0.08,
                               cause="success" if label else "slipped", object_name="box" if label else None)


class OnePlanner:
    def __init__(self, n=1):
        self.n = n
        self.seeds = []

    def reseed(self, seed):
        self.seeds.append(seed)

    def timed_plan(self, observation):
        poses = np.repeat(np.eye(4)[None], self.n, axis=0)
        poses[:, :3, 3] = [0.1, 0.15, 0.1]
        return Grasps(poses, np.full(self.n, 0.05), np.linspace(0.9, 0.5, self.n), {"planning_time": 0.01})


@pytest.fixture
def cfg(tmp_path):
    return BenchConfig("topdown", objects="blocks", rounds=1, seeds=[0], noise="none", workers=1, out=str(tmp_path))


@pytest.fixture
def fake_look(monkeypatch):
    seen = {"calls": 0, "empty_after": None}

    def look(sim, noise, extrinsics, rng, timings):
        seen["calls"] += 1
        if seen["empty_after"] is not None and seen["calls"] > seen["empty_after"]:
            return None, 0.002
        return Observation(np.zeros((1, 40, 40, 40), np.float32)), 0.002

    monkeypatch.setattr(clutter_removal, "look", look)
    return seen


@pytest.mark.parametrize("labels, attempts, end", [
    ([True] * 5, 5, "cleared"),
    ([False, False], 2, "failures"),
    ([False, True, False, True, False, False], 6, "failures"),  # a failure after a success does not count twice
    ([True, False, True, True, False, True, True], 7, "cleared"),
])
def test_consecutive_failures_end_the_round(cfg, fake_look, labels, attempts, end):
    sim = ScriptedSim(labels)
    result = run_round(sim, OnePlanner(), cfg, seed=0, round_id=0)
    assert len(result.grasps) == attempts
    assert result.end_reason == end
    assert result.object_count == 5
    assert [row["label"] for row in result.grasps] == [int(x) for x in labels[:attempts]]
    assert sim.reset_seed == round_seeds(0, 0).scene


def test_rows_hold_the_best_grasp(cfg, fake_look):
    result = run_round(ScriptedSim([True] * 5), OnePlanner(n=3), cfg, seed=4, round_id=7)
    row = result.grasps[0]
    assert set(GRASP_COLUMNS) <= set(row)
    assert (row["x"], row["y"], row["z"], row["qw"]) == (0.1, 0.15, 0.1, 1.0)
    assert row["score"] == pytest.approx(0.9) and row["width"] == 0.05
    assert (row["seed"], row["round_id"], row["scene_id"], row["object_name"]) == (4, 7, "s4_r0007_00", "box")
    assert row["integration_time"] == 0.002 and row["planning_time"] == 0.01
    assert row["target_name"] == "box"
    assert RoundResult.from_dict(result.to_dict()) == result


def test_round_files_without_target_names_still_read(cfg, fake_look):
    """Round files written before ``target_name`` existed resume as complete rounds."""
    d = run_round(ScriptedSim([False, False]), OnePlanner(), cfg, seed=0, round_id=0).to_dict()
    for row in d["grasps"]:
        del row["target_name"]
    assert [row["target_name"] for row in RoundResult.from_dict(d).grasps] == ["", ""]


def test_round_ends_when_nothing_found_or_nothing_seen(cfg, fake_look):
    assert run_round(ScriptedSim([]), OnePlanner(n=0), cfg, 0, 0).end_reason == "no_grasp"
    fake_look.update(calls=0, empty_after=2)
    result = run_round(ScriptedSim([True] * 5), OnePlanner(), cfg, 0, 0)
    assert (result.end_reason, len(result.grasps)) == ("nothing_to_see", 2)


def test_round_seeds_are_deterministic_and_distinct():
    a, b = round_seeds(0, 1), round_seeds(0, 1)
    assert a.scene == b.scene and a.planner == b.planner
    assert np.random.default_rng(a.noise).random() == np.random.default_rng(b.noise).random()
    scenes = {round_seeds(s, r).scene for s in range(5) for r in range(20)}
    assert len(scenes) == 100
    assert round_seeds(0, 1).scene != round_seeds(1, 0).scene


def test_seed_planner_reseeds_the_planner_and_the_global_generators():
    """The planner's own ``reseed`` (docs/planners.md, the contract), and NumPy's global generator."""
    planner = OnePlanner()
    seed_planner(planner, 3)
    first = np.random.random()
    seed_planner(planner, 4)
    seed_planner(planner, 3)
    assert planner.seeds == [3, 4, 3] and np.random.random() == first


def test_record_validation():
    with pytest.raises(ValueError):
        RoundResult.from_dict({"format": "other"})
    with pytest.raises(ValueError):
        RoundResult.from_dict({"format": clutter_removal.ROUND_FORMAT, "seed": 0})
