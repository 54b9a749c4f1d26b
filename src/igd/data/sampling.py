"""Grasp sampling and labelling for self-supervised data (docs/data.md, "One scene"), two protocols.

==============================  ===================================================================
the rule (docs/data.md)         here
==============================  ===================================================================
surface cloud, cropped          :func:`crop_to_valid_volume`, points and normals ``(N, 3)``
1. a point with ``n_z > -0.1``  :func:`sample_grasp_point`
2. ``p = point + n·d``          :func:`sample_grasp_point`, ``d ~ U[-0.005, 0.055]``
3. frame ``z = -n``, x, y       :func:`grasp_frame`
4. six yaws from the state      :data:`YAWS`, :func:`yaw_poses`, a :class:`Labeller` per protocol
5. label, orientation, width    :func:`label_point`, :func:`widest_run_middle`
==============================  ===================================================================

Two protocols label the same candidates:

- ``reference``: every yaw is a full trial (docs/simulator.md, "One grasp trial") from the saved state
  (``ClutterRemovalSim.execute_grasp(remove=False, allow_contact=False)``).
- ``fast``: the same trials, with work that cannot change the outcome skipped (docs/data.md has
  the measured agreement and speed): a yaw whose hand, placed kinematically at the poses the
  simulated approach reaches, penetrates a body fails without simulation (in data generation any
  contact on the approach is a failure); a yaw whose closing region holds nothing fails without
  simulation (the fingers would close on nothing); in the simulated trials the lift is skipped or
  cut short once the opening is at most 8 mm (a failure whatever follows). Two approximations,
  each measured against the reference (``benchmarks/bench_generate.py``; the agreement stays within
  the reference's own repeatability and above 99 %): the simulated trials run 50 solver iterations
  per step instead of 150, and a grasp still holding after 4 cm of the 10 cm lift counts as held.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from igd.constants import FINGER_DEPTH, MAX_OPENING, SOLVER_ITERATIONS, VALID_LOWER, VALID_UPPER
from igd.errors import IGDError
from igd.geometry import Rotation, Transform, rot_z
from igd.sim.gripper import hand_urdf_path
from igd.sim.probe import CLOSING_BOX_CENTRE, probe_world

#: Six yaws about the grasp z axis (docs/data.md, "One scene", step 4).
YAW_COUNT = 6
YAWS = np.linspace(0.0, np.pi, YAW_COUNT)
NORMAL_Z_MIN = -0.1  # step 1: only normals that do not point (much) downwards
DEPTH_RANGE = (-0.1 * FINGER_DEPTH, 1.1 * FINGER_DEPTH)  # step 2: d ~ U[-0.005, 0.055]
PARALLEL_RTOL = 1e-4  # step 3: "world x parallel to z" as GIGA tests it, np.isclose(|x·z|, 1, 1e-4)
MAX_SAMPLE_TRIES = 100_000
PROTOCOLS = ("fast", "reference")


# --------------------------------------------------------------------------------------------------
# steps 1-3: a grasp candidate from the surface cloud
# --------------------------------------------------------------------------------------------------
def crop_to_valid_volume(points: np.ndarray, normals: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Keep the points (N, 3) inside the valid volume ``[0.02, 0.28]² x [0.055, 0.30]``
    (docs/frames.md#conventions-and-fixed-numbers), bounds included as in Open3D's crop; returns
    ``(points (M, 3), normals (M, 3))``."""
    points, normals = np.asarray(points, np.float64), np.asarray(normals, np.float64)
    inside = np.all((points >= VALID_LOWER) & (points <= VALID_UPPER), axis=1)
    return points[inside], normals[inside]


