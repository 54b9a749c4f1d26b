"""The Euclidean schedulers: the paper's forward process, step counts, add_noise, the samplers' end points."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from igd.diffusion import (
    DEFAULT_STEPS,
    SCHEDULER_KINDS,
    make_scheduler,
    scheduler_config,
)
from igd.errors import IGDError


def test_ddpm_is_the_papers_forward_process():
    s = make_scheduler("ddpm")
    cfg = s.inner.config
    assert s.kind == "ddpm" and s.steps == 100 and s.num_train_timesteps == 100
    assert cfg.prediction_type == "epsilon" and cfg.clip_sample and cfg.clip_sample_range == 1.0
    torch.testing.assert_close(s.betas, torch.linspace(1e-4, 0.02, 100))
    torch.testing.assert_close(s.alphas_cumprod, torch.cumprod(1 - torch.linspace(1e-4, 0.02, 100), 0))
    assert float(s.alphas_cumprod[-1]) == pytest.approx(0.36, abs=0.01)  # ᾱ_T: not pure noise
    assert s.set_timesteps().tolist() == list(range(99, -1, -1))


@pytest.mark.parametrize("kind", SCHEDULER_KINDS)
def test_all_kinds_share_the_forward_process(kind):
    s = make_scheduler(kind)
    torch.testing.assert_close(s.alphas_cumprod, make_scheduler("ddpm").alphas_cumprod)
    assert s.steps == DEFAULT_STEPS[kind]
    assert scheduler_config(kind)["num_train_timesteps"] == 100


@pytest.mark.parametrize("kind, steps", [("ddim", 10), ("ddim", 5), ("dpm", 10), ("dpm", 4), ("ddpm", 20)])
def test_step_counts_start_at_the_noisiest_timestep(kind, steps):
    s = make_scheduler(kind, steps)
    timesteps = s.set_timesteps()
    assert len(timesteps) == steps and int(timesteps[0]) == 99
    assert torch.all(timesteps[1:] < timesteps[:-1])
    calls = []
    s.sample(lambda x, t: calls.append(int(t)) or torch.zeros_like(x), (3, 4), torch.Generator().manual_seed(0))
    assert calls == timesteps.tolist()


def test_add_noise_shapes_and_closed_form():
    s = make_scheduler("ddpm")
    g = torch.Generator().manual_seed(0)
    x0, noise = torch.randn(2, 3, 4, 4, generator=g), torch.randn(2, 3, 4, 4, generator=g)
    t = torch.randint(0, 100, (2, 3, 4), generator=g)
    x_t = s.add_noise(x0, noise, t)
    assert x_t.shape == (2, 3, 4, 4)
    a = s.alphas_cumprod[t].unsqueeze(-1)
    torch.testing.assert_close(x_t, a.sqrt() * x0 + (1 - a).sqrt() * noise)
    with pytest.raises(IGDError, match="add_noise"):
        s.add_noise(x0, noise, t[..., :2])


@pytest.mark.parametrize("kind", SCHEDULER_KINDS)
def test_an_oracle_denoiser_recovers_the_sample(kind):
    """ε̂ = the exact noise of x_t about a known x0 (|x0| ≤ 1): every sampler ends on x0."""
    s = make_scheduler(kind)
    x0 = torch.tensor([[0.5, -0.5, 0.5, 0.5], [0.0, 0.0, 0.6, -0.8]])

    def oracle(x, t):
        a = s.alphas_cumprod[t]
        return (x - a.sqrt() * x0) / (1 - a).sqrt()

    out = s.sample(oracle, x0.shape, torch.Generator().manual_seed(0))
    torch.testing.assert_close(out, x0, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("kind", SCHEDULER_KINDS)
def test_predicted_x0_is_clipped(kind):
    """With ε̂ = 0 the predicted x0 is x_t / sqrt(ᾱ_t), large for some points: clipped to [-1, 1]."""
    s = make_scheduler(kind)
    out = s.sample(lambda x, t: torch.zeros_like(x), (256, 4), torch.Generator().manual_seed(0))
    assert out.abs().max() <= 1.0 + 1e-5 and out.abs().max() > 0.99


@pytest.mark.parametrize("kind", SCHEDULER_KINDS)
def test_sampling_is_a_function_of_the_generator(kind):
    s = make_scheduler(kind, 5)

    def eps(x, t):
        return 0.1 * x

    a = s.sample(eps, (8, 4), torch.Generator().manual_seed(3))
    b = s.sample(eps, (8, 4), torch.Generator().manual_seed(3))
    c = s.sample(eps, (8, 4), torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("kind, steps", [("ddim", 0), ("ddpm", 101), ("dpm", 2.5), ("ddim", True), ("euler", 10)])
def test_bad_arguments_raise(kind, steps):
    with pytest.raises(IGDError, match="sampler"):
        make_scheduler(kind, steps)


def test_importing_the_package_does_not_import_diffusers():
    code = "import sys, igd.diffusion; assert 'diffusers' not in sys.modules and 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
