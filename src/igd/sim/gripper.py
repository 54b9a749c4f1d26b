"""The free-floating Franka Panda hand (docs/simulator.md, "The gripper").

The URDF is built at run time from ``pybullet_data/franka_panda/panda.urdf``: the ``panda_hand``
link becomes the root, with the two finger links and their prismatic joints; mesh paths point at
the installed ``pybullet_data`` meshes. Frames:

- link frame: the URDF's ``panda_hand`` frame; PyBullet places the body by its centre of mass (COM),
  which sits 0.04 m above the link frame along z.
- TCP (the grasp frame of docs/frames.md): COM + 0.022 along z = link frame + 0.062 (``TCP_FROM_LINK``).
"""

from __future__ import annotations

import os
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Callable

import numpy as np
import pybullet_data

from igd.cache import cache_root
from igd.constants import HAND_COM_Z, MAX_OPENING, TCP_FROM_COM
from igd.geometry import Transform
from igd.sim.bullet import pybullet
from igd.sim.world import World

KEEP_LINKS = ("panda_hand", "panda_leftfinger", "panda_rightfinger")
KEEP_JOINTS = ("panda_finger_joint1", "panda_finger_joint2")
FINGER_FORCE = 20.0  # N, the URDF's effort limit
CONSTRAINT_FORCE = 300.0
APPROACH_STEP = 0.002  # m per increment
STEPS_PER_INCREMENT = 4  # int(0.002 m / 0.10 m/s / dt) = 4
CLOSE_STEPS = 120  # 0.5 s

#: TCP in the PyBullet body (COM) frame, and back.
T_BODY_TCP = Transform.translation_only([0.0, 0.0, TCP_FROM_COM])
T_TCP_BODY = T_BODY_TCP.inverse()


def hand_urdf_path(visual: bool = True) -> Path:
    """Write (once per pybullet version) the hand URDF and return its path.

    ``visual=False``: the same hand without its ``<visual>`` elements (collision shapes, inertias,
    joints and contact parameters unchanged, so the dynamics are the same). Loading it takes about a
    tenth of the time (``benchmarks/bench_sim.py``: the visual meshes are most of ``loadURDF``'s parsing); for
    simulations that never render the hand (the fast labeller's trials, the probe world)."""
    data = Path(pybullet_data.getDataPath()) / "franka_panda"
    suffix = "" if visual else "_collision"
    out = cache_root() / "gripper" / f"panda_hand_{pybullet.getAPIVersion()}{suffix}.urdf"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    robot = ET.parse(data / "panda.urdf").getroot()
    for el in list(robot):
        keep = (el.tag == "link" and el.get("name") in KEEP_LINKS) or (
            el.tag == "joint" and el.get("name") in KEEP_JOINTS)
        if not keep:
            robot.remove(el)
    if not visual:
        for link in robot.iter("link"):
            for el in link.findall("visual"):
                link.remove(el)
    for mesh in robot.iter("mesh"):
        mesh.set("filename", str(data / mesh.get("filename").replace("package://", "")))
    hand = next(link for link in robot.iter("link") if link.get("name") == "panda_hand")
    com = hand.find("inertial/origin").get("xyz").split()
    if abs(float(com[2]) - HAND_COM_Z) > 1e-9:
        raise RuntimeError(f"pybullet_data's panda_hand COM is at z={com[2]}, expected {HAND_COM_Z}")
    fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=".urdf")
    with os.fdopen(fd, "wb") as f:
        ET.ElementTree(robot).write(f)
    os.replace(tmp, out)
    return out


