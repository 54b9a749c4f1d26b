"""The planner contract suite (docs/planners.md, "The contract"): :class:`PlannerContractTest`.

Every registered planner's tests inherit it, one subclass per planner beside that planner's other
tests (diffusers' ``SchedulerCommonTest`` subclassed per scheduler)::

    class TestVGNContract(PlannerContractTest):
        planner_name = "vgn"
        expected_capabilities = {"volumes", "query_points", "training_module"}

``tests/planners/test_contract.py`` fails for a registered planner without such a subclass or without
a tiny configuration (``tests/tiny_planners.py``). The suite runs on the planner's tiny configuration
that detects grasps on the box grid (``detecting_planner``): every check over ``plan()``'s output
first asserts that it holds grasps, so none of them compares empty arrays.
"""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar, FrozenSet

import numpy as np
import pytest

from igd.constants import MAX_OPENING, RESOLUTION, SIZE, VOXEL_SIZE
from igd.errors import IGDError
from igd.geometry import is_rigid
from igd.planners.base import (
    CAPABILITIES,
    Grasps,
    NotSupported,
    Observation,
    Planner,
    build_config,
    load_planner,
    registry,
)

#: ``Grasps.info`` entries that are wall times (they differ between two runs of the same plan).
TIMINGS = ("planning_time", "time_")


def same_grasps(a: Grasps, b: Grasps) -> None:
    """``a`` and ``b`` are the same grasps, bit for bit, with the same ``info`` apart from timings."""
    np.testing.assert_array_equal(a.poses, b.poses)
    np.testing.assert_array_equal(a.widths, b.widths)
    np.testing.assert_array_equal(a.scores, b.scores)

    def untimed(info):
        return {k: v for k, v in info.items() if not k.startswith(TIMINGS)}

    assert untimed(a.info) == untimed(b.info)


def unit_quaternions(q: np.ndarray, axis: int = -1) -> bool:
    return bool(np.allclose(np.linalg.norm(q, axis=axis), 1.0, atol=1e-4))


def rotation_of(quaternions: np.ndarray) -> np.ndarray:
    """Rotation matrices ``(N, 3, 3)`` of quaternions ``(N, 4)`` (x, y, z, w)."""
    from scipy.spatial.transform import Rotation

    return Rotation.from_quat(quaternions).as_matrix()


