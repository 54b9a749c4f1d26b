"""The simulated clutter world: table, pile and packed scenes, and the grasp trial (docs/simulator.md).

One :class:`ClutterRemovalSim` owns one PyBullet client. ``reset(n, seed)`` builds a new scene from
the seed alone, so the same seed gives the same scene and the same outcomes in any process.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Literal, Optional

import numpy as np

from igd.constants import MAX_OPENING, SIZE, TABLE_HEIGHT
from igd.errors import IGDError
from igd.geometry import Rotation, Transform
from igd.perception.camera import DEFAULT_INTRINSIC, CameraIntrinsic
from igd.sim.gripper import Gripper
from igd.sim.world import World

SceneKind = Literal["pile", "packed"]

PREGRASP_OFFSET = 0.05  # m back along the approach axis
RETREAT_DISTANCE = 0.10  # m
SIDE_GRASP_ANGLE = np.pi / 3  # approaches further than 60° from straight down are "side grasps"
SUCCESS_OPENING = 0.1 * MAX_OPENING  # opening after the lift must exceed 8 mm
REST_TOLERANCE = 0.01  # linear+angular velocity norm
REST_BLOCK = 60  # steps between rest checks
PILE_BOX = (0.02, 0.28)  # walls around [0.02, 0.28]^2
PILE_WALL_HEIGHT = 0.10
PILE_DROP_Z = 0.25
PACKED_MAX_ATTEMPTS = 12
PACKED_CLEARANCE = 0.002


def grasp_waypoints(pose: Transform) -> tuple[Transform, Transform]:
    """The TCP's pre-grasp and retreat poses of a trial at ``pose`` (docs/simulator.md, "One grasp trial",
    steps 1-2).

    Pre-grasp: 0.05 m back along the approach axis. Retreat: 0.10 m back along it if the approach is
    within 60° of straight down, else a lift of 0.10 m along world +z (a side grasp).
    """
    T_world_pregrasp = pose * Transform.translation_only([0.0, 0.0, -PREGRASP_OFFSET])
    approach = pose.rotation.as_matrix()[:, 2]
    angle = np.arccos(np.clip(np.dot(approach, [0.0, 0.0, -1.0]), -1.0, 1.0))
    if angle > SIDE_GRASP_ANGLE:  # side grasp: lift along world +z
        T_world_retreat = Transform.translation_only([0.0, 0.0, RETREAT_DISTANCE]) * pose
    else:
        T_world_retreat = pose * Transform.translation_only([0.0, 0.0, -RETREAT_DISTANCE])
    return T_world_pregrasp, T_world_retreat


@dataclass
class GraspOutcome:
    """Result of one trial. ``cause``: 'success', 'collision' (contact at spawn or on the approach),
    'empty' (fingers closed on nothing) or 'slipped' (nothing held after the lift)."""

    label: bool
    width: float
    cause: str
    object_name: Optional[str] = None


class ClutterRemovalSim:
    """Scenes of ``scene`` kind with objects drawn from ``object_set``: a set name (see
    :mod:`igd.sim.objects`) or a downloaded folder of URDFs (see :mod:`igd.sim.folder`)."""

    def __init__(self, scene: SceneKind = "pile", object_set: Optional[str] = "pile/test", gui: bool = False):
        if scene not in ("pile", "packed"):
            raise IGDError(f"unknown scene type '{scene}': expected 'pile' or 'packed'")
        from igd.sim.objects import load_object_set, object_folder

        self.scene = scene
        self.object_set = object_set
        # object_set None: no set to draw from, for scenes rebuilt with replay() only
        self.assets = [] if object_set is None else load_object_set(object_set)
        if object_set is not None and not self.assets:
            raise IGDError(f"object set '{object_set}' is empty")
        folder = None if object_set is None else object_folder(object_set)
        if folder is None:
            self.set_scaling = 1.0  # our objects are stored at unit scale
        else:
            from igd.sim.folder import folder_scaling

            self.set_scaling = folder_scaling(folder)  # the references' per-set factor (1 for pile/*, packed/*)
        self.world = World(gui=gui)
        self.gripper = Gripper(self.world)
        self.objects: dict[int, str] = {}  # uid -> object name
        self.rng = np.random.default_rng(0)

    # ---- scene ----
    @property
    def num_objects(self) -> int:
        return len(self.objects)

    def reset(self, object_count: int, seed: int) -> None:
        """A new scene with up to ``object_count`` objects, fully determined by ``seed``."""
        self.rng = np.random.default_rng(seed)
        self.world.reset()
        self.objects.clear()
        self._loaded: dict = {}
        self._replayed: dict = {}
        self._add_table()
        if self.scene == "pile":
            self._generate_pile(object_count)
        else:
            self._generate_packed(object_count)

    def replay(self, items) -> None:
        """Rebuild a recorded scene: the table and each object ``(urdf, scale, pose (4, 4))`` of ``items``
        loaded at its recorded pose (the mesh frame = its centre of mass) with ``globalScaling = scale``,
        as :meth:`mesh_pose_list` recorded them. No settling: the poses were recorded at rest. (The
        replayed objects are not assets of a set, so :meth:`mesh_pose_list` does not list them.)"""
        self.world.reset()
        self.objects.clear()
        self._loaded = {}
        self._replayed = {}
        self._add_table()
        for urdf, scale, pose in items:
            uid = self.world.load_urdf(urdf, Transform.from_matrix(np.asarray(pose, dtype=np.float64)),
                                       scale=float(scale), name=Path(urdf).parent.name)
            self.objects[uid] = self.world.bodies[uid]
            self._replayed[uid] = (Path(urdf), float(scale))

    def _add_table(self) -> None:
        # a thick static slab whose top is the plane z = TABLE_HEIGHT
        self.table = self.world.add_box([0.5, 0.5, 0.025], [0.15, 0.15, TABLE_HEIGHT - 0.025], "table")

    def _load_object(self, pose: Transform, scale: float) -> int:
        """Load a random object of the set at ``pose`` with ``globalScaling = set_scaling x scale``
        (what ``mesh_pose_list`` records, as GIGA's files do)."""
        scale = self.set_scaling * scale
        asset = self.assets[int(self.rng.integers(len(self.assets)))]
        uid = self.world.load_urdf(asset.urdf, pose, scale=scale, name=asset.name)
        self.objects[uid] = asset.name
        self._loaded[uid] = (asset, scale)
        return uid

    def _generate_pile(self, object_count: int) -> None:
        lo, hi = PILE_BOX
        t, h = 0.01, PILE_WALL_HEIGHT / 2
        mid, half = (lo + hi) / 2, (hi - lo) / 2
        z = TABLE_HEIGHT + h
        walls = [self.world.add_box([half + 2 * t, t, h], [mid, lo - t, z], "wall"),
                 self.world.add_box([half + 2 * t, t, h], [mid, hi + t, z], "wall"),
                 self.world.add_box([t, half, h], [lo - t, mid, z], "wall"),
                 self.world.add_box([t, half, h], [hi + t, mid, z], "wall")]
        for _ in range(object_count):
            rotation = Rotation.random(random_state=self.rng)
            xy = self.rng.uniform(1.0 / 3.0 * SIZE, 2.0 / 3.0 * SIZE, 2)
            scale = self.rng.uniform(0.8, 1.0)
            self._load_object(Transform(rotation, np.r_[xy, PILE_DROP_Z]), scale)
            self.wait_for_objects_to_rest(timeout=1.0)
        for wall in walls:
            self.world.remove_body(wall)
        self.remove_and_wait()

    def _generate_packed(self, object_count: int) -> None:
        attempts = 0
        while self.num_objects < object_count and attempts < PACKED_MAX_ATTEMPTS:
            attempts += 1
            state = self.world.save_state()
            x, y = self.rng.uniform(0.08, 0.22, 2)
            angle = self.rng.uniform(0.0, 2.0 * np.pi)
            scale = self.rng.uniform(0.7, 0.9)
            rotation = Rotation.from_rotvec([0.0, 0.0, angle])
            uid = self._load_object(Transform(rotation, [x, y, 1.0]), scale)
            lower, _ = self.world.get_aabb(uid)
            com_z = self.world.get_pose(uid).translation[2]
            z = TABLE_HEIGHT + (com_z - lower[2]) + PACKED_CLEARANCE  # bottom 2 mm above the table
            self.world.set_pose(uid, Transform(rotation, [x, y, z]))
            self.world.step()
            if self.world.p.getContactPoints(uid):
                self.world.remove_body(uid)
                del self.objects[uid]
                self.world.restore_state(state)
            else:
                self.remove_and_wait()
            self.world.remove_state(state)

    def wait_for_objects_to_rest(self, timeout: float = 2.0, tol: float = REST_TOLERANCE) -> None:
        deadline = self.world.sim_time + timeout
        while self.world.sim_time < deadline:
            self.world.step(REST_BLOCK)
            if all(self.world.get_velocity_norm(uid) <= tol for uid in self.objects):
                return

    def remove_objects_outside_workspace(self) -> bool:
        removed = False
        for uid in list(self.objects):
            xyz = self.world.get_pose(uid).translation
            if np.any(xyz < 0.0) or np.any(xyz > SIZE):
                self.world.remove_body(uid)
                del self.objects[uid]
                removed = True
        return removed

    def remove_and_wait(self) -> None:
        """Let everything settle, drop what left the workspace, repeat until nothing more leaves."""
        while True:
            self.wait_for_objects_to_rest()
            if not self.remove_objects_outside_workspace():
                return

    # ---- sensing ----
    def render(self, extrinsic: Transform, intrinsic: CameraIntrinsic = DEFAULT_INTRINSIC) -> np.ndarray:
        """Depth image (H, W) float32 metres, 0 = no reading."""
        return self.world.render_depth(intrinsic, extrinsic)

    def mesh_pose_list(self) -> List[tuple]:
        """``(asset, scale, pose (4, 4))`` per object; the pose is the mesh frame (= COM) in the world."""
        return [(asset, scale, self.world.get_pose(uid).as_matrix()) for uid, (asset, scale) in self._loaded.items()
                if uid in self.objects]

    def object_bodies(self) -> List[tuple]:
        """``(urdf, scale, pose (4, 4))`` of every object still in the scene, generated or replayed: what
        a copy of its collision geometry needs (:meth:`igd.sim.probe.ProbeWorld.mirror`)."""
        loaded = [(uid, asset.urdf, scale) for uid, (asset, scale) in getattr(self, "_loaded", {}).items()]
        replayed = [(uid, urdf, scale) for uid, (urdf, scale) in getattr(self, "_replayed", {}).items()]
        return [(urdf, scale, self.world.get_pose(uid).as_matrix()) for uid, urdf, scale in loaded + replayed
                if uid in self.objects]

    def nearest_object(self, point) -> Optional[str]:
        """Name of the object whose bounding box is nearest ``point`` (3,) in the world (metres), or
        None when none is left: what a grasp at ``point`` was aimed at, for failures, which hold nothing.
        Reads the bounding boxes only (no bodies are added, so the simulation is not touched)."""
        point = np.asarray(point, dtype=np.float64).reshape(3)
        best, best_d = None, np.inf
        for uid, name in self.objects.items():
            lo, hi = (np.asarray(v, dtype=np.float64) for v in self.world.get_aabb(uid))
            d = float(np.linalg.norm(np.maximum(np.maximum(lo - point, point - hi), 0.0)))
            if d < best_d:
                best, best_d = name, d
        return best

    def save_state(self) -> int:
        return self.world.save_state()

    def restore_state(self, state_id: int) -> None:
        self.world.restore_state(state_id)

    # ---- the grasp trial (docs/simulator.md, "One grasp trial") ----
    def execute_grasp(self, pose: Transform, width: float = MAX_OPENING, remove: bool = True,
                      allow_contact: bool = True) -> GraspOutcome:
        """Run one trial of the TCP pose ``pose`` (world frame). ``width`` is the planned width (the
        hand always opens fully, as in the reference). ``allow_contact=False`` (data generation) fails
        on any contact on the approach; the benchmark proceeds from where the approach stopped."""
        T_world_pregrasp, T_world_retreat = grasp_waypoints(pose)
        outcome = self._trial(pose, T_world_pregrasp, T_world_retreat, allow_contact, remove)
        self.gripper.remove()
        if remove:
            self.remove_and_wait()
        return outcome

    def _trial(self, pose, T_world_pregrasp, T_world_retreat, allow_contact, remove) -> GraspOutcome:
        self.gripper.reset(T_world_pregrasp)
        # The reference checks before stepping, so its check never fires; we step once first.
        self.world.step()
        if self.gripper.in_contact():
            return GraspOutcome(False, MAX_OPENING, "collision")
        touched = self.gripper.move_tcp_linear(pose, abort_on_contact=True)
        if touched and not allow_contact:
            return GraspOutcome(False, MAX_OPENING, "collision")
        self.gripper.close()
        if self.gripper.opening() <= SUCCESS_OPENING:
            cause_if_fail = "empty"
        else:
            cause_if_fail = "slipped"
        self.gripper.move_tcp_linear(T_world_retreat, abort_on_contact=False)
        held = self._held_object()
        if self.gripper.in_contact() and self.gripper.opening() > SUCCESS_OPENING:
            name = self.objects.get(held) if held is not None else None
            if remove and held is not None:
                self.world.remove_body(held)
                del self.objects[held]
            return GraspOutcome(True, self.gripper.opening(), "success", name)
        return GraspOutcome(False, MAX_OPENING, cause_if_fail)

    def _held_object(self) -> Optional[int]:
        for c in self.gripper.contacts():
            if c.body_b in self.objects:
                return c.body_b
        return None

    def close(self) -> None:
        self.world.close()
