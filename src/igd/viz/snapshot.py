"""PNG snapshots of a view (matplotlib's mplot3d, Agg; no display needed), for reports and the docs.

The same layers as the page (:func:`igd.viz.scene.drawables`) from a fixed camera (``ELEVATION``,
``AZIMUTH``: roughly the benchmark's side camera, turned a little), so one scene always gives the
same picture. mplot3d sorts whole collections, not primitives: the mesh is drawn first, then the heat,
then the lines on top, the executed grasp (the best) last, thick and magenta as on the page.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from igd.constants import SIZE
from igd.viz.scene import CMAPS, ViewLayers, drawables

__all__ = ["AZIMUTH", "ELEVATION", "write_png"]

#: The colour of the executed grasp, as on the page.
EXECUTED = "#ff1ad9"
#: The snapshot's view angles (degrees), matplotlib's convention.
ELEVATION = 32.0
AZIMUTH = -70.0


def _shade(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Per-face RGBA ``(F, 4)``: a light grey-blue, Lambert-lit from the viewer's side (two-sided)."""
    tri = vertices[faces]
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-12)
    el, az = np.radians(ELEVATION), np.radians(AZIMUTH)
    towards_eye = np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
    k = 0.35 + 0.65 * np.abs(normal @ towards_eye)
    base = np.array([170, 180, 200]) / 255.0
    return np.concatenate([k[:, None] * base, np.ones((len(k), 1))], axis=1)


def write_png(layers: ViewLayers, path: str | Path, size: tuple[int, int] = (960, 720), dpi: int = 100) -> Path:
    """Draw ``layers`` into a PNG of ``size`` pixels at ``path`` (parents created); returns the path."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import LinearSegmentedColormap, Normalize
    from matplotlib.figure import Figure
    from mpl_toolkits.mplot3d.art3d import Line3DCollection, Poly3DCollection

    d = drawables(layers)
    fig = Figure(figsize=(size[0] / dpi, size[1] / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.0, 0.0, 0.84, 0.93), projection="3d", computed_zorder=False)
    verts, faces = d["mesh"]["vertices"], d["mesh"]["faces"]
    if len(faces):
        colours = _shade(verts, faces)
        ax.add_collection3d(Poly3DCollection(verts[faces], facecolors=colours, edgecolors=colours, linewidths=0.3,
                                             zorder=1))
    heat = d["heat"]
    if len(heat["points"]):
        p = heat["points"]
        ax.scatter(p[:, 0], p[:, 1], p[:, 2], c=heat["colours"], s=6, marker="s", depthshade=False, alpha=0.8,
                   linewidths=0, zorder=2)
    for name, width, z in (("paths", 1.2, 3), ("pose_paths", 1.2, 3), ("grasps", 2.2, 4)):
        if len(d[name]["segments"]):
            ax.add_collection3d(Line3DCollection(d[name]["segments"], colors=d[name]["colours"], linewidths=width,
                                                 zorder=z))
    if len(d["grasps"]["segments"]):  # the executed grasp (the best, first): thick, in the page's magenta
        ax.add_collection3d(Line3DCollection(d["grasps"]["segments"][:4], colors=EXECUTED, linewidths=4.0, zorder=5))
    ax.set(xlim=(0, SIZE), ylim=(0, SIZE), zlim=(0, SIZE), xlabel="x (m)", ylabel="y (m)", zlabel="z (m)")
    ax.set_box_aspect((1, 1, 1))
    ax.view_init(elev=ELEVATION, azim=AZIMUTH)
    ax.tick_params(labelsize=7)
    meta = "  ".join(f"{k}: {v}" for k, v in layers.meta.items())
    fig.suptitle(f"{layers.title}\n{meta}", fontsize=9, y=0.99)
    cax = fig.add_axes((0.86, 0.55, 0.025, 0.33))
    scores = ScalarMappable(Normalize(0, 1), LinearSegmentedColormap.from_list("viridis", CMAPS["viridis"]))
    fig.colorbar(scores, cax=cax).set_label("grasp score", fontsize=8)
    if len(heat["points"]):
        lo = float(layers.meta.get("heat threshold", 0.5))
        hax = fig.add_axes((0.86, 0.12, 0.025, 0.33))
        inferno = ScalarMappable(Normalize(lo, 1), LinearSegmentedColormap.from_list("inferno", CMAPS["inferno"]))
        fig.colorbar(inferno, cax=hax).set_label(layers.heat_label, fontsize=8)
    for a in fig.axes[1:]:
        a.tick_params(labelsize=7)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=dpi, metadata={"Software": None})
    return path
