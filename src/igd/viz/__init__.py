"""The grasp viewer: one self-contained HTML page (and optionally a PNG) of a planner's view of a scene.

:func:`write_view` computes the layers (:mod:`igd.viz.scene`: the TSDF surface, the affordance or
quality heat, the top-k grasps, IGD's denoising paths at one point, the pose-space planners' pose paths) and writes the page
(:mod:`igd.viz.html`, three.js inline, works offline) and the PNG
(:mod:`igd.viz.snapshot`, matplotlib). Importing :mod:`igd.viz` imports nothing heavy; numpy,
scikit-image and matplotlib come on first use. See ``docs/viewer.md``.

Example::

    from igd.viz import write_view
    grasps = planner.plan(observation)
    write_view(planner, observation, grasps, "view.html", png="view.png", top=5, samples=8)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__ = ["write_view"]


def write_view(planner, observation, grasps, path: str | Path, *, png: str | Path | None = None, top: int = 5,
               point: Sequence[float] | None = None, samples: int = 8, seed: int = 0,
               heat_threshold: float = 0.5, title: str = "", meta: dict | None = None, objects: Sequence[tuple] = ()):
    """Write the viewer page of ``planner`` on ``observation`` with its ``grasps`` to ``path`` (and a PNG).

    Args:
        planner: any :class:`~igd.planners.base.Planner`; its ``affordance`` or ``volumes`` give the heat and,
            for IGD, ``sample_trajectories`` the denoising paths, for SE(3)-DiF and dGrasp ``pose_trajectories`` the
            pose paths (layers a planner cannot give are left out).
        observation: the :class:`~igd.planners.base.Observation` the grasps were planned on.
        grasps: :class:`~igd.planners.base.Grasps` (best first); the ``top`` best are drawn.
        path: the HTML file to write. png: also write this PNG snapshot.
        point: ``(3,)`` metres, where the denoising paths start (default: the best grasp's position).
        samples: number of denoising (or pose) paths; seed: their noise.
        heat_threshold: heat voxels at or below it are not drawn.
        title, meta: the page's title and the ``key: value`` line under it (e.g. scene, seed).
        objects: the true meshes of a simulated scene, ``(name, vertices (V, 3), faces (F, 3))`` in the workspace
            frame (:attr:`igd.viz.simulated.SimulatedView.objects`): a layer beside the reconstruction.

    Returns the :class:`~igd.viz.scene.ViewLayers` drawn.
    """
    from igd.viz.html import write_html
    from igd.viz.scene import compute_layers

    layers = compute_layers(planner, observation, grasps, top=top, point=point, samples=samples, seed=seed,
                            heat_threshold=heat_threshold, title=title, meta=meta, objects=objects)
    write_html(layers, path)
    if png is not None:
        from igd.viz.snapshot import write_png

        write_png(layers, png)
    return layers
