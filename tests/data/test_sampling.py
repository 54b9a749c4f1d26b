"""Grasp sampling and labelling (docs/data.md, "One scene"): the frame, the sampling rule, the label rule,
and the two protocols on the real simulator (object set 'blocks')."""

import itertools

import numpy as np
import pytest
from scipy import signal

from igd.constants import FINGER_DEPTH, MAX_OPENING
from igd.data.sampling import (
    DEPTH_RANGE,
    YAWS,
    FastLabeller,
    ReferenceLabeller,
    crop_to_valid_volume,
    grasp_frame,
    label_point,
    make_labeller,
    sample_grasp_point,
    widest_run_middle,
)
from igd.errors import IGDError
from igd.geometry import rot_z
from igd.sim.simulation import ClutterRemovalSim, GraspOutcome


# --------------------------------------------------------------------------------------------------
# step 3: the frame
# --------------------------------------------------------------------------------------------------
def test_frame_of_an_upward_normal_is_top_down_with_x_along_world_x():
    m = grasp_frame(np.array([0.0, 0.0, 1.0])).as_matrix()
    np.testing.assert_allclose(m[:, 2], [0, 0, -1], atol=1e-12)  # z = -n: approach straight down
    np.testing.assert_allclose(m[:, 0], [1, 0, 0], atol=1e-12)  # x from world x
    np.testing.assert_allclose(m[:, 1], [0, -1, 0], atol=1e-12)  # y = z × x


def test_frame_takes_world_y_when_the_normal_is_parallel_to_world_x():
    for sign in (1.0, -1.0):
        m = grasp_frame(np.array([sign, 0.0, 0.0])).as_matrix()
        np.testing.assert_allclose(m[:, 2], [-sign, 0, 0], atol=1e-12)
        np.testing.assert_allclose(m[:, 0], [0, 1, 0], atol=1e-12)
        np.testing.assert_allclose(np.cross(m[:, 0], m[:, 1]), m[:, 2], atol=1e-12)


def test_frame_is_right_handed_with_z_minus_n_and_x_in_the_plane_of_world_x():
    rng = np.random.default_rng(0)
    for n in rng.normal(size=(200, 3)):
        n /= np.linalg.norm(n)
        m = grasp_frame(n).as_matrix()
        np.testing.assert_allclose(m.T @ m, np.eye(3), atol=1e-9)
        assert np.linalg.det(m) == pytest.approx(1.0)
        np.testing.assert_allclose(m[:, 2], -n, atol=1e-9)
        # x = y × z with y = z × e_x: x is e_x with its z component removed, normalised
        expected = np.array([1.0, 0, 0]) - n[0] * n
        np.testing.assert_allclose(m[:, 0], expected / np.linalg.norm(expected), atol=1e-9)


# --------------------------------------------------------------------------------------------------
# steps 1-2: the candidate
# --------------------------------------------------------------------------------------------------
def test_sampled_points_have_upward_enough_normals_and_the_depth_offset():
    rng = np.random.default_rng(1)
    points = rng.uniform(0.05, 0.25, size=(400, 3))
    normals = rng.normal(size=(400, 3))
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    normals[:200, 2] = -1.0  # half of them point down: never chosen
    normals[:200, :2] = 0.0
    seen = set()
    for _ in range(300):
        position, normal = sample_grasp_point(points, normals, rng)
        i = int(np.flatnonzero(np.all(normals == normal, axis=1))[0])
        seen.add(i)
        assert normal[2] > -0.1
        d = np.dot(position - points[i], normal)
        assert DEPTH_RANGE[0] <= d <= DEPTH_RANGE[1]
        np.testing.assert_allclose(position, points[i] + d * normal, atol=1e-12)
    assert min(seen) >= 200
    assert DEPTH_RANGE == pytest.approx((-0.005, 0.055))


def test_sampling_from_an_empty_or_downward_cloud_is_an_error():
    rng = np.random.default_rng(0)
    with pytest.raises(IGDError, match="empty cloud"):
        sample_grasp_point(np.zeros((0, 3)), np.zeros((0, 3)), rng)


def test_crop_keeps_the_valid_volume_bounds_included():
    pts = np.array([[0.02, 0.02, 0.055], [0.28, 0.28, 0.30], [0.15, 0.15, 0.05], [0.01, 0.1, 0.1], [0.1, 0.29, 0.1]])
    kept, normals = crop_to_valid_volume(pts, np.tile([0.0, 0.0, 1.0], (5, 1)))
    np.testing.assert_array_equal(kept, pts[:2])
    assert normals.shape == (2, 3)


