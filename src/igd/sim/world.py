"""A thin, typed wrapper around one PyBullet client in DIRECT mode (docs/perception.md; the hand in igd.sim.gripper).

It owns the physics parameters, the bodies it loaded, contacts, saved states and the tiny-renderer
camera. It knows nothing about grasps or scenes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from igd.constants import DT, GRAVITY, SOLVER_ITERATIONS
from igd.geometry import Rotation, Transform
from igd.perception.camera import FAR, NEAR, CameraIntrinsic
from igd.sim.bullet import bullet_client, pybullet, quiet_native_output


@dataclass
class Contact:
    body_a: int
    body_b: int
    link_a: int
    link_b: int
    point: np.ndarray
    normal: np.ndarray
    depth: float
    force: float


class World:
    """One PyBullet physics client. Bodies are referred to by their integer uid."""

    def __init__(self, gui: bool = False):
        with quiet_native_output():  # PyBullet prints "argv[0]=" at every connect
            self.p = bullet_client.BulletClient(connection_mode=pybullet.GUI if gui else pybullet.DIRECT)
        self.dt = DT
        self.bodies: Dict[int, str] = {}  # uid -> name
        self.sim_time = 0.0
        self.reset()

    # ---- lifecycle ----
    def reset(self) -> None:
        self.p.resetSimulation()
        self.p.setPhysicsEngineParameter(fixedTimeStep=self.dt, numSolverIterations=SOLVER_ITERATIONS,
                                         deterministicOverlappingPairs=1)
        self.p.setGravity(0.0, 0.0, GRAVITY)
        self.bodies.clear()
        self.sim_time = 0.0

    def close(self) -> None:
        try:
            self.p.disconnect()
        except pybullet.error:  # already disconnected
            pass

    def step(self, n: int = 1) -> None:
        for _ in range(n):
            self.p.stepSimulation()
        self.sim_time += n * self.dt

    def save_state(self) -> int:
        return self.p.saveState()

    def restore_state(self, state_id: int) -> None:
        self.p.restoreState(stateId=state_id)

    def remove_state(self, state_id: int) -> None:
        self.p.removeState(state_id)

    # ---- bodies ----
    def load_urdf(self, path: str | Path, pose: Transform, scale: float = 1.0, name: Optional[str] = None,
                  fixed: bool = False) -> int:
        uid = self.p.loadURDF(str(path), pose.translation.tolist(), pose.quat.tolist(), globalScaling=scale,
                              useFixedBase=fixed)
        self.bodies[uid] = name or Path(path).stem
        return uid

    def add_box(self, half_extents, position, name: str, mass: float = 0.0, visual: bool = True) -> int:
        col = self.p.createCollisionShape(pybullet.GEOM_BOX, halfExtents=list(half_extents))
        vis = self.p.createVisualShape(pybullet.GEOM_BOX, halfExtents=list(half_extents)) if visual else -1
        uid = self.p.createMultiBody(baseMass=mass, baseCollisionShapeIndex=col, baseVisualShapeIndex=vis,
                                     basePosition=list(position))
        self.bodies[uid] = name
        return uid

    def remove_body(self, uid: int) -> None:
        self.p.removeBody(uid)
        self.bodies.pop(uid, None)

    def get_pose(self, uid: int) -> Transform:
        """Pose of the body's centre of mass (PyBullet's base frame)."""
        pos, quat = self.p.getBasePositionAndOrientation(uid)
        return Transform(Rotation.from_quat(quat), pos)

    def set_pose(self, uid: int, pose: Transform) -> None:
        self.p.resetBasePositionAndOrientation(uid, pose.translation.tolist(), pose.quat.tolist())

    def get_velocity_norm(self, uid: int) -> float:
        linear, angular = self.p.getBaseVelocity(uid)
        return float(np.linalg.norm(np.r_[linear, angular]))

    def get_aabb(self, uid: int) -> tuple[np.ndarray, np.ndarray]:
        lower, upper = self.p.getAABB(uid)
        return np.asarray(lower), np.asarray(upper)

    def get_contacts(self, uid: int) -> List[Contact]:
        return [Contact(c[1], c[2], c[3], c[4], np.asarray(c[5]), np.asarray(c[7]), c[8], c[9])
                for c in self.p.getContactPoints(uid)]

    # ---- camera ----
    def render_depth(self, intrinsic: CameraIntrinsic, extrinsic: Transform) -> np.ndarray:
        """Depth image (H, W) float32 in metres along the optical axis; 0 where nothing was hit."""
        view = _gl_view_matrix(extrinsic)
        proj = _gl_projection_matrix(intrinsic, NEAR, FAR)
        result = self.p.getCameraImage(width=intrinsic.width, height=intrinsic.height, viewMatrix=view,
                                       projectionMatrix=proj, renderer=pybullet.ER_TINY_RENDERER,
                                       flags=pybullet.ER_NO_SEGMENTATION_MASK)
        zbuf = np.asarray(result[3], dtype=np.float64).reshape(intrinsic.height, intrinsic.width)
        depth = FAR * NEAR / (FAR - (FAR - NEAR) * zbuf)
        depth[depth >= FAR * 0.999] = 0.0  # the far plane: no reading
        return depth.astype(np.float32)


def _gl_view_matrix(extrinsic: Transform) -> list:
    """OpenCV ``T_cam_world`` -> OpenGL view matrix (camera looks down -z), column-major.

    Only z is flipped: y stays down, and the projection below maps it to image rows top-first.
    """
    m = extrinsic.as_matrix()
    m[2, :] *= -1.0
    return m.flatten(order="F").tolist()


def _gl_projection_matrix(k: CameraIntrinsic, near: float, far: float) -> list:
    """Projection reproducing the pinhole ``K`` in OpenGL clip space, column-major."""
    perspective = np.array([[k.fx, 0.0, -k.cx, 0.0],
                            [0.0, k.fy, -k.cy, 0.0],
                            [0.0, 0.0, near + far, near * far],
                            [0.0, 0.0, -1.0, 0.0]])
    left, right, bottom, top = 0.0, float(k.width), float(k.height), 0.0
    ortho = np.diag([2.0 / (right - left), 2.0 / (top - bottom), -2.0 / (far - near), 1.0])
    ortho[0, 3] = -(right + left) / (right - left)
    ortho[1, 3] = -(top + bottom) / (top - bottom)
    ortho[2, 3] = -(far + near) / (far - near)
    return (ortho @ perspective).flatten(order="F").tolist()
