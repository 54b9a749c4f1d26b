"""Draw docs/img/frames.png: the world, workspace, camera and grasp frames of ``igd detect``.

Regenerate (deterministic, no simulator): ``.venv/bin/python docs/img/make_frames.py``.

The scene is a general placement, not the benchmark's identity: the workspace cube sits in a
robot's world frame at ``T_world_ws`` and the camera looks at it from the benchmark's side view
relative to the cube, so ``T_cam_world = T_cam_ws · T_ws_world``.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from igd.constants import FINGER_DEPTH, SIZE
from igd.geometry import Rotation, Transform
from igd.perception.camera import DEFAULT_INTRINSIC, side_view_extrinsic

OUT = Path(__file__).with_name("frames.png")
AXIS_COLOURS = ("tab:red", "tab:green", "tab:blue")  # x, y, z

T_WORLD_WS = Transform(Rotation.from_euler("z", 0.35), [0.4, 0.1, 0.0])
T_CAM_WORLD = side_view_extrinsic() * T_WORLD_WS.inverse()
# a top-down grasp above the middle of the table: z (approach) down, y (closing) along the cube's x
T_WS_GRASP = Transform(Rotation.from_matrix(np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]])),
                       [0.15, 0.15, 0.16])
T_WORLD_GRASP = T_WORLD_WS * T_WS_GRASP
GRASP_WIDTH = 0.06


def draw_axes(ax, pose: Transform, length: float, label: str) -> None:
    origin = pose.translation
    for axis, colour in enumerate(AXIS_COLOURS):
        tip = pose.apply(np.eye(3)[axis] * length)
        ax.plot(*np.stack([origin, tip]).T, color=colour, lw=2.2)
        ax.text(*tip, "xyz"[axis], color=colour, fontsize=8)
    ax.text(*(origin - np.array([0.0, 0.0, 0.045])), label, fontsize=9, ha="center", weight="bold")


def draw_cube(ax, pose: Transform, size: float) -> None:
    corners = np.array([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)], dtype=float) * size
    for a in range(8):
        for b in range(a + 1, 8):
            if np.count_nonzero(corners[a] != corners[b]) == 1:
                ax.plot(*pose.apply(np.stack([corners[a], corners[b]])).T, color="0.45", lw=1.0)
    table = np.array([[0, 0], [size, 0], [size, size], [0, size], [0, 0]], dtype=float)
    table = np.c_[table, np.full(5, FINGER_DEPTH)]
    ax.plot(*pose.apply(table).T, color="tab:brown", lw=1.0, ls="--")


def draw_frustum(ax, T_cam_world: Transform, depth: float = 0.15) -> None:
    k = DEFAULT_INTRINSIC
    pixels = np.array([[0, 0], [k.width, 0], [k.width, k.height], [0, k.height]], dtype=float)
    rays = np.c_[(pixels[:, 0] - k.cx) / k.fx, (pixels[:, 1] - k.cy) / k.fy, np.ones(4)] * depth
    T_world_cam = T_cam_world.inverse()
    eye, corners = T_world_cam.translation, T_world_cam.apply(rays)
    for c in corners:
        ax.plot(*np.stack([eye, c]).T, color="0.3", lw=0.8)
    ax.plot(*np.vstack([corners, corners[:1]]).T, color="0.3", lw=0.8)


def draw_gripper(ax, T_world_grasp: Transform, width: float) -> None:
    """The TCP at the palm, fingers ±width/2 along y reaching 0.05 along z, a stem back along -z."""
    half = width / 2
    lines = [[[0, -half, 0], [0, half, 0]], [[0, -half, 0], [0, -half, FINGER_DEPTH]],
             [[0, half, 0], [0, half, FINGER_DEPTH]], [[0, 0, 0], [0, 0, -0.04]]]
    for line in lines:
        ax.plot(*T_world_grasp.apply(np.array(line, dtype=float)).T, color="black", lw=2.5)


def main() -> None:
    plt.rcParams["svg.hashsalt"] = "igd"
    fig = plt.figure(figsize=(7.0, 5.6), dpi=100)
    ax = fig.add_subplot(projection="3d")
    draw_axes(ax, Transform.identity(), 0.12, "world")
    draw_cube(ax, T_WORLD_WS, SIZE)
    draw_axes(ax, T_WORLD_WS, 0.1, "workspace (corner)")
    draw_frustum(ax, T_CAM_WORLD)
    draw_axes(ax, T_CAM_WORLD.inverse(), 0.08, "camera (OpenCV)")
    draw_gripper(ax, T_WORLD_GRASP, GRASP_WIDTH)
    draw_axes(ax, T_WORLD_GRASP, 0.06, "")
    ax.text(*(T_WORLD_GRASP.translation + [0.0, 0.0, 0.05]), "grasp (TCP)", fontsize=9, ha="center", weight="bold")
    ax.set_xlabel("world x (m)")
    ax.set_ylabel("world y (m)")
    ax.set_zlabel("world z (m)")
    ax.set_xlim(-0.05, 0.8)
    ax.set_ylim(-0.3, 0.55)
    ax.set_zlim(0.0, 0.5)
    ax.set_box_aspect((0.85, 0.85, 0.5))
    ax.view_init(elev=24, azim=-125)
    ax.set_title("T_cam_world: world -> camera;  T_world_ws: workspace corner in the world;\n"
                 "grasps: T_world_grasp, z = approach, y = closing (x red, y green, z blue)", fontsize=9)
    fig.tight_layout()
    fig.savefig(OUT, metadata={"Software": None})
    plt.close(fig)
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
