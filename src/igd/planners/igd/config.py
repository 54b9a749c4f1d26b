"""Configuration of the IGD planner: the network's sizes, the loss's settings and how grasps are drawn."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal, Optional

from igd.configs import check_choice, check_int, check_number
from igd.constants import RESOLUTION
from igd.diffusion import DEFAULT_STEPS, NUM_TRAIN_TIMESTEPS, SCHEDULER_KINDS
from igd.errors import IGDError
from igd.planners.common.config import ImplicitConfig

__all__ = ["IGDConfig"]

_REGIONS = ("all", "surface")
_INTS = (  # name, lower, upper
    ("features", 1, 1024), ("hidden", 1, 4096), ("blocks", 1, 64), ("unet_depth", 1, 4), ("unet_filters", 1, 1024),
    ("denoiser_hidden", 1, 8192), ("denoiser_blocks", 1, 64), ("dam_per_axis", 2, 8), ("control_points", 2, 16),
    ("neg_rounds", 0, 1000), ("renoise_tries", 0, 1000), ("ddpm_draws", 1, 64), ("rounds_n", 1, 1000), ("max_points", 1, RESOLUTION ** 3),
    ("seed", 0, 2 ** 63 - 1),
)
_UNIT_FLOATS = ("dropout", "focal_alpha", "gate_threshold")


@dataclass
class IGDConfig(ImplicitConfig):
    """Implicit Grasp Diffusion (see ``planners/igd/README.md``). Defaults: the paper's network and loss,
    GIGA's post-processing protocol, and the fast sampler (DDIM, 10 steps) with N = 1. The post-processing,
    device and inference fields (threshold, force, device, chunk_size, precision, plane_mapping, width_unit)
    are :class:`~igd.planners.common.config.ImplicitConfig`'s."""

    # ---- network (the paper's) ----
    features: int = 32
    """Channels C of each feature plane (c(p) has 3·C = 96)."""
    hidden: int = 32
    """Width of the LocalDecoder heads (affordance, classifier, width, occupancy)."""
    blocks: int = 5
    """Residual blocks per head."""
    unet_depth: int = 3
    """Levels of the plane U-Net (1 to 4)."""
    unet_filters: int = 32
    """Channels of the U-Net's first level."""
    denoiser_hidden: int = 128
    """Width of the diffuser's ε-network."""
    denoiser_blocks: int = 5
    """Residual blocks of the ε-network."""
    time_dim: int = 16
    """Size of the timestep embedding (even, >= 4)."""
    dam_per_axis: int = 2
    """DAM sample points per axis (2: the 8 corners of a one-voxel cube)."""
    control_points: int = 5
    """Control points per side of the Grasp Classifier's sheet (5: L = 25)."""
    dropout: float = 0.1
    """Dropout on the attention weights during training, in [0, 1]."""

    # ---- loss ----
    neg_rounds: int = 10
    """Rounds of jittered / turned negatives: 16 + 8·rounds negatives per grasp (10: the paper's 96)."""
    jitter: float = 0.03
    """Position jitter (standard deviation per axis) of the negatives, metres."""
    focal_alpha: float = 0.5
    """α of the Grasp Classifier's focal loss (the paper's best: 0.5)."""
    focal_gamma: float = 2.0
    """γ of the focal loss (the paper's best: 2)."""
    renoise_tries: int = 20
    """Redraws of a diffusion sample's noise while it lies nearer another symmetric target (0: off)."""

    ddpm_draws: int = 1
    """Noise draws per positive and symmetric target in L_ddpm, each with its own t and ε (1: the paper's).
    The ε-network is cheap beside the encoder and the classifier, so more draws give the diffuser more
    (t, ε) samples of each positive per step at little cost (README: "Training on the CPU")."""
    # ---- inference ----
    sampler: Literal["ddpm", "ddim", "dpm"] = "ddim"
    """Reverse process: 'ddpm' (the paper's, 100 steps), 'ddim' or 'dpm' (DPM-Solver++), the fast ones."""
    steps: Optional[int] = None
    """Reverse steps, 1 to 100 (None: 100 for 'ddpm', 10 for 'ddim' and 'dpm')."""
    rounds_n: int = 1
    """N: orientations drawn per gated point; the one the Grasp Classifier scores best is kept."""
    gate_threshold: float = 0.1
    """Affordance gate: orientations are drawn only where a > this (q = a·v ≤ a below it)."""
    max_points: int = 2000
    """At most this many gated points (the highest affordance first): bounds the sampling cost."""
    gate_region: Literal["all", "surface"] = "surface"
    """Where the affordance is queried and the gate may pick points. 'all': every one of the 40³ voxels
    (the paper's literal procedure); 'surface': the voxels where the post-processing can keep a grasp
    (its surface mask) dilated by one voxel, about 3× faster on the CPU and the gated points' cap is
    not spent where no grasp can come out; q = 0 elsewhere (README: "Inference")."""
    seed: int = 0
    """Seed of the sampling noise: each plan() draws from a generator reset to it (``reseed`` changes it)."""

    def __post_init__(self):
        super().__post_init__()
        for name, lo, hi in _INTS:
            check_int(self, name, lo, hi)
        check_int(self, "time_dim", 4)
        if self.time_dim % 2:
            raise IGDError(f"IGDConfig.time_dim must be an even int >= 4, got {self.time_dim!r}")
        for name in _UNIT_FLOATS:
            check_number(self, name, 0.0, 1.0)
        check_number(self, "jitter", 0.0, 1.0)
        check_number(self, "focal_gamma", 0.0, 100.0)
        check_choice(self, "sampler", SCHEDULER_KINDS)
        check_choice(self, "gate_region", _REGIONS)
        if self.steps is not None and (isinstance(self.steps, bool) or not isinstance(self.steps, int)
                                       or not 1 <= self.steps <= NUM_TRAIN_TIMESTEPS):
            raise IGDError(f"IGDConfig.steps must be None or an int in [1, {NUM_TRAIN_TIMESTEPS}], got {self.steps!r}")

    @property
    def sampler_steps(self) -> int:
        """The reverse steps actually run (``steps`` or the sampler's default)."""
        return DEFAULT_STEPS[self.sampler] if self.steps is None else self.steps

    @property
    def num_negatives(self) -> int:
        """Negatives per grasp of the Grasp Classifier's loss: 16 + 8 · ``neg_rounds`` (96 at 10)."""
        from igd.planners.igd.loss import NEGATIVE_YAWS

        return 4 * len(NEGATIVE_YAWS) + 8 * self.neg_rounds

    def model_kwargs(self) -> dict:
        """Keyword arguments of :class:`~igd.planners.igd.model.IGDNet` (imports torch); the loss reads its
        settings from a copy of this config."""
        settings = dataclasses.replace(self, jitter=float(self.jitter), focal_alpha=float(self.focal_alpha),
                                       focal_gamma=float(self.focal_gamma))
        return dict(features=self.features, hidden=self.hidden, blocks=self.blocks, unet_depth=self.unet_depth,
                    unet_filters=self.unet_filters, denoiser_hidden=self.denoiser_hidden,
                    denoiser_blocks=self.denoiser_blocks, time_dim=self.time_dim, dam_per_axis=self.dam_per_axis,
                    control_points=self.control_points, dropout=float(self.dropout),
                    plane_mapping=self.plane_mapping, loss_settings=settings)