def sample_grasp_point(points: np.ndarray, normals: np.ndarray, rng: np.random.Generator
                       ) -> Tuple[np.ndarray, np.ndarray]:
    """Steps 1-2: a random surface point whose normal has ``n_z > -0.1`` (drawn again until one
    has), moved along its normal by ``d ~ U[-0.005, 0.055]``.

    Args:
        points, normals: the cropped cloud, (N, 3) each; normals unit length.
        rng: the scene's generator.
    Returns:
        ``(position (3,), normal (3,))``.
    """
    if len(points) == 0:
        raise IGDError("cannot sample a grasp point from an empty cloud")
    for _ in range(MAX_SAMPLE_TRIES):  # GIGA loops until it finds one
        i = int(rng.integers(len(points)))
        if normals[i, 2] > NORMAL_Z_MIN:
            break
    else:
        raise IGDError(f"no surface normal with n_z > {NORMAL_Z_MIN} in {MAX_SAMPLE_TRIES} draws")
    d = rng.uniform(*DEPTH_RANGE)
    return points[i] + normals[i] * d, normals[i].copy()


def grasp_frame(normal: np.ndarray) -> Rotation:
    """Step 3: ``z = -n``; x from world x (world y if x is parallel to z); ``y = z × x``; ``x = y × z``.

    Args:
        normal: (3,) the surface normal (pointing to free space).
    Returns:
        the orientation of the yaw-0 grasp (columns x, y, z of its matrix), right-handed.
    """
    z = -np.asarray(normal, np.float64)
    z = z / np.linalg.norm(z)
    x = np.array([1.0, 0.0, 0.0])
    if np.isclose(abs(np.dot(x, z)), 1.0, PARALLEL_RTOL):
        x = np.array([0.0, 1.0, 0.0])
    y = np.cross(z, x)
    y /= np.linalg.norm(y)
    x = np.cross(y, z)
    return Rotation.from_matrix(np.stack([x, y, z], axis=1))


def yaw_poses(position: np.ndarray, frame: Rotation) -> List[Transform]:
    """Step 4: the six TCP poses ``frame · Rz(yaw)`` at ``position``, yaw in ``linspace(0, π, 6)``."""
    return [Transform(frame * rot_z(yaw), position) for yaw in YAWS]


# --------------------------------------------------------------------------------------------------
# step 5: the label rule
# --------------------------------------------------------------------------------------------------
def widest_run_middle(successes: Sequence[bool]) -> Optional[int]:
    """Index of the yaw in the middle of the widest run of consecutive successes, or None.

    As GIGA (``scipy.signal.find_peaks`` on ``[0, s, 0]``): runs do not wrap around (the yaws
    cover ``[0, π]`` with both ends the same grasp, and the reference treats them as a line);
    the middle of a run ``[a, b]`` is ``(a + b) // 2``; of equally wide runs the first wins.
    """
    best, best_len, start = None, 0, None
    for i, s in enumerate(list(successes) + [False]):
        if s and start is None:
            start = i
        elif not s and start is not None:
            if i - start > best_len:
                best, best_len = (start + i - 1) // 2, i - start
            start = None
    return best


@dataclass
class LabelledPoint:
    """One grasp point (one row of ``grasps.csv``): a TCP pose, a width (m) and a label."""

    position: np.ndarray  # (3,) metres, world frame
    quat: np.ndarray  # (4,) (x, y, z, w)
    width: float
    label: int
    successes: Tuple[bool, ...] = ()  # per yaw, for diagnostics
    causes: Tuple[str, ...] = ()

    def row(self, scene_id: str) -> tuple:
        """``(scene_id, qx, qy, qz, qw, x, y, z, width, label)``."""
        return (scene_id, *map(float, self.quat), *map(float, self.position), float(self.width), int(self.label))