class Gripper:
    """The hand in one :class:`World`. ``reset`` spawns it; every trial ends with ``remove``."""

    def __init__(self, world: World):
        self.world = world
        self.urdf = hand_urdf_path()
        self.uid: int | None = None

    # ---- spawn / remove ----
    def reset(self, T_world_tcp: Transform, opening: float = MAX_OPENING) -> None:
        p = self.world.p
        T_world_body = T_world_tcp * T_TCP_BODY
        self.uid = self.world.load_urdf(self.urdf, T_world_body, name="gripper")
        self.world.set_pose(self.uid, T_world_body)  # loadURDF placed the link frame; this places the COM
        self.joints = {p.getJointInfo(self.uid, j)[1].decode(): j for j in range(p.getNumJoints(self.uid))}
        self.constraint = p.createConstraint(self.uid, -1, -1, -1, pybullet.JOINT_FIXED, [0, 0, 0], [0, 0, 0],
                                             T_world_body.translation.tolist(), [0, 0, 0, 1],
                                             T_world_body.quat.tolist())
        self.line_constraint(T_world_tcp.rotation)(T_world_tcp.translation)
        gear = p.createConstraint(self.uid, self.joints["panda_finger_joint1"], self.uid,
                                  self.joints["panda_finger_joint2"], pybullet.JOINT_GEAR, [1, 0, 0],
                                  [0, 0, 0], [0, 0, 0])
        p.changeConstraint(gear, gearRatio=-1, erp=0.1, maxForce=50)
        for name in KEEP_JOINTS:
            p.resetJointState(self.uid, self.joints[name], 0.5 * opening)
        self.set_opening_target(opening)
        self.T_world_tcp = T_world_tcp

    def remove(self) -> None:
        if self.uid is not None:
            self.world.remove_body(self.uid)  # removes its constraints too
            self.uid = None

    # ---- control ----
    def set_opening_target(self, width: float) -> None:
        for name in KEEP_JOINTS:
            self.world.p.setJointMotorControl2(self.uid, self.joints[name], pybullet.POSITION_CONTROL,
                                               targetPosition=0.5 * width, force=FINGER_FORCE)

    def tcp_pose(self) -> Transform:
        return self.world.get_pose(self.uid) * T_BODY_TCP

    def line_constraint(self, rotation) -> Callable[[np.ndarray], None]:
        """A setter of the constraint target for TCP positions at a fixed ``rotation`` (a straight move, or
        one pose): the body's orientation and its offset from the TCP are computed once, and each call
        sets the numbers of ``T_world_tcp · T_TCP_BODY`` to the bit (the same operations, in the same order)."""
        body = Transform(rotation, np.zeros(3)) * T_TCP_BODY
        offset, quat = body.translation, body.quat.tolist()
        change = self.world.p.changeConstraint

        def set_tcp(position: np.ndarray) -> None:
            change(self.constraint, jointChildPivot=(offset + position).tolist(), jointChildFrameOrientation=quat,
                   maxForce=CONSTRAINT_FORCE)

        return set_tcp

    def move_tcp_linear(self, target: Transform, abort_on_contact: bool) -> bool:
        """Move the constraint target in 2 mm increments of 4 steps. Returns True if a contact stopped it."""
        current = self.tcp_pose()
        diff = target.translation - current.translation
        n = int(np.linalg.norm(diff) / APPROACH_STEP)
        if n == 0:
            return abort_on_contact and self.in_contact()
        delta = diff / n
        set_tcp = self.line_constraint(target.rotation)
        position = current.translation.copy()
        for _ in range(n):
            position = position + delta
            set_tcp(position)
            self.world.step(STEPS_PER_INCREMENT)
            if abort_on_contact and self.in_contact():
                return True
        return False

    def close(self) -> None:
        self.set_opening_target(0.0)
        self.world.step(CLOSE_STEPS)

    def in_contact(self) -> bool:
        return len(self.world.p.getContactPoints(self.uid)) > 0

    def contacts(self):
        return self.world.get_contacts(self.uid)

    def opening(self) -> float:
        """Opening = sum of the two finger joint positions (m)."""
        p = self.world.p
        return float(sum(p.getJointState(self.uid, self.joints[n])[0] for n in KEEP_JOINTS))
