"""Transform and rotation helpers, checked against SciPy and plain 4x4 algebra."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from igd.geometry import Transform, is_rigid, look_at, quat_angle_sym, rot_z, spherical_eye


def random_tf(rng):
    return Transform(Rotation.random(random_state=rng), rng.normal(size=3))


def test_compose_inverse_apply_match_matrices():
    rng = np.random.default_rng(0)
    a, b = random_tf(rng), random_tf(rng)
    pts = rng.normal(size=(10, 3))
    np.testing.assert_allclose((a * b).as_matrix(), a.as_matrix() @ b.as_matrix(), atol=1e-12)
    np.testing.assert_allclose(a.inverse().as_matrix(), np.linalg.inv(a.as_matrix()), atol=1e-12)
    homo = np.c_[pts, np.ones(10)] @ a.as_matrix().T
    np.testing.assert_allclose(a.apply(pts), homo[:, :3], atol=1e-12)
    np.testing.assert_allclose((a * a.inverse()).as_matrix(), np.eye(4), atol=1e-12)


def test_quaternion_list_roundtrip_is_xyzw():
    rng = np.random.default_rng(1)
    t = random_tf(rng)
    v = t.to_list()
    np.testing.assert_allclose(v[:4], t.rotation.as_quat())  # scipy's order: scalar last
    back = Transform.from_list(v)
    np.testing.assert_allclose(back.as_matrix(), t.as_matrix(), atol=1e-12)
    q90z = Transform.from_quat([0, 0, np.sin(np.pi / 4), np.cos(np.pi / 4)], [0, 0, 0])
    np.testing.assert_allclose(q90z.apply([1.0, 0, 0]), [0, 1.0, 0], atol=1e-12)


def test_from_matrix_rejects_non_rigid():
    m = np.eye(4)
    m[0, 0] = 2.0
    with pytest.raises(ValueError, match="rigid"):
        Transform.from_matrix(m)
    with pytest.raises(ValueError, match="4x4"):
        Transform.from_matrix(np.eye(3))
    assert is_rigid(np.eye(4)) and not is_rigid(m)


def test_look_at_gives_opencv_camera():
    eye, target = np.array([0.15, -0.37, 0.4]), np.array([0.15, 0.15, 0.1])
    T_cam_world = look_at(eye, target)
    # the target lies on the optical axis (+z), the eye at the origin
    np.testing.assert_allclose(T_cam_world.apply(eye), 0, atol=1e-12)
    p = T_cam_world.apply(target)
    assert p[2] > 0 and np.allclose(p[:2], 0, atol=1e-12)
    # world up appears as image "up" = -y in the camera frame
    up_cam = T_cam_world.apply_vector([0, 0, 1.0])
    assert up_cam[1] < 0


def test_spherical_eye_side_view():
    eye = spherical_eye([0.15, 0.15, 0.10], 0.6, np.pi / 3, -np.pi / 2)
    np.testing.assert_allclose(eye, [0.15, 0.15 - 0.6 * np.sin(np.pi / 3), 0.10 + 0.3], atol=1e-12)


def test_symmetric_angle_respects_both_symmetries():
    rng = np.random.default_rng(2)
    r = Rotation.random(random_state=rng)
    q = r.as_quat()
    flipped = (r * rot_z(np.pi)).as_quat()
    assert quat_angle_sym(q, -q) < 1e-7
    assert quat_angle_sym(q, flipped) < 1e-7
    other = (r * rot_z(np.pi / 2)).as_quat()
    assert abs(quat_angle_sym(q, other) - np.pi / 2) < 1e-7
