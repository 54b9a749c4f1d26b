"""The simulator: TCP offset, grasp trial outcomes, scenes and determinism (docs/simulator.md).

Uses the tiny generated object set 'blocks' and the real PyBullet simulator.
"""

import numpy as np
import pytest

from igd.constants import FINGER_DEPTH, MAX_OPENING, SIZE, TABLE_HEIGHT, TCP_FROM_LINK
from igd.geometry import Rotation, Transform
from igd.sim.gripper import Gripper
from igd.sim.simulation import ClutterRemovalSim

DOWN = Rotation.from_euler("x", np.pi)  # grasp z (approach) pointing down, world -z


@pytest.fixture
def sim():
    s = ClutterRemovalSim("packed", "blocks")
    yield s
    s.close()


def only_object(sim):
    sim.reset(1, seed=0)
    assert sim.num_objects == 1
    uid = next(iter(sim.objects))
    lower, upper = sim.world.get_aabb(uid)
    return uid, lower, upper


def test_tcp_is_62mm_from_the_hand_link_and_fingertips_50mm_ahead(sim):
    sim.world.reset()
    g = Gripper(sim.world)
    tcp = Transform(DOWN, [0.15, 0.15, 0.2])
    g.reset(tcp)
    p = sim.world.p
    # base (COM) pose is what PyBullet reports; the URDF link frame is 0.04 below it along the hand z
    com = sim.world.get_pose(g.uid)
    link_frame = com * Transform.translation_only([0, 0, -0.04])
    np.testing.assert_allclose(link_frame.translation, tcp.translation - TCP_FROM_LINK * np.array([0, 0, -1.0]),
                               atol=1e-9)
    np.testing.assert_allclose(g.tcp_pose().translation, tcp.translation, atol=1e-9)
    # the fingertips (lowest finger points, since z points down) are 5 cm past the TCP
    lows = [p.getAABB(g.uid, g.joints[n])[0][2] for n in ("panda_finger_joint1", "panda_finger_joint2")]
    assert abs(min(lows) - (0.2 - FINGER_DEPTH)) < 0.006
    assert abs(g.opening() - MAX_OPENING) < 1e-6


def top_down_on(uid, sim, tip_depth):
    """A top-down grasp whose fingertips end ``tip_depth`` below the object's top."""
    lower, upper = sim.world.get_aabb(uid)
    centre = (lower + upper) / 2
    return Transform(DOWN, [centre[0], centre[1], upper[2] - tip_depth + FINGER_DEPTH])


def test_top_down_grasp_succeeds_and_removes_the_object(sim):
    uid, lower, upper = only_object(sim)
    out = sim.execute_grasp(top_down_on(uid, sim, 0.02), remove=True, allow_contact=False)
    assert out.label and out.cause == "success"
    assert 0.008 < out.width < MAX_OPENING
    assert out.object_name is not None
    assert sim.num_objects == 0
    assert sim.gripper.uid is None  # the hand is always removed


def test_nearest_object_names_the_object_at_a_point_and_touches_nothing(sim):
    sim.reset(3, seed=1)
    poses = {uid: sim.world.get_pose(uid).as_matrix() for uid in sim.objects}
    for uid, name in sim.objects.items():
        lower, upper = sim.world.get_aabb(uid)
        assert sim.nearest_object((np.asarray(lower) + np.asarray(upper)) / 2) == sim.objects[uid] == name
    assert sim.nearest_object([0.15, 0.15, 0.6]) in set(sim.objects.values())
    assert all(np.array_equal(sim.world.get_pose(uid).as_matrix(), m) for uid, m in poses.items())
    sim.objects.clear()
    assert sim.nearest_object([0.15, 0.15, 0.1]) is None


def test_grasp_in_free_air_closes_on_nothing(sim):
    only_object(sim)
    out = sim.execute_grasp(Transform(DOWN, [0.02, 0.02, 0.2]), remove=True)
    assert not out.label and out.cause == "empty" and out.width == MAX_OPENING
    assert sim.num_objects == 1


def test_spawning_inside_an_object_is_a_collision(sim):
    uid, lower, upper = only_object(sim)
    centre = (lower + upper) / 2
    # the pre-grasp pose (5 cm back) still puts the fingers through the object
    out = sim.execute_grasp(Transform(DOWN, [centre[0], centre[1], TABLE_HEIGHT + 0.02]), allow_contact=False)
    assert not out.label and out.cause == "collision"


def test_contact_on_approach_fails_only_in_data_generation(sim):
    uid, lower, upper = only_object(sim)
    # rotate the jaw so one finger lands on top of the object: contact on the approach
    centre = (lower + upper) / 2
    pose = Transform(DOWN, [centre[0], upper[1] + 0.035, upper[2] - 0.02 + FINGER_DEPTH])
    state = sim.save_state()
    out_data = sim.execute_grasp(pose, remove=False, allow_contact=False)
    sim.restore_state(state)
    assert not out_data.label and out_data.cause == "collision"


def test_same_seed_same_scene_and_outcome():
    a, b = ClutterRemovalSim("pile", "blocks"), ClutterRemovalSim("pile", "blocks")
    try:
        a.reset(4, seed=7)
        b.reset(4, seed=7)
        pa = [a.world.get_pose(u).as_matrix() for u in a.objects]
        pb = [b.world.get_pose(u).as_matrix() for u in b.objects]
        assert len(pa) == len(pb) > 0
        np.testing.assert_array_equal(np.array(pa), np.array(pb))
        uid = next(iter(a.objects))
        g = top_down_on(uid, a, 0.02)
        assert a.execute_grasp(g) == b.execute_grasp(g)
        a.reset(4, seed=8)
        pc = [a.world.get_pose(u).as_matrix() for u in a.objects]
        assert len(pc) != len(pa) or not np.allclose(np.array(pc), np.array(pa))
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("scene", ["pile", "packed"])
def test_scenes_stay_in_the_workspace(scene):
    s = ClutterRemovalSim(scene, "blocks")
    try:
        s.reset(5, seed=1)
        assert 1 <= s.num_objects <= 5
        for uid in s.objects:
            xyz = s.world.get_pose(uid).translation
            assert np.all(xyz >= 0) and np.all(xyz <= SIZE)
        if scene == "packed":  # objects stand on the table, upright
            for uid in s.objects:
                lower, _ = s.world.get_aabb(uid)
                assert lower[2] < TABLE_HEIGHT + 0.01
    finally:
        s.close()


def test_objects_leaving_the_workspace_are_removed(sim):
    uid, _, _ = only_object(sim)
    sim.world.set_pose(uid, Transform.translation_only([0.5, 0.15, 0.2]))
    sim.remove_and_wait()
    assert sim.num_objects == 0


def test_render_sees_the_table_at_its_height(sim):
    from igd.perception.camera import DEFAULT_INTRINSIC as K
    from igd.perception.camera import side_view_extrinsic

    sim.reset(0, seed=0)
    ext = side_view_extrinsic()
    depth = sim.render(ext)
    assert depth.shape == (K.height, K.width) and depth.dtype == np.float32
    v, u = np.nonzero(depth > 0)
    z = depth[v, u]
    pts_cam = np.stack([(u - K.cx) * z / K.fx, (v - K.cy) * z / K.fy, z], axis=1)
    pts = ext.inverse().apply(pts_cam)
    near = np.linalg.norm(pts[:, :2] - 0.15, axis=1) < 0.15
    assert abs(np.median(pts[near, 2]) - TABLE_HEIGHT) < 0.002