# --------------------------------------------------------------------------------------------------
# step 5: the label rule
# --------------------------------------------------------------------------------------------------
def test_widest_run_middle_examples():
    assert widest_run_middle([0] * 6) is None
    assert widest_run_middle([1, 0, 0, 0, 0, 0]) == 0
    assert widest_run_middle([0, 1, 1, 0, 0, 0]) == 1  # even run: the lower middle
    assert widest_run_middle([0, 1, 1, 1, 0, 0]) == 2
    assert widest_run_middle([1] * 6) == 2
    assert widest_run_middle([1, 0, 1, 1, 0, 1]) == 2
    assert widest_run_middle([1, 1, 0, 1, 1, 0]) == 0  # ties: the first run
    # no wrap-around: yaws cover [0, π] as a line, like the reference ([4, 5] + [0] would give 5)
    assert widest_run_middle([1, 0, 0, 0, 1, 1]) == 4


def test_widest_run_middle_matches_gigas_find_peaks_on_every_outcome():
    """GIGA: ``peaks, p = find_peaks(np.r_[0, s, 0], height=1, width=1); peaks[argmax(p['widths'])] - 1``."""
    for outcome in itertools.product([0, 1], repeat=6):
        s = np.array(outcome, float)
        if not s.any():
            assert widest_run_middle(outcome) is None
            continue
        peaks, props = signal.find_peaks(np.r_[0, s, 0], height=1, width=1)
        assert widest_run_middle(outcome) == peaks[np.argmax(props["widths"])] - 1, outcome


def test_label_point_stores_the_middle_yaw_with_its_width_or_a_failure():
    frame = grasp_frame(np.array([0.3, -0.2, 0.9]))
    position = np.array([0.1, 0.2, 0.1])
    ok = lambda w: GraspOutcome(True, w, "success")  # noqa: E731
    ko = GraspOutcome(False, MAX_OPENING, "collision")
    point = label_point(position, frame, [ko, ok(0.031), ok(0.032), ok(0.033), ko, ok(0.05)])
    assert point.label == 1 and point.width == 0.032
    np.testing.assert_allclose(point.quat, (frame * rot_z(YAWS[2])).as_quat())
    point = label_point(position, frame, [ko] * 6)
    assert point.label == 0 and point.width == MAX_OPENING
    np.testing.assert_allclose(point.quat, frame.as_quat())
    row = point.row("abc")
    assert row[0] == "abc" and len(row) == 10 and row[-1] == 0
    np.testing.assert_allclose(row[5:8], position)
    assert np.allclose(YAWS, np.linspace(0, np.pi, 6))


# --------------------------------------------------------------------------------------------------
# the protocols on the simulator
# --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sim():
    s = ClutterRemovalSim("packed", "blocks")
    yield s
    s.close()


def lone_block(sim):
    sim.reset(1, seed=0)
    assert sim.num_objects == 1
    return sim.world.get_aabb(next(iter(sim.objects)))


def label_with(sim, protocol, candidates):
    labeller = make_labeller(protocol)
    labeller.begin(sim)
    try:
        return [labeller.label(p, n) for p, n in candidates], labeller.counts
    finally:
        labeller.end()


def test_a_top_down_grasp_on_a_lone_block_is_positive_in_both_protocols(sim):
    lower, upper = lone_block(sim)
    centre = (lower + upper) / 2
    normal = np.array([0.0, 0.0, 1.0])
    # fingertips 2 cm below the top: the grasp position is 3 cm above it (p = point + n·d, d = 0.03)
    candidate = (np.array([centre[0], centre[1], upper[2] + FINGER_DEPTH - 0.02]), normal)
    (ref,), _ = label_with(sim, "reference", [candidate])
    (fast,), counts = label_with(sim, "fast", [candidate])
    assert ref.label == 1 and fast.label == 1
    assert ref.successes == fast.successes
    assert 0.008 < ref.width < MAX_OPENING
    np.testing.assert_allclose(fast.quat, ref.quat)
    assert counts.simulated >= 1


def test_fast_rejects_without_physics_what_cannot_succeed(sim):
    lower, upper = lone_block(sim)
    centre = (lower + upper) / 2
    up = np.array([0.0, 0.0, 1.0])
    in_the_table = (np.array([centre[0] + 0.1, centre[1], 0.06]), up)  # fingertips 4 cm into the table
    in_the_air = (np.array([0.05, 0.05, 0.25]), up)  # nothing between the fingers
    points, counts = label_with(sim, "fast", [in_the_table, in_the_air])
    assert [p.label for p in points] == [0, 0]
    assert counts.simulated == 0 and counts.steps == 0
    assert points[0].causes == ("collision",) * 6 and points[1].causes == ("empty",) * 6
    ref, _ = label_with(sim, "reference", [in_the_table, in_the_air])
    assert [p.causes for p in ref] == [("collision",) * 6, ("empty",) * 6]


