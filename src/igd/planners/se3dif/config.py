"""Configuration of the SE(3)-DiF planner: the energy network's sizes, the loss, the sampler and the ranking."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from igd.configs import check_bool, check_choice, check_int, check_number
from igd.errors import IGDError
from igd.planners.common.config import ImplicitConfig

__all__ = ["LOSSES", "RANKINGS", "REFINES", "SCHEDULE_NAMES", "SE3DiFConfig"]

LOSSES = ("projected", "lie")
RANKINGS = ("energy", "quality")
REFINES = ("none", "motion")
SCHEDULE_NAMES = ("full", "fast")  # igd.lie.langevin.SCHEDULES (not imported: it imports torch)

_INTS = (  # name, lower, upper
    ("features", 1, 1024), ("unet_depth", 1, 4), ("unet_filters", 1, 1024), ("points", 1, 256),
    ("points_seed", 0, 2 ** 31 - 1), ("point_hidden", 1, 4096), ("point_layers", 1, 16), ("point_features", 1, 256),
    ("hidden", 1, 8192), ("time_dim", 4, 256), ("occ_hidden", 1, 4096), ("occ_blocks", 1, 64),
    ("qual_hidden", 1, 4096), ("samples", 1, 65536), ("max_grasps", 1, 65536), ("motion_waypoints", 2, 256),
    ("motion_iterations", 1, 100000), ("seed", 0, 2 ** 63 - 1),
)
_WEIGHTS = ("dsm_weight", "occ_weight", "qual_weight")


@dataclass
class SE3DiFConfig(ImplicitConfig):
    """SE(3)-DiffusionFields conditioned on tri-plane scene features (see ``planners/se3dif/README.md``).

    The inherited ``threshold`` drops grasps whose score is below it (0: keep every sample that survives
    the workspace filter), ``force`` keeps the best one when none passes; ``chunk_size``, ``precision``,
    ``plane_mapping``, ``device`` as :class:`~igd.planners.common.config.ImplicitConfig`'s.
    """

    threshold: float = 0.0
    """Grasps with a score below it are dropped (scores: see ``ranking``), in [0, 1]."""

    # ---- network ----
    features: int = 32
    """Channels C of each feature plane of the tri-plane encoder (c(p) has 3·C)."""
    unet_depth: int = 3
    """Levels of the plane U-Net (1 to 4)."""
    unet_filters: int = 32
    """Channels of the U-Net's first level."""
    points: int = 30
    """Fixed gripper points x_i (TCP frame, uniform in the gripper box) where the energy reads the scene."""
    points_seed: int = 0
    """Seed of the gripper points' draw (part of the network's definition)."""
    point_hidden: int = 64
    """Width of the per-point MLP (shared by the points) on c(H·x_i) ⊕ x_i ⊕ noise embedding."""
    point_layers: int = 2
    """Hidden layers of the per-point MLP."""
    point_features: int = 7
    """Outputs per point of the per-point MLP (the reference: 7), flattened for the energy MLP."""
    hidden: int = 128
    """Width of the MLP from the flattened point features to the energy."""
    time_dim: int = 16
    """Size of the noise-level embedding (even)."""
    occ_hidden: int = 32
    """Width of the occupancy head (a LocalDecoder; our stand-in for the reference's SDF head)."""
    occ_blocks: int = 5
    """Residual blocks of the occupancy head."""
    qual_hidden: int = 32
    """Width of the quality head at a pose (the scorer trained on the negatives; ranking='quality')."""

    # ---- loss ----
    loss: Literal["projected", "lie"] = "projected"
    """Denoising score matching: 'projected' (noise added to Log(H), what the reference trains its
    point-cloud models with) or 'lie' (the paper's Lie-group loss, noise added in the group)."""
    dsm_weight: float = 1.0
    """Weight of the score-matching term."""
    occ_weight: float = 1.0
    """Weight of the occupancy BCE."""
    qual_weight: float = 1.0
    """Weight of the quality head's BCE (positives against the labelled negatives)."""
    symmetric: bool = True
    """Train on every positive and its twin turned by π about the TCP z (the same parallel-jaw grasp)."""

    # ---- sampling and ranking ----
    samples: int = 256
    """Langevin chains per plan(), seeded near the observed surface."""
    schedule: Literal["full", "fast"] = "fast"
    """Langevin schedule: 'full' (SE(3)-DiF's: 70 annealed + 50 noise-free steps, 2 inner; 240 gradients) or
    'fast' (20 + 10 steps, 1 inner; 30 gradients; the default: 55.9 against 51.3 % GSR on the validation
    seeds at a ninth of the planning time, README "Measured")."""
    noise_scale: float = 0.5
    """ν: scale of the noise the Langevin steps inject (the reference's 0.5; 0 makes the chains a gradient
    descent on the annealed energy)."""
    seed_noise: float = 0.02
    """Standard deviation (metres, per axis) of the chains' start positions around surface voxels."""
    ranking: Literal["energy", "quality"] = "energy"
    """How samples are ranked for execution: 'energy' (score = exp(E_min − E), the best 1; the default:
    55.9 against 20.8 % GSR on the validation seeds, README "Measured") or 'quality' (score = the quality
    head's sigmoid, trained on positives against labelled and certain negatives)."""
    max_grasps: int = 64
    """At most this many grasps are returned (best first)."""
    refine: Literal["none", "motion"] = "none"
    """'motion': optimise the best grasp together with an approach path under energy, smoothness and
    collision costs (``se3dif.motion``) and return the optimised grasp first."""
    motion_waypoints: int = 8
    """Waypoints of the approach path of refine='motion' (start and grasp included)."""
    motion_iterations: int = 100
    """Gradient steps of refine='motion'."""
    seed: int = 0
    """Seed of the chains' starts and noise: each plan() draws from a generator reset to it (``reseed``)."""

    def __post_init__(self):
        super().__post_init__()
        for name, lo, hi in _INTS:
            check_int(self, name, lo, hi)
        if self.time_dim % 2:
            raise IGDError(f"SE3DiFConfig.time_dim must be an even int >= 4, got {self.time_dim!r}")
        for name in _WEIGHTS:
            check_number(self, name, 0.0, 1e6)
        check_number(self, "seed_noise", 0.0, 0.3)
        check_number(self, "noise_scale", 0.0, 10.0)
        check_bool(self, "symmetric")
        for name, allowed in (("loss", LOSSES), ("schedule", SCHEDULE_NAMES), ("ranking", RANKINGS),
                              ("refine", REFINES)):
            check_choice(self, name, allowed)

    def model_kwargs(self) -> dict:
        """Keyword arguments of :class:`~igd.planners.se3dif.model.SE3DiFNet`."""
        return dict(features=self.features, unet_depth=self.unet_depth, unet_filters=self.unet_filters,
                    points=self.points, points_seed=self.points_seed, point_hidden=self.point_hidden,
                    point_layers=self.point_layers, point_features=self.point_features, hidden=self.hidden,
                    time_dim=self.time_dim, occ_hidden=self.occ_hidden, occ_blocks=self.occ_blocks,
                    qual_hidden=self.qual_hidden, plane_mapping=self.plane_mapping,
                    loss_settings=dict(loss=self.loss, dsm_weight=float(self.dsm_weight),
                                       occ_weight=float(self.occ_weight), qual_weight=float(self.qual_weight),
                                       symmetric=self.symmetric))
