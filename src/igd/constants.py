"""The fixed numbers of the workspace, the gripper and the grid (docs/frames.md#conventions-and-fixed-numbers,
docs/simulator.md, docs/perception.md#tsdf).

Every module reads them from here, so a convention lives in exactly one place.
"""

import numpy as np

# --- workspace (docs/frames.md, "Conventions and fixed numbers") ---
FINGER_DEPTH = 0.05  # m, also the table height
SIZE = 6 * FINGER_DEPTH  # 0.3 m: the workspace cube [0, SIZE]^3 in the world frame
TABLE_HEIGHT = FINGER_DEPTH  # table top plane z = 0.05
VALID_LOWER = np.array([0.02, 0.02, 0.055])  # valid grasp volume
VALID_UPPER = np.array([0.28, 0.28, 0.30])

# --- grid (docs/perception.md, "TSDF") ---
RESOLUTION = 40  # voxels per side of the network grid
VOXEL_SIZE = SIZE / RESOLUTION  # 0.0075 m
TRUNCATION = 4 * VOXEL_SIZE  # 0.03 m
HIGH_RES = 120  # surface-cloud volume for sampling and the "nothing left to see" check
HIGH_RES_TRUNCATION = 0.01

# --- gripper (docs/simulator.md, "The gripper") ---
MAX_OPENING = 0.08  # m
HAND_COM_Z = 0.04  # hand's centre of mass above its link frame
TCP_FROM_COM = 0.022  # TCP = COM + 0.022 along z
TCP_FROM_LINK = HAND_COM_Z + TCP_FROM_COM  # 0.062 m: keep exact, success rates depend on it

# --- physics (docs/simulator.md, "Physics") ---
DT = 1.0 / 240.0
SOLVER_ITERATIONS = 150
GRAVITY = -9.81

# --- benchmark (docs/benchmark.md, "Protocol") ---
BENCH_OBJECTS = 5
MAX_CONSECUTIVE_FAILURES = 2