def label_point(position: np.ndarray, frame: Rotation, outcomes: Sequence) -> LabelledPoint:
    """Step 5 from the six yaw outcomes (``GraspOutcome``-like: ``label``, ``width``, ``cause``).

    Label 1 if any yaw succeeded, stored at the middle of the widest run of successes with that
    yaw's measured width. A failure keeps the yaw-0 frame (GIGA keeps its last yaw, π: the same
    grasp under the π symmetry) and the width 0.08.
    """
    successes = tuple(bool(o.label) for o in outcomes)
    causes = tuple(o.cause for o in outcomes)
    best = widest_run_middle(successes)
    if best is None:
        return LabelledPoint(np.asarray(position, float), frame.as_quat(), MAX_OPENING, 0, successes, causes)
    quat = (frame * rot_z(YAWS[best])).as_quat()
    return LabelledPoint(np.asarray(position, float), quat, float(outcomes[best].width), 1, successes, causes)


# --------------------------------------------------------------------------------------------------
# the protocols
# --------------------------------------------------------------------------------------------------
@dataclass
class TrialCounts:
    """What a labeller did: ``trials`` yaw candidates labelled, ``simulated`` of them by physics,
    ``steps`` physics steps, and the outcome causes."""

    trials: int = 0
    simulated: int = 0
    steps: int = 0
    causes: Dict[str, int] = field(default_factory=dict)

    def add(self, other: "TrialCounts") -> None:
        self.trials += other.trials
        self.simulated += other.simulated
        self.steps += other.steps
        for k, v in other.causes.items():
            self.causes[k] = self.causes.get(k, 0) + v


class Labeller:
    """Labels grasp points of one scene at a time.

    ``begin(sim)`` once the scene is built and rendered (it saves the state the trials start
    from), ``label(position, normal)`` per point, ``end()`` when the scene is done.
    """

    name = ""

    def __init__(self):
        self.counts = TrialCounts()
        self.sim = None
        self.state: Optional[int] = None

    def begin(self, sim) -> None:
        self.sim = sim
        self.state = sim.save_state()

    def end(self) -> None:
        if self.sim is not None and self.state is not None:
            self.sim.restore_state(self.state)
            self.sim.world.remove_state(self.state)
        self.sim, self.state = None, None

    def label(self, position: np.ndarray, normal: np.ndarray) -> LabelledPoint:
        """Steps 3-5 for the grasp position (3,) and the surface normal (3,)."""
        frame = grasp_frame(normal)
        start = self.sim.world.sim_time
        outcomes = self.trials(yaw_poses(position, frame))
        self.counts.steps += int(round((self.sim.world.sim_time - start) / self.sim.world.dt))
        self.counts.trials += len(outcomes)
        for o in outcomes:
            self.counts.causes[o.cause] = self.counts.causes.get(o.cause, 0) + 1
        return label_point(position, frame, outcomes)

    def trials(self, poses: Sequence[Transform]) -> list:
        raise NotImplementedError


class ReferenceLabeller(Labeller):
    """The straightforward protocol: every yaw is a full trial (docs/simulator.md) from the saved state."""

    name = "reference"

    def trials(self, poses):
        outcomes = []
        for pose in poses:
            self.sim.restore_state(self.state)
            outcomes.append(self.sim.execute_grasp(pose, MAX_OPENING, remove=False, allow_contact=False))
            self.counts.simulated += 1
        return outcomes


# --------------------------------------------------------------------------------------------------
# the fast protocol
# --------------------------------------------------------------------------------------------------
#: The simulated hand trails its target on the approach by 0.8 mm (first increment) to 1.45 mm
#: (steady state): the poses it reaches are checked, not the targets ...
APPROACH_LAG = 0.0014
#: ... and only a penetration deeper than this counts, so that small deviations of the simulated
#: path (gravity sag, the lag's first increments) never turn a free approach into a rejection.
PENETRATION = -0.0005
CLOSE_STILL_SPEED = 1e-3  # m/s: the fingers have stopped when both move slower than this ...
CLOSE_STILL_STEPS = 10  # ... for this many consecutive steps
CLOSE_MIN_STEPS = 20


