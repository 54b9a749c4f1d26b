"""The SE(3) toolbox (igd.lie): maps against SciPy, round trips, small and near-π angles, gradients
against finite differences, the Lie-group Gaussian's score, uniform rotations."""

import math

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

import igd.lie as L

D = torch.float64


def _xi(n, seed=0, max_angle=3.1):
    g = torch.Generator().manual_seed(seed)
    xi = torch.randn(n, 6, generator=g, dtype=D)
    angle = torch.rand(n, 1, generator=g, dtype=D) * max_angle
    xi[:, 3:] = xi[:, 3:] / xi[:, 3:].norm(dim=-1, keepdim=True) * angle
    return xi


def test_so3_maps_match_scipy():
    omega = _xi(200)[:, 3:]
    want = Rotation.from_rotvec(omega.numpy()).as_matrix()
    np.testing.assert_allclose(L.so3_exp(omega).numpy(), want, atol=1e-12)
    np.testing.assert_allclose(L.so3_log(torch.as_tensor(want)).numpy(), omega.numpy(), atol=1e-9)
    q = L.rotmat_to_quat(torch.as_tensor(want))
    q_scipy = Rotation.from_matrix(want).as_quat()
    q_scipy[q_scipy[:, 3] < 0] *= -1
    np.testing.assert_allclose(q.numpy(), q_scipy, atol=1e-12)
    np.testing.assert_allclose(L.quat_to_rotmat(q).numpy(), want, atol=1e-12)


def test_se3_exp_is_the_matrix_exponential():
    xi = _xi(20, seed=1)
    v, w = xi[:, :3], xi[:, 3:]
    twist = torch.zeros(20, 4, 4, dtype=D)
    twist[:, :3, :3] = L.hat(w)
    twist[:, :3, 3] = v
    torch.testing.assert_close(L.se3_exp(xi), torch.linalg.matrix_exp(twist), atol=1e-12, rtol=0)


@pytest.mark.parametrize("scale", [1.0, 1e-4, 1e-9, 0.0])
def test_round_trips_including_small_angles(scale):
    xi = _xi(50, seed=2) * scale
    torch.testing.assert_close(L.se3_log(L.se3_exp(xi)), xi, atol=1e-12, rtol=1e-9)
    torch.testing.assert_close(L.log_so3r3(L.exp_so3r3(xi)), xi, atol=1e-12, rtol=1e-9)


def test_near_pi_is_finite_and_inverts():
    for angle in (math.pi - 1e-6, math.pi - 1e-3):
        xi = torch.tensor([[0.3, -0.2, 0.1, 0.0, angle, 0.0]], dtype=D)
        back = L.se3_log(L.se3_exp(xi))
        assert torch.isfinite(back).all()
        torch.testing.assert_close(back, xi, atol=1e-5, rtol=0)


@pytest.mark.parametrize("fn", [L.se3_exp, L.exp_so3r3])
def test_exp_gradients_match_finite_differences_also_at_zero(fn):
    for x in (torch.zeros(2, 6, dtype=D), _xi(3, seed=3), _xi(3, seed=4) * 1e-5):
        assert torch.autograd.gradcheck(fn, (x.clone().requires_grad_(),))


def test_log_gradients_match_finite_differences():
    # gradcheck would perturb all 16 entries of H (off the manifold): check through the chart instead
    xi = _xi(4, seed=5).requires_grad_()
    assert torch.autograd.gradcheck(lambda x: L.se3_log(L.se3_exp(x)), (xi,))
    assert torch.autograd.gradcheck(lambda x: L.log_so3r3(L.exp_so3r3(x)), (xi,))


