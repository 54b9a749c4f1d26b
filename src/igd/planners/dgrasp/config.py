"""Configuration of the dGrasp planner: the value network Ψ, its training losses and the gradient-ascent policy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

from igd.configs import check_bool, check_choice, check_int, check_number
from igd.planners.common.config import ImplicitConfig

__all__ = ["ASCENT_MODES", "DGraspConfig", "ROTATIONS"]

ROTATIONS = ("quat", "sixd")
ASCENT_MODES = ("sequential", "synchronous")
#: The paper's numbers of random negative poses per demonstration: without / with the auxiliary loss.
PAPER_NEGATIVES = {False: 512, True: 64}

_SIZES = (("features", 1, 1024), ("unet_depth", 1, 4), ("unet_filters", 1, 1024), ("gripper_points", 1, 1024),
          ("point_hidden", 1, 4096), ("hidden", 1, 4096), ("occ_hidden", 1, 4096), ("occ_blocks", 1, 64),
          ("initial_poses", 1, 1 << 20), ("position_steps", 0, 10_000), ("rotation_steps", 0, 10_000),
          ("max_grasps", 1, 100_000), ("aux_path_poses", 1, 1024), ("aux_near_poses", 0, 1024))
_NUMBERS = (("position_lr", 0.0, 10.0), ("rotation_lr", 0.0, 10.0), ("nms_distance", 0.0, 0.3),
            ("aux_weight", 0.0, 1e3), ("aux_gap", 0.01, 1.0), ("aux_position_radius", 0.0, 0.1),
            ("aux_rotation_radius", 0.0, 3.2), ("approach_distance", 0.0, 0.2))


@dataclass
class DGraspConfig(ImplicitConfig):
    """dGrasp (see ``planners/dgrasp/README.md``). ``threshold`` applies to the score ``exp(Ψ − max Ψ)`` (0: every
    grasp the ascent ends on is kept; the best is executed); ``chunk_size`` is poses per pass of the ascent;
    ``precision`` autocasts the ascent; ``plane_mapping`` is the encoder's; ``width_unit`` is unused (no width head).
    """

    threshold: float = 0.0
    """Keep grasps whose score ``exp(Ψ − max Ψ)`` (1 for the best pose of the plan) reaches this, in [0, 1]
    (0: all; the policy executes the best)."""

    # ---- the network ----
    features: int = 32
    """Channels C of each feature plane of the tri-plane encoder (a point's feature has 3·C)."""
    unet_depth: int = 3
    """Levels of the plane U-Net (1 to 4)."""
    unet_filters: int = 32
    """Channels of the U-Net's first level."""
    gripper_points: int = 30
    """Points of the gripper box (``planners/common/gripper_points.py``) where Ψ reads the scene around a pose."""
    gripper_seed: int = 0
    """Seed of those points (part of the network's definition)."""
    point_hidden: int = 32
    """Width of the per-point MLP (feature ⊕ point coordinates → hidden, ELU, twice)."""
    hidden: int = 128
    """Width of the MLP on the flattened per-point codes (→ hidden → hidden → Ψ, ELU)."""
    occ_hidden: int = 32
    """Width of the occupancy head (GIGA's LocalDecoder), trained jointly so the encoder learns geometry."""
    occ_blocks: int = 5
    """Residual blocks of the occupancy head."""
    rotation: Literal["quat", "sixd"] = "quat"
    """Rotation part of the pose p that Ψ reads and the ascent moves: 'quat' (x, y, z, w; renormalised after
    each step) or 'sixd' (the first two columns of the rotation matrix; re-orthonormalised after each step)."""

    # ---- the policy (gradient ascent on Ψ) ----
    ascent: Literal["sequential", "synchronous"] = "sequential"
    """'sequential': ``position_steps`` steps on the position, then ``rotation_steps`` on the rotation;
    'synchronous': ``synchronous_steps`` steps on both at once."""
    initial_poses: int = 1024
    """Random initial poses (positions near the observed surface, rotations uniform). The paper's 4,096 takes
    about 10 s per plan on one CPU thread (sequential, 32 steps), 1,024 about 2 s (README, "Latency")."""
    position_steps: int = 16
    """Adam steps on the position (sequential mode)."""
    rotation_steps: int = 16
    """Adam steps on the rotation (sequential mode)."""
    synchronous_steps: Optional[int] = None
    """Adam steps on both (synchronous mode); None: ``max(position_steps, rotation_steps)``."""
    position_lr: float = 0.01
    """Adam learning rate of the position, normalised units (× 0.3 m: 0.01 is 3 mm per step at most)."""
    rotation_lr: float = 0.05
    """Adam learning rate of the rotation parameters (quaternion or 6D components)."""
    max_grasps: int = 32
    """Grasps returned after the non-maximum suppression (the benchmark's fallbacks), best first."""
    nms_distance: float = 0.02
    """Non-maximum suppression: a grasp closer than this (metres, TCP positions) to a better one is dropped."""

    # ---- training ----
    aux_loss: bool = True
    """Add the auxiliary slope loss (the paper's contribution) to the softmax cross-entropy."""
    aux_weight: float = 1.0
    """Weight of the auxiliary loss (the paper: equal weight, 1)."""
    negatives: Optional[int] = None
    """Random negative poses per scene against which each demonstration's softmax is taken; None: the
    paper's, 512 without the auxiliary loss and 64 with it."""
    labelled_negatives: bool = False
    """Also put the scene's labelled failed grasps (label-0 rows) into the softmax (not in the paper)."""
    approach_distance: float = 0.05
    """Length of the demonstrated approach: the pre-grasp pose is this far back along the TCP z (metres)."""
    aux_path_poses: int = 4
    """Poses p_t per demonstration, uniform along the approach path."""
    aux_gap: float = 0.2
    """t' − t as a fraction of the path (0.2 of 5 cm: p_{t'} is 1 cm further along)."""
    aux_near_poses: int = 4
    """Poses p_r per demonstration sampled near the path poses (position and orientation perturbed)."""
    aux_position_radius: float = 0.02
    """Standard deviation of the nearby poses' position offset, metres per axis."""
    aux_rotation_radius: float = 0.3
    """Standard deviation of the nearby poses' rotation offset, radians per axis of the rotation vector."""

    def __post_init__(self):
        super().__post_init__()
        for name, lo, hi in _SIZES:
            check_int(self, name, lo, hi)
        check_int(self, "gripper_seed", 0)
        if self.synchronous_steps is not None:
            check_int(self, "synchronous_steps", 0, 10_000)
        if self.negatives is not None:
            check_int(self, "negatives", 1, 1 << 16)
        for name, lo, hi in _NUMBERS:
            check_number(self, name, lo, hi)
        for name in ("aux_loss", "labelled_negatives"):
            check_bool(self, name)
        check_choice(self, "rotation", ROTATIONS)
        check_choice(self, "ascent", ASCENT_MODES)

    @property
    def n_negatives(self) -> int:
        """``negatives``, or the paper's number for this loss (:data:`PAPER_NEGATIVES`)."""
        return self.negatives if self.negatives is not None else PAPER_NEGATIVES[self.aux_loss]

    @property
    def n_synchronous_steps(self) -> int:
        return self.synchronous_steps if self.synchronous_steps is not None else max(self.position_steps,
                                                                                    self.rotation_steps)

    def model_kwargs(self) -> dict:
        """Keyword arguments of :class:`~igd.planners.dgrasp.model.DGraspNet`."""
        return dict(features=self.features, unet_depth=self.unet_depth, unet_filters=self.unet_filters,
                    plane_mapping=self.plane_mapping, n_points=self.gripper_points, points_seed=self.gripper_seed,
                    point_hidden=self.point_hidden, hidden=self.hidden, occ_hidden=self.occ_hidden,
                    occ_blocks=self.occ_blocks, rotation=self.rotation, loss_settings=self)
