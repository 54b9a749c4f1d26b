"""Non-learned planners: sanity floors for the benchmark and second members of the contract suite.

``topdown``: grasp the highest observed surface point straight down, fully open. It needs no
weights, so a benchmark run with it tests the simulator, the camera and the TSDF grid alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from igd.constants import MAX_OPENING, TABLE_HEIGHT, VALID_LOWER, VALID_UPPER, VOXEL_SIZE
from igd.errors import IGDError
from igd.planners.base import Grasps, Observation, Planner

__all__ = ["TopDownConfig", "TopDownPlanner"]


@dataclass
class TopDownConfig:
    """Settings of the top-down heuristic."""

    width: float = MAX_OPENING
    """Opening of the proposed grasp, metres, in (0, 0.08]."""
    depth: float = 0.03
    """How far the fingertips reach below the top point, metres (the fingers are 0.05 long)."""
    patch_radius: float = 0.03
    """Horizontal radius of the top patch whose centroid and spread set the grasp, metres."""

    def __post_init__(self):
        if not 0.0 < self.width <= MAX_OPENING:
            raise IGDError(f"TopDownConfig.width must be in (0, {MAX_OPENING}] m, got {self.width!r}")
        if not 0.0 <= self.depth <= 0.05:
            raise IGDError(f"TopDownConfig.depth must be in [0, 0.05] m (finger length), got {self.depth!r}")
        if not self.patch_radius > 0.0:
            raise IGDError(f"TopDownConfig.patch_radius must be > 0 m, got {self.patch_radius!r}")


class TopDownPlanner(Planner):
    """Grasp the highest observed point from above, closing across the top patch's narrow side."""

    name = "topdown"
    config_class = TopDownConfig
    learned = False

    def plan(self, observation: Observation) -> Grasps:
        """One grasp (score 1) above the highest observed-inside voxel; none if nothing stands on the table."""
        points = _inside_points(observation.grid[0])
        if len(points) == 0:
            return Grasps.empty()
        top = points[np.argmax(points[:, 2])]
        patch = _top_patch(points[points[:, 2] >= top[2] - 2 * VOXEL_SIZE, :2], top[:2], self.config.patch_radius)
        pose = self._pose(patch.mean(axis=0), top[2] + VOXEL_SIZE / 2, _narrow_axis(patch))
        return Grasps(pose[None], [self.config.width], [1.0])

    def reseed(self, seed: int) -> None:
        """Nothing to do: the heuristic makes no random choices."""

    def _pose(self, xy: np.ndarray, top_z: float, closing: np.ndarray) -> np.ndarray:
        """TCP pose (4, 4): approach z = -world z, closing y = ``closing`` (2,), fingertips ``depth`` below the top."""
        y = np.r_[closing, 0.0]
        z = np.array([0.0, 0.0, -1.0])
        pose = np.eye(4)
        pose[:3, :3] = np.stack([np.cross(y, z), y, z], axis=1)
        tcp = np.r_[xy, top_z - self.config.depth + 0.05]  # the TCP sits 0.05 behind the fingertips
        pose[:3, 3] = np.clip(tcp, VALID_LOWER, VALID_UPPER)
        return pose


def _inside_points(grid: np.ndarray) -> np.ndarray:
    """Centres (N, 3), metres, of observed voxels just behind a surface and above the table."""
    inside = (grid > 1e-3) & (grid < 0.5)
    centres = (np.argwhere(inside) + 0.5) * VOXEL_SIZE
    return centres[centres[:, 2] > TABLE_HEIGHT + VOXEL_SIZE]


def _top_patch(xy: np.ndarray, start: np.ndarray, radius: float, steps: int = 3) -> np.ndarray:
    """Points of ``xy (N, 2)`` within ``radius`` of a centre found by a few mean-shift steps from ``start``."""
    centre = start
    for _ in range(steps):
        patch = xy[np.linalg.norm(xy - centre, axis=1) <= radius]
        centre = patch.mean(axis=0)
    return xy[np.linalg.norm(xy - centre, axis=1) <= radius]


def _narrow_axis(xy: np.ndarray) -> np.ndarray:
    """Unit 2-vector along which the points ``xy (N, 2)`` spread least (world x if undecided)."""
    if len(xy) < 3:
        return np.array([1.0, 0.0])
    eigval, eigvec = np.linalg.eigh(np.cov(xy.T))
    if np.isclose(eigval[0], eigval[1], rtol=0.1):
        return np.array([1.0, 0.0])
    return eigvec[:, 0] / np.linalg.norm(eigvec[:, 0])