def test_inverse_and_hat_vee():
    h = L.se3_exp(_xi(10, seed=6))
    eye = torch.eye(4, dtype=D).expand(10, 4, 4)
    torch.testing.assert_close(L.inverse(h) @ h, eye, atol=1e-12, rtol=0)
    w = torch.randn(5, 3, dtype=D)
    torch.testing.assert_close(L.vee(L.hat(w)), w)
    x = torch.randn(5, 3, dtype=D)
    torch.testing.assert_close((L.hat(w) @ x[..., None])[..., 0], torch.cross(w, x, dim=-1))
    assert L.identity((2, 3)).shape == (2, 3, 4, 4)


def test_score_is_the_finite_difference_gradient_of_the_log_density():
    mean = L.se3_exp(_xi(6, seed=7))
    h = L.perturb(mean, 0.4 * torch.randn(6, 6, dtype=D, generator=torch.Generator().manual_seed(8)))
    sigma = 0.7
    score = L.lie_gaussian_score(h, mean, sigma)
    eps = 1e-6
    fd = torch.zeros_like(score)
    for k in range(6):
        e = torch.zeros(6, 6, dtype=D)
        e[:, k] = eps
        up = L.lie_gaussian_log_prob(L.perturb(h, e), mean, sigma)
        down = L.lie_gaussian_log_prob(L.perturb(h, -e), mean, sigma)
        fd[:, k] = (up - down) / (2 * eps)
    torch.testing.assert_close(score, fd, atol=1e-6, rtol=1e-6)
    assert score.abs().max() > 0.1  # not trivially zero


def test_perturb_adds_translation_and_right_multiplies_rotation():
    h = L.se3_exp(_xi(3, seed=9))
    eps = _xi(3, seed=10, max_angle=1.0)
    out = L.perturb(h, eps)
    torch.testing.assert_close(out[:, :3, 3], h[:, :3, 3] + eps[:, :3])
    torch.testing.assert_close(out[:, :3, :3], h[:, :3, :3] @ L.so3_exp(eps[:, 3:]))


def test_random_rotations_are_uniform_and_seeded():
    g = torch.Generator().manual_seed(0)
    r = L.random_rotations(20000, generator=g, dtype=D)
    torch.testing.assert_close(r.transpose(-1, -2) @ r, torch.eye(3, dtype=D).expand(20000, 3, 3), atol=1e-10, rtol=0)
    assert torch.allclose(torch.det(r), torch.ones(20000, dtype=D))
    assert r.mean(0).abs().max() < 0.02  # E[R] = 0 under the Haar measure
    angle = L.so3_log(r).norm(dim=-1).numpy()
    # Haar angle density (1 − cos θ)/π: CDF (θ − sin θ)/π
    for t in (0.5, 1.5, 2.5):
        assert abs((angle < t).mean() - (t - math.sin(t)) / math.pi) < 0.01
    again = L.random_rotations(20000, generator=torch.Generator().manual_seed(0), dtype=D)
    assert torch.equal(r, again)


def test_sixd_round_trip_and_orthonormalisation():
    r = L.random_rotations(50, generator=torch.Generator().manual_seed(1), dtype=D)
    torch.testing.assert_close(L.sixd_to_rotmat(L.rotmat_to_sixd(r)), r, atol=1e-12, rtol=0)
    noisy = L.rotmat_to_sixd(r) + 0.1 * torch.randn(50, 6, dtype=D)
    out = L.sixd_to_rotmat(noisy)
    torch.testing.assert_close(out.transpose(-1, -2) @ out, torch.eye(3, dtype=D).expand(50, 3, 3), atol=1e-10, rtol=0)
    torch.testing.assert_close(out[..., 0], noisy[..., :3] / noisy[..., :3].norm(dim=-1, keepdim=True))


@pytest.mark.parametrize("fn, shape", [(L.se3_exp, (4, 5)), (L.so3_exp, (4, 4)), (L.se3_log, (4, 3, 3)),
                                       (L.sixd_to_rotmat, (4, 3)), (L.quat_to_rotmat, (3,))])
def test_wrong_shapes_are_one_line_errors(fn, shape):
    with pytest.raises(ValueError, match="must have shape"):
        fn(torch.zeros(shape))
