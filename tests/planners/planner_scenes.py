"""Synthetic encoded TSDF grids (docs/perception.md#tsdf) of simple scenes for the planner tests (no simulator)."""

from __future__ import annotations

import numpy as np

from igd.constants import RESOLUTION, TABLE_HEIGHT, TRUNCATION, VOXEL_SIZE


def box_sdf(points: np.ndarray, center, half_extents) -> np.ndarray:
    """Signed distance (N,) of ``points (N, 3)`` to an axis-aligned box, metres (negative inside)."""
    q = np.abs(points - np.asarray(center)) - np.asarray(half_extents)
    return np.linalg.norm(np.maximum(q, 0.0), axis=1) + np.minimum(q.max(axis=1), 0.0)


def encode(sdf: np.ndarray) -> np.ndarray:
    """Encoded grid (docs/perception.md#tsdf) from signed distances at the voxel centres, ``(40, 40, 40)``."""
    tsdf = np.clip(sdf / TRUNCATION, -1.0, 1.0)
    return np.where((tsdf >= -0.98) & (tsdf < 0.98), (tsdf + 1.0) / 2.0, 0.0).astype(np.float32)


def make_box_grid(center=(0.15, 0.15, 0.08), half_extents=(0.025, 0.02, 0.03)) -> np.ndarray:
    """A fully observed box standing on the table: encoded grid ``(1, 40, 40, 40)`` float32.

    Default: a 5 x 4 x 6 cm box centred in the workspace, its bottom on the table (z = 0.05).
    """
    idx = np.stack(np.meshgrid(*[np.arange(RESOLUTION)] * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    centres = (idx + 0.5) * VOXEL_SIZE
    sdf = np.minimum(box_sdf(centres, center, half_extents), centres[:, 2] - TABLE_HEIGHT)
    return encode(sdf).reshape((1,) + (RESOLUTION,) * 3)