@dataclass(frozen=True)
class FastOptions:
    """The shortcuts of the fast protocol (off = as the reference)."""

    approach_check: bool = True  # kinematic sweep of the hand along the approach
    empty_check: bool = True  # nothing in the closing region -> the fingers close on nothing
    short_lift: bool = True  # no lift (or the rest of it) once the opening is <= 8 mm
    #: stop closing once the fingers stopped: off, it saved 16 % but turned marginal successes into
    #: slips (a lift that starts before the grip has settled), a bias towards failure (docs/data.md)
    early_close: bool = False
    #: constraint-solver iterations per step in the simulated trials (the world's, 150, in the
    #: reference): 50 labels 1.7x more positives per core-second at 99.6 % point agreement (docs/data.md)
    solver_iterations: int = 50
    #: a grasp still holding (opening > 8 mm, in contact) after this many 2 mm lift increments (of
    #: the 50 of a 10 cm lift) counts as held: no slip was seen after 4 cm (docs/data.md); 0 = full lift
    lift_increments: int = 20
    #: load the trial's hand without its visual meshes (a tenth of the load, benchmarks/bench_sim.py;
    #: nothing renders during labelling): the same bodies, inertias and contacts, so the same trials
    #: to the bit (tested)
    collision_hand: bool = True

    def __post_init__(self):
        if not (isinstance(self.solver_iterations, int) and 1 <= self.solver_iterations <= SOLVER_ITERATIONS):
            raise IGDError(f"FastOptions.solver_iterations must be an int in [1, {SOLVER_ITERATIONS}], "
                           f"got {self.solver_iterations!r}")
        if not (isinstance(self.lift_increments, int) and self.lift_increments >= 0):
            raise IGDError(f"FastOptions.lift_increments must be an int >= 0 (0: the full lift), "
                           f"got {self.lift_increments!r}")


#: The fast protocol as first released (all shortcuts exact up to the simulator's own noise): the
#: baseline of ``benchmarks/bench_generate.py --baseline``.
FAST_V1 = FastOptions(solver_iterations=150, lift_increments=0, collision_hand=False)


