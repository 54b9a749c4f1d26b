"""The query lattice of the implicit planners (GIGA, IGD): one grasp centre per voxel."""

from __future__ import annotations

from igd.constants import RESOLUTION

__all__ = ["query_points"]


def query_points(device=None):
    """The 40³ grasp centres in normalised coordinates, ``(1, 64000, 3)``, in voxel order ``(i, j, k)``.

    Voxel ``(i, j, k)`` is queried at ``(i, j, k) · 0.0075`` m, i.e. ``(i, j, k) / 40 − 0.5`` normalised:
    no half voxel, the convention of the dense output of VGN and of GIGA's
    ``detection_implicit.py``, and where :func:`igd.planners.postprocess.select` places the grasp.
    """
    import torch

    index = torch.arange(RESOLUTION, dtype=torch.float32, device=device)
    lattice = torch.stack(torch.meshgrid(index, index, index, indexing="ij"), dim=-1)  # (40, 40, 40, 3)
    return (lattice / RESOLUTION - 0.5).reshape(1, -1, 3)
