"""The fast labeller's geometric probe (docs/data.md, "the fast protocol"): a second PyBullet
client with static copies of a scene's bodies and an open hand, asked only collision queries.

Importing this module does not import pybullet; :class:`ProbeWorld` does when it is built, without
PyBullet's banners (:mod:`igd.sim.bullet`).
"""

from __future__ import annotations

from typing import Dict, List, Sequence

import numpy as np

from igd.constants import MAX_OPENING
from igd.errors import IGDError
from igd.geometry import Rotation, Transform

#: The region the closing fingers sweep, in the TCP frame: between the finger pads (|y| < 0.036 at
#: the full opening), the finger width in x and their length in z, grown by ``EMPTY_MARGIN``.
CLOSING_BOX_CENTRE = (0.0, 0.0, 0.0235)
CLOSING_BOX_HALF = (0.0145, 0.0359, 0.031)
EMPTY_MARGIN = 0.003  # m: anything this close to the closing region may be touched: simulate


class ProbeWorld:
    """A second PyBullet client with static copies of a scene's bodies and an open hand, for
    collision queries only (nothing is ever stepped): the simulated world is left untouched, so the
    trials that do run are exactly the reference protocol's. One per process, re-filled per scene."""

    def __init__(self):
        from igd.sim.bullet import pybullet
        from igd.sim.gripper import KEEP_JOINTS, hand_urdf_path
        from igd.sim.world import World

        self.world = World()
        p = self.world.p
        self.hand = self.world.load_urdf(hand_urdf_path(visual=False), Transform(Rotation.identity(), [0.0, 0.0, 3.0]))
        names = {p.getJointInfo(self.hand, j)[1].decode(): j for j in range(p.getNumJoints(self.hand))}
        for name in KEEP_JOINTS:  # fully open
            p.resetJointState(self.hand, names[name], 0.5 * MAX_OPENING, 0.0)
        self.closing_box = p.createCollisionShape(pybullet.GEOM_BOX,
                                                  halfExtents=[h + EMPTY_MARGIN for h in CLOSING_BOX_HALF])
        self.bodies: List[int] = []

    def mirror(self, sim) -> None:
        """Replace the copies by the bodies of ``sim`` as they are now: objects from their URDF,
        scale and pose; other bodies (the table) from their collision shape (boxes)."""
        from igd.sim.bullet import pybullet

        for uid in self.bodies:
            self.world.remove_body(uid)
        self.bodies = []
        for urdf, scale, pose in sim.object_bodies():  # generated (sim.reset) or replayed (sim.replay)
            T = Transform.from_matrix(pose)
            uid = self.world.load_urdf(urdf, T, scale=scale, fixed=True)
            self.world.set_pose(uid, T)
            self.bodies.append(uid)
        for uid in sim.world.bodies:
            if uid in sim.objects:
                continue
            shapes = sim.world.p.getCollisionShapeData(uid, -1)
            if len(shapes) != 1 or shapes[0][2] != pybullet.GEOM_BOX or shapes[0][5] != (0.0, 0.0, 0.0):
                raise IGDError(f"the fast protocol cannot mirror body '{sim.world.bodies[uid]}': only objects and "
                               "boxes are supported; use --protocol reference")
            pose = sim.world.get_pose(uid)
            box = self.world.add_box(np.asarray(shapes[0][3]) / 2, pose.translation, "copy", visual=False)
            self.world.set_pose(box, pose)
            self.bodies.append(box)

    def approach_penetrates(self, T_world_tcp: Transform, backs: Sequence[float], depth: float) -> bool:
        """The hand penetrates a body deeper than ``-depth`` at any of the poses ``T_world_tcp ·
        Trans(0, 0, −b)``, ``b`` in ``backs`` (checked in that order; True at the first): the hand's body
        placed at each pose, then :meth:`hand_penetrates`. The poses are composed in numpy (every pose
        has the grasp's rotation; the TCP-to-body offset is a translation)."""
        from igd.sim.gripper import T_TCP_BODY

        p = self.world.p
        rot = T_world_tcp.rotation.as_matrix()
        quat = T_world_tcp.quat.tolist()
        body_at_grasp = T_world_tcp.translation + rot @ T_TCP_BODY.translation
        for back in backs:
            p.resetBasePositionAndOrientation(self.hand, (body_at_grasp - back * rot[:, 2]).tolist(), quat)
            if self.hand_penetrates(depth):
                return True
        return False

    def hand_penetrates(self, depth: float) -> bool:
        """The hand where it is penetrates a body deeper than ``-depth`` (``depth < 0``)."""
        p = self.world.p
        return any(c[8] < depth for body in self.bodies for c in p.getClosestPoints(self.hand, body, depth))

    def box_is_empty(self, T_world_box: Transform) -> bool:
        """Nothing touches the (grown) closing box at ``T_world_box``."""
        p, pos, quat = self.world.p, T_world_box.translation.tolist(), T_world_box.quat.tolist()
        return not any(p.getClosestPoints(-1, body, 0.0, collisionShapeA=self.closing_box,
                                          collisionShapePositionA=pos, collisionShapeOrientationA=quat)
                       for body in self.bodies)


_PROBE: Dict[str, ProbeWorld] = {}


def probe_world() -> ProbeWorld:
    """This process's :class:`ProbeWorld` (closed by :func:`close_probe_world` or at exit)."""
    if "world" not in _PROBE:
        import atexit

        _PROBE["world"] = ProbeWorld()
        atexit.register(close_probe_world)
    return _PROBE["world"]


def close_probe_world() -> None:
    probe = _PROBE.pop("world", None)
    if probe is not None:
        probe.world.close()