class FastLabeller(Labeller):
    """The fast protocol (module docstring); ``options`` switch its shortcuts for measurements."""

    name = "fast"

    def __init__(self, options: FastOptions = FastOptions()):
        super().__init__()
        self.options = options

    def begin(self, sim) -> None:
        super().begin(sim)
        self.probe = probe_world()
        self.probe.mirror(sim)
        sim.world.p.setPhysicsEngineParameter(numSolverIterations=self.options.solver_iterations)
        self._hand_urdf = sim.gripper.urdf
        if self.options.collision_hand:
            sim.gripper.urdf = hand_urdf_path(visual=False)

    def end(self) -> None:
        if self.sim is not None:
            self.sim.world.p.setPhysicsEngineParameter(numSolverIterations=SOLVER_ITERATIONS)
            self.sim.gripper.urdf = self._hand_urdf
        super().end()

    def trials(self, poses):
        from igd.sim.simulation import GraspOutcome

        outcomes = []
        for pose in poses:
            verdict = self._precheck(pose)  # geometric rejection in the probe world
            if verdict is not None:
                outcomes.append(GraspOutcome(False, MAX_OPENING, verdict))
                continue
            self.sim.restore_state(self.state)  # the rest: the reference's trial, minus wasted steps
            try:
                outcomes.append(self._simulate(pose))
            finally:
                self.sim.gripper.remove()
            self.counts.simulated += 1
        return outcomes

    # ---- geometric rejection ----
    def _precheck(self, pose: Transform) -> Optional[str]:
        if self.options.approach_check and self._approach_collides(pose):
            return "collision"
        if self.options.empty_check and self.probe.box_is_empty(pose * Transform.translation_only(CLOSING_BOX_CENTRE)):
            return "empty"  # the fingers would close on nothing
        return None

    def _approach_collides(self, pose: Transform) -> bool:
        """The hand penetrates a body (deeper than ``PENETRATION``) at the spawn pose or at a pose the
        simulated approach reaches (every 2 mm, ``APPROACH_LAG`` behind its targets); checked from
        the grasp pose backwards, where collisions are most likely."""
        from igd.sim.gripper import APPROACH_STEP
        from igd.sim.simulation import PREGRASP_OFFSET

        n = int(round(PREGRASP_OFFSET / APPROACH_STEP))
        backs = [APPROACH_LAG + k * APPROACH_STEP for k in range(n)] + [PREGRASP_OFFSET]
        return self.probe.approach_penetrates(pose, backs, PENETRATION)

    # ---- the simulated trial: ClutterRemovalSim._trial with the steps that cannot change the outcome cut ----
    def _simulate(self, pose: Transform):
        from igd.sim.simulation import SUCCESS_OPENING, GraspOutcome, grasp_waypoints

        world, g = self.sim.world, self.sim.gripper
        pregrasp, retreat = grasp_waypoints(pose)
        g.reset(pregrasp)
        world.step()
        if g.in_contact():
            return GraspOutcome(False, MAX_OPENING, "collision")
        if g.move_tcp_linear(pose, abort_on_contact=True):
            return GraspOutcome(False, MAX_OPENING, "collision")
        self._close()
        if g.opening() <= SUCCESS_OPENING:
            if self.options.short_lift:  # closed on nothing (or on something thinner than 8 mm)
                return GraspOutcome(False, MAX_OPENING, "empty")
            cause_if_fail = "empty"
        else:
            cause_if_fail = "slipped"
        self._lift(retreat)
        if g.in_contact() and g.opening() > SUCCESS_OPENING:
            return GraspOutcome(True, g.opening(), "success")
        return GraspOutcome(False, MAX_OPENING, cause_if_fail)

    def _close(self) -> None:
        """``Gripper.close`` (target 0 for 120 steps), ending early once the fingers have stopped."""
        from igd.sim.gripper import CLOSE_STEPS, KEEP_JOINTS

        world, g = self.sim.world, self.sim.gripper
        g.set_opening_target(0.0)
        if not self.options.early_close:
            world.step(CLOSE_STEPS)
            return
        joints = [g.joints[n] for n in KEEP_JOINTS]
        still = 0
        for i in range(CLOSE_STEPS):
            world.step()
            speed = max(abs(world.p.getJointState(g.uid, j)[1]) for j in joints)
            still = still + 1 if speed < CLOSE_STILL_SPEED else 0
            if i + 1 >= CLOSE_MIN_STEPS and still >= CLOSE_STILL_STEPS:
                return

    def _lift(self, target: Transform) -> None:
        """``Gripper.move_tcp_linear(target, abort_on_contact=False)``, cut short once the opening is
        at most 8 mm (the trial has failed whatever follows) or after ``lift_increments`` increments
        (a grasp that holds that far holds to the end)."""
        from igd.sim.gripper import APPROACH_STEP, STEPS_PER_INCREMENT
        from igd.sim.simulation import SUCCESS_OPENING

        world, g = self.sim.world, self.sim.gripper
        current = g.tcp_pose()
        diff = target.translation - current.translation
        n = int(np.linalg.norm(diff) / APPROACH_STEP)
        if n == 0:
            return
        delta = diff / n
        set_tcp = g.line_constraint(target.rotation)
        position = current.translation.copy()
        if self.options.lift_increments:
            n = min(n, self.options.lift_increments)
        for _ in range(n):
            position = position + delta
            set_tcp(position)
            world.step(STEPS_PER_INCREMENT)
            if self.options.short_lift and g.opening() <= SUCCESS_OPENING:
                return


def make_labeller(protocol: str, **options) -> Labeller:
    """The labeller of ``protocol`` ('fast' or 'reference'); ``options``: :class:`FastOptions` fields."""
    if protocol == "reference":
        return ReferenceLabeller()
    if protocol == "fast":
        return FastLabeller(FastOptions(**options))
    raise IGDError(f"unknown protocol '{protocol}': expected one of {', '.join(PROTOCOLS)}")