def test_fast_labels_equal_the_reference_on_a_small_pile(sim):
    from igd.data.generate import GenerateConfig, build_scene, scene_seed_sequence

    cfg = GenerateConfig(out="unused", scene="packed", objects="blocks", seed=3, workers=1)
    rng = np.random.default_rng(scene_seed_sequence(cfg.seed, 0))
    _, points, normals = build_scene(sim, rng)
    candidates = [sample_grasp_point(points, normals, rng) for _ in range(8)]
    ref, ref_counts = label_with(sim, "reference", candidates)
    fast, fast_counts = label_with(sim, "fast", candidates)
    assert [p.successes for p in fast] == [p.successes for p in ref]
    assert [p.label for p in fast] == [p.label for p in ref]
    for a, b in zip(ref, fast):
        np.testing.assert_allclose(a.position, b.position)
        np.testing.assert_allclose(a.quat, b.quat)
        assert abs(a.width - b.width) < 0.005
    assert fast_counts.steps < ref_counts.steps
    assert isinstance(make_labeller("fast"), FastLabeller) and isinstance(make_labeller("reference"),
                                                                          ReferenceLabeller)
    with pytest.raises(IGDError, match="unknown protocol 'slow'"):
        make_labeller("slow")


def test_the_fast_protocols_approximations_cut_the_lift_and_restore_the_solver(sim):
    from dataclasses import asdict

    from igd.constants import SOLVER_ITERATIONS
    from igd.data.sampling import FAST_V1

    lower, upper = lone_block(sim)
    centre = (lower + upper) / 2
    candidate = (np.array([centre[0], centre[1], upper[2] + FINGER_DEPTH - 0.02]), np.array([0.0, 0.0, 1.0]))
    runs = {}
    for name, options in (("v1", asdict(FAST_V1)), ("now", {})):
        labeller = make_labeller("fast", **options)
        labeller.begin(sim)
        assert sim.world.p.getPhysicsEngineParameters()["numSolverIterations"] == labeller.options.solver_iterations
        (point,) = [labeller.label(*candidate)]
        labeller.end()
        assert sim.world.p.getPhysicsEngineParameters()["numSolverIterations"] == SOLVER_ITERATIONS
        runs[name] = (point, labeller.counts)
    (v1, c1), (now, c2) = runs["v1"], runs["now"]
    assert v1.label == now.label == 1 and v1.successes == now.successes
    assert c2.simulated == c1.simulated >= 1
    assert c2.steps < c1.steps  # each held grasp lifts 4 cm instead of 10


@pytest.mark.parametrize("field, value", [("solver_iterations", 0), ("solver_iterations", 151),
                                          ("solver_iterations", 2.5), ("lift_increments", -1)])
def test_fast_options_out_of_range_are_one_line_errors(field, value):
    from igd.data.sampling import FastOptions

    with pytest.raises(IGDError, match=f"FastOptions.{field} must be"):
        FastOptions(**{field: value})


def test_the_collision_only_hand_labels_the_same_trials_to_the_bit(sim):
    """The hand without visual meshes (``collision_hand``, on by default) is the same body: every
    simulated trial ends the same, widths to the last bit; the labeller puts the sim's hand back."""
    from igd.data.generate import GenerateConfig, build_scene, scene_seed_sequence
    from igd.sim.gripper import hand_urdf_path

    cfg = GenerateConfig(out="unused", scene="packed", objects="blocks", seed=3, workers=1)
    rng = np.random.default_rng(scene_seed_sequence(cfg.seed, 0))
    _, points, normals = build_scene(sim, rng)
    candidates = [sample_grasp_point(points, normals, rng) for _ in range(12)]
    runs = {}
    for collision_hand in (False, True):
        labeller = make_labeller("fast", collision_hand=collision_hand)
        labeller.begin(sim)
        assert sim.gripper.urdf == hand_urdf_path(visual=not collision_hand)
        try:
            runs[collision_hand] = ([labeller.label(p, n) for p, n in candidates], labeller.counts)
        finally:
            labeller.end()
        assert sim.gripper.urdf == hand_urdf_path()  # the benchmark's hand again
    (full, c_full), (bare, c_bare) = runs[False], runs[True]
    assert c_bare.simulated == c_full.simulated >= 3 and c_bare.steps == c_full.steps
    assert any(p.label == 1 for p in full), "a success was simulated"
    for a, b in zip(full, bare):
        assert (a.label, a.successes, a.causes, a.width) == (b.label, b.successes, b.causes, b.width)
        np.testing.assert_array_equal(a.quat, b.quat)
    text = hand_urdf_path(visual=False).read_text()
    assert "<visual" not in text and text.count("<collision") == 3 and text.count("<inertial") == 3