class PlannerContractTest:
    """The contract of one planner, ``planner_name``; subclass it as ``Test<Name>Contract``.

    Subclasses set ``planner_name`` (the registry key) and ``expected_capabilities`` (what
    :meth:`Planner.supports` must say), and may set ``config_overrides`` (config fields on top of the
    tiny configuration) or lower ``min_grasps`` for a planner that proposes fewer grasps by design.
    Plans that are compared start from ``reseed(SEED)`` (:meth:`plan`): a planner's random choices are
    a function of its seed, not of what it planned before.
    """

    pytestmark = [pytest.mark.usefixtures("one_thread")]

    planner_name: ClassVar[str]
    expected_capabilities: ClassVar[FrozenSet[str]]
    config_overrides: ClassVar[dict] = {}
    #: The tiny planner detects at least this many grasps on the box grid (2: the order is checked on
    #: distinct scores).
    min_grasps: ClassVar[int] = 2
    SEED: ClassVar[int] = 0

    # ---- building ----
    def make_planner(self, seed: int = 0) -> Planner:
        """The planner's tiny configuration that detects grasps on the box grid, weights from ``seed``."""
        from tiny_planners import detecting_planner  # tests/ (on the path once a test runs)

        return detecting_planner(self.planner_name, seed, **self.config_overrides)

    def plan(self, planner: Planner, grid: np.ndarray, timed: bool = False) -> Grasps:
        """``planner.reseed(SEED)``, then its grasps for ``grid`` (``timed_plan`` with ``timed``)."""
        planner.reseed(self.SEED)
        return (planner.timed_plan if timed else planner.plan)(Observation(grid))

    @pytest.fixture(scope="class")
    def planner(self) -> Planner:
        """One detecting planner for the class (tests that reseed it to another seed build their own)."""
        return self.make_planner()

    @pytest.fixture(scope="class")
    def grasps(self, planner, box_grid) -> Grasps:
        """``plan()`` on the box grid; asserted non-empty here, so no check runs on zero grasps."""
        grasps = self.plan(planner, box_grid)
        assert len(grasps) >= self.min_grasps, (f"{self.planner_name}'s tiny planner detects {len(grasps)} grasp(s) "
                                                f"on the box grid, expected >= {self.min_grasps}")
        return grasps

    # ---- the class ----
    def test_is_registered_and_well_formed(self):
        cls = registry()[self.planner_name]
        assert cls.name == self.planner_name and dataclasses.is_dataclass(cls.config_class)
        assert isinstance(cls.learned, bool) and isinstance(self.make_planner(), cls)

    def test_config_round_trips_through_a_dict(self):
        cls = registry()[self.planner_name]
        for config in (cls.config_class(), self.make_planner().config):
            assert build_config(cls.config_class, dataclasses.asdict(config)) == config
        with pytest.raises(IGDError, match="unknown field"):
            build_config(cls.config_class, {"no_such_field": 1})

    # ---- plan() ----
    def test_plan_detects_grasps_on_the_box(self, grasps):
        assert len(grasps) >= self.min_grasps

    def test_plan_output_schema(self, grasps):
        n = len(grasps)
        assert n > 0
        assert isinstance(grasps, Grasps)
        assert grasps.poses.shape == (n, 4, 4) and grasps.widths.shape == (n,) and grasps.scores.shape == (n,)
        assert grasps.poses.dtype == grasps.widths.dtype == grasps.scores.dtype == np.float64
        assert np.all(np.isfinite(grasps.poses)) and np.all(np.isfinite(grasps.widths))
        assert all(is_rigid(p) for p in grasps.poses), "rotation blocks orthonormal, det 1, last row (0, 0, 0, 1)"
        positions = grasps.poses[:, :3, 3]
        assert np.all(positions >= 0) and np.all(positions <= SIZE), "inside the workspace cube"
        assert np.all(grasps.widths > 0) and np.all(grasps.widths <= MAX_OPENING + 1e-9)
        assert np.all(grasps.scores >= 0) and np.all(grasps.scores <= 1)

    def test_plan_output_follows_the_declared_postprocessing(self, planner, grasps):
        """A planner that declares ``postprocess`` keeps what it says: widths in range, scores above the
        threshold (unless forced), grasps on the voxel lattice inside the zeroed borders."""
        post = planner.postprocess
        assert (post is not None) == planner.supports("volumes"), "post-processing belongs to the dense planners"
        if post is None:
            return
        assert len(grasps) > 0
        assert np.all(grasps.widths >= post.min_width) and np.all(grasps.widths <= post.max_width)
        if not grasps.info.get("forced"):
            assert np.all(grasps.scores >= post.threshold)
        index = grasps.poses[:, :3, 3] / VOXEL_SIZE
        np.testing.assert_allclose(index, np.rint(index), atol=1e-6)
        i, j, k = np.rint(index).astype(int).T
        for axis in (i, j):
            assert np.all(axis >= post.border_xy) and np.all(axis < RESOLUTION - post.border_xy)
        assert np.all(k >= post.border_z)

    def test_plan_sorts_best_first(self, grasps):
        assert len(grasps) >= self.min_grasps
        assert np.all(np.diff(grasps.scores) <= 0), "sorted by score, best first"
        if self.min_grasps > 1:
            assert len(np.unique(grasps.scores)) > 1, "distinct scores, so the order is checked"

    def test_nothing_observed_gives_no_grasps(self, planner, box_grid):
        assert len(planner.plan(Observation(np.zeros_like(box_grid)))) == 0

    def test_timed_plan_is_plan_and_its_time(self, planner, grasps, box_grid):
        timed = self.plan(planner, box_grid, timed=True)
        assert len(timed) > 0
        same_grasps(timed, grasps)
        t = timed.info["planning_time"]
        assert isinstance(t, float) and 0 <= t < 60

    # ---- determinism ----
    def test_the_same_seed_builds_the_same_planner(self, grasps, box_grid):
        again = self.plan(self.make_planner(), box_grid)
        assert len(again) > 0
        same_grasps(again, grasps)

    def test_reseed_is_deterministic(self, box_grid):
        """The same seed gives the same grasps, whatever was planned in between (the benchmark's per-round
        seed); another seed may give others (not asserted: planners without random choices ignore it)."""
        planner = self.make_planner()
        planner.reseed(5)
        first = planner.plan(Observation(box_grid))
        assert len(first) > 0
        planner.reseed(6)
        assert len(planner.plan(Observation(box_grid))) > 0
        planner.reseed(5)
        same_grasps(first, planner.plan(Observation(box_grid)))
        fresh = self.make_planner()
        fresh.reseed(5)
        same_grasps(first, fresh.plan(Observation(box_grid)))

    # ---- checkpoints ----
    def test_save_and_load_round_trip_exactly(self, planner, grasps, box_grid, tmp_path):
        import torch

        from igd.api import load

        path = planner.save_pretrained(tmp_path / f"{self.planner_name}.pt")
        cls = registry()[self.planner_name]
        loaded = {"from_pretrained": cls.from_pretrained(path), "from_weights": cls.from_weights(path),
                  "load_planner": load_planner(self.planner_name, weights=path), "igd.load": load(str(path)).planner}
        state = planner.state_dict()
        for how, again in loaded.items():
            assert type(again) is cls and again.config == planner.config, how
            assert again.state_dict().keys() == state.keys(), how
            for key, value in state.items():
                assert torch.equal(again.state_dict()[key], value), (how, key)
            out = self.plan(again, box_grid)
            assert len(out) > 0, how
            same_grasps(out, grasps)

    def test_learned_planners_need_weights(self):
        cls = registry()[self.planner_name]
        if cls.learned:
            with pytest.raises(IGDError, match="needs --weights"):
                load_planner(self.planner_name)
        else:
            assert isinstance(load_planner(self.planner_name), cls)

    def test_checkpoint_of_another_planner_raises(self, tmp_path):
        from tiny_planners import tiny_planner

        others = sorted(n for n in registry() if n != self.planner_name)
        assert others, "the registry holds other planners"
        for other in others:
            path = tiny_planner(other).save_pretrained(tmp_path / f"{other}.pt")
            with pytest.raises(IGDError, match=f"checkpoint is for planner '{other}'"):
                registry()[self.planner_name].from_pretrained(path)
            with pytest.raises(IGDError, match=other):
                load_planner(self.planner_name, weights=path)

    @pytest.mark.parametrize("fraction", [0.0, 0.5, 0.95])
    def test_truncated_checkpoint_raises(self, planner, tmp_path, fraction):
        path = planner.save_pretrained(tmp_path / "full.pt")
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * fraction)])
        with pytest.raises(IGDError, match="truncated or not a checkpoint"):
            registry()[self.planner_name].from_pretrained(path)
        with pytest.raises(IGDError):
            load_planner(self.planner_name, weights=path)

    def test_missing_checkpoint_raises(self, tmp_path):
        with pytest.raises(IGDError, match="not found"):
            load_planner(self.planner_name, weights=tmp_path / "missing.pt")

    # ---- capabilities ----
    def test_capabilities_are_the_expected_ones(self):
        cls = registry()[self.planner_name]
        assert cls.capabilities == set(self.expected_capabilities)
        assert cls.capabilities <= set(CAPABILITIES)
        assert all(cls.supports(c) == (c in cls.capabilities) for c in CAPABILITIES)
        assert cls.supports("training_module") == cls.learned, "a learned planner is what igd train trains"

    def test_unsupported_capabilities_refuse_in_one_line(self, planner, box_grid):
        calls = _capability_calls(planner, box_grid)
        assert set(calls) == set(CAPABILITIES), "a new capability adds its call to _capability_calls"
        for capability, call in calls.items():
            if planner.supports(capability):
                continue
            with pytest.raises(NotSupported, match=f"^planner '{self.planner_name}' has no .*{capability}") as e:
                call()
            assert "\n" not in str(e.value)
            with pytest.raises(NotSupported, match="igd evaluate"):
                planner.require(capability, purpose="igd evaluate needs it")

    def test_volumes_are_what_plan_read(self, planner, grasps, box_grid):
        """The grasps lie on voxels of :meth:`volumes`, with its orientation and width there."""
        if not planner.supports("volumes"):
            return
        qual, rot, width = planner.volumes(box_grid)
        assert qual.shape == (40, 40, 40) and rot.shape == (4, 40, 40, 40) and width.shape == (40, 40, 40)
        assert np.all(qual >= 0) and np.all(qual <= 1) and np.all(np.isfinite(width))
        assert len(grasps) > 0
        i, j, k = np.rint(grasps.poses[:, :3, 3] / VOXEL_SIZE).astype(int).T
        assert np.all(qual[i, j, k] > 0)
        assert unit_quaternions(rot[:, i, j, k], axis=0)
        np.testing.assert_allclose(rotation_of(rot[:, i, j, k].T.astype(np.float64)), grasps.poses[:, :3, :3],
                                   atol=1e-6)
        np.testing.assert_array_equal(width[i, j, k], grasps.widths)

    def test_query_points(self, planner, grasps, box_grid):
        if not planner.supports("query_points"):
            return
        assert len(grasps) > 0
        pred = planner.query_points(box_grid, grasps.poses[:, :3, 3])
        n = len(grasps)
        assert pred.qual.shape == (n,) and pred.quat.shape == (n, 4) and pred.width.shape == (n,)
        assert np.all(pred.qual >= 0) and np.all(pred.qual <= 1) and unit_quaternions(pred.quat)
        assert np.all(np.isfinite(pred.width))

    def test_affordance(self, planner, box_grid):
        if not planner.supports("affordance"):
            return
        aff = planner.affordance(box_grid)
        assert aff.shape == (40, 40, 40) and np.all(aff >= 0) and np.all(aff <= 1) and np.any(aff > 0)

    def test_sample_trajectories(self, planner, grasps, box_grid):
        if not planner.supports("sample_trajectories"):
            return
        assert len(grasps) > 0
        point = grasps.poses[0, :3, 3]
        paths = planner.sample_trajectories(box_grid, point, n=3, seed=1)
        assert paths.ndim == 3 and paths.shape[0] >= 2 and paths.shape[1:] == (3, 4)
        assert unit_quaternions(paths)
        np.testing.assert_array_equal(paths, planner.sample_trajectories(box_grid, point, n=3, seed=1))

    def test_pose_trajectories(self, planner, box_grid):
        if not planner.supports("pose_trajectories"):
            return
        paths = planner.pose_trajectories(box_grid, n=3, seed=1)
        assert paths.ndim == 4 and paths.shape[0] >= 2 and paths.shape[1:] == (3, 4, 4)
        assert np.all(np.isfinite(paths)) and all(is_rigid(p) for p in paths.reshape(-1, 4, 4))
        np.testing.assert_array_equal(paths, planner.pose_trajectories(box_grid, n=3, seed=1))

    # ---- training ----
    def test_one_training_step(self, request, tmp_path):
        """One step on a tiny batch of the processed tiny root, built by the training loop's dataset code:
        the loss is finite, gradients reach every part of the network, an optimiser step changes exactly
        the weights they reach."""
        import torch
        from tiny_planners import tiny_fields, tiny_planner

        planner = tiny_planner(self.planner_name)
        if not planner.learned:
            with pytest.raises(NotSupported, match="igd train cannot train it"):
                planner.training_module()
            return
        tiny_root = request.getfixturevalue("tiny_root")  # built only for the planners that train
        from igd.data.datasets import collate
        from igd.train import TrainConfig
        from igd.train.loop import build_datasets

        config = TrainConfig(planner=self.planner_name, data=[str(tiny_root.root)], out=str(tmp_path / "run"),
                             grasps_per_scene=4 if planner.scene_batched_training else 0, occ_points=64,
                             planner_config=tiny_fields(self.planner_name))
        dataset = build_datasets(config, planner, "train")
        batch = collate([dataset[i] for i in range(2)])
        assert batch["label"].sum() > 0, "the batch holds positives: every loss term is active"
        net = planner.training_module().train()
        params = dict(net.named_parameters())
        before = {name: p.detach().clone() for name, p in params.items()}
        loss, metrics = net.loss(batch)
        assert loss.ndim == 0 and torch.isfinite(loss), float(loss)
        assert metrics and all(math.isfinite(v) for v in metrics.values()), metrics
        loss.backward()
        assert all(torch.isfinite(p.grad).all() for p in params.values() if p.grad is not None)
        # Not every tensor: a zero-initialised layer (GIGA's residual blocks) stops its input layer's gradient
        # on the first step, and a bias the softmax cancels (IGD's key projections) is left out of the graph.
        flowing = {name for name, p in params.items() if p.grad is not None and p.grad.abs().sum() > 0}
        parts = {name.split(".")[0] for name in params}
        dead = sorted(part for part in parts if not any(name.split(".")[0] == part for name in flowing))
        assert not dead, f"no gradient reaches {dead}"
        assert len(flowing) >= len(params) / 2, f"no gradient reaches most of {sorted(set(params) - flowing)}"
        torch.optim.Adam(net.parameters(), lr=1e-3).step()
        changed = {name for name, p in params.items() if not torch.equal(p.detach(), before[name])}
        assert changed == flowing, "the step moves exactly the weights a gradient reached"


def _capability_calls(planner: Planner, grid: np.ndarray) -> dict:
    """A call of every capability of :data:`CAPABILITIES` on ``grid``."""
    point = np.full(3, 0.15)
    return {"volumes": lambda: planner.volumes(grid),
            "query_points": lambda: planner.query_points(grid, np.full((2, 3), 0.15)),
            "affordance": lambda: planner.affordance(grid),
            "sample_trajectories": lambda: planner.sample_trajectories(grid, point, n=2),
            "pose_trajectories": lambda: planner.pose_trajectories(grid, n=2),
            "training_module": planner.training_module}
