"""Fixed points in the gripper's TCP frame: where the pose-space planners (SE(3)-DiF, dGrasp) read
the scene around a candidate pose ``H``, at ``H · x_i``.

SE(3)-DiF's reference draws 30 points uniform in a box around its hand, in its hand frame (origin at
the hand base): ``x ±0.0875, y ±0.0625, z ∈ [−0.025, 0.15]`` m. Our TCP frame (docs/frames.md) has
``z`` the approach, ``y`` the closing direction and its origin 0.062 m ahead of the hand's link frame;
the same box here is :data:`GRIPPER_BOX` (the two horizontal extents swapped so that the long side
runs along the closing axis as the hand's does, ``z`` shifted by the TCP offset). The planners that
use it say so in their README and check it against the hand (docs/simulator.md, "The gripper").
"""

from __future__ import annotations

import numpy as np

__all__ = ["GRIPPER_BOX", "gripper_points"]

#: ``((x_lo, x_hi), (y_lo, y_hi), (z_lo, z_hi))`` of the box, metres, TCP frame.
GRIPPER_BOX = ((-0.0625, 0.0625), (-0.0875, 0.0875), (-0.087, 0.088))


def gripper_points(n: int = 30, seed: int = 0, box=GRIPPER_BOX) -> np.ndarray:
    """``n`` points uniform in ``box`` (TCP frame, metres), ``(n, 3)`` float32, drawn from ``seed``
    (fixed once per network: they are part of its definition and saved with its config)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"gripper_points wants n >= 1 points, got {n!r}")
    lo, hi = np.asarray(box, dtype=np.float64).T
    if lo.shape != (3,) or not np.all(hi > lo):
        raise ValueError(f"gripper_points wants a box ((lo, hi),) * 3 with hi > lo, got {box!r}")
    rng = np.random.default_rng(seed)
    return (lo + (hi - lo) * rng.random((int(n), 3))).astype(np.float32)
