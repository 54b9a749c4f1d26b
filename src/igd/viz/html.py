"""Write the viewer page: one self-contained HTML file (inline data, three.js inline, no network).

The page (:data:`igd.viz._page.PAGE`) holds three scripts: the vendored three.js bundle
(``vendor/three.bundle.min.js``, three.js and its OrbitControls, MIT; ``vendor/README.md`` says how
it is built), the layers as JSON (:func:`page_data`) and ``viewer.js``, which builds the scene.
``viewer.js`` writes ``html[data-webgl]``, ``data-frames``, ``data-calls``, ``data-triangles``,
``data-layers`` and, after the first frame, ``data-pixels`` (canvas pixels that differ from the
background); the page's first script records script errors into ``#errors`` and
``html[data-errors]``: the browser test reads them.
"""

from __future__ import annotations

import html
import json
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from igd.constants import SIZE, TABLE_HEIGHT, VOXEL_SIZE
from igd.viz._page import PAGE
from igd.viz.scene import CMAPS, SAMPLE_COLOURS, ViewLayers, colormap, drawables

__all__ = ["page_data", "render_html", "write_html"]

#: Coordinates are written to 0.1 mm.
DECIMALS = 4
#: At most this many points of the observed cloud go into the page (evenly spaced in its order).
MAX_CLOUD_POINTS = 6000
#: The ticks of the axes (metres).
TICK = 0.05
#: Colours of the true objects (matplotlib's Pastel1 and Set2, light enough to see the surface through).
OBJECT_COLOURS = ("#e8a27c", "#8fc1e3", "#9fd89a", "#d7a6e0", "#f2d17a", "#f4a6b5", "#a6d8d0", "#c9b79c")
HERE = Path(__file__).resolve().parent


@lru_cache(maxsize=None)
def _asset(name: str) -> str:
    """A script that ships with the package (``vendor/three.bundle.min.js``, ``viewer.js``), checked to be
    safe inside an inline ``<script>`` block."""
    path = HERE / name
    if not path.is_file():
        from igd.errors import IGDError

        raise IGDError(f"the viewer's script {path} is missing: reinstall igd (it ships in the package data)")
    text = path.read_text(encoding="utf-8")
    if re.search(r"</script|<!--", text, re.IGNORECASE):
        raise ValueError(f"{path} cannot be inlined: it contains '</script' or '<!--'")
    return text


def _flat(a: np.ndarray, decimals: int = DECIMALS) -> list:
    return np.round(np.asarray(a, dtype=np.float64).reshape(-1), decimals).tolist()


def _rgb(colours: np.ndarray) -> list:
    """Colours ``(N, 3)`` in [0, 1] → flat 0..255 ints."""
    return np.clip(np.rint(np.asarray(colours) * 255), 0, 255).astype(int).reshape(-1).tolist()


def _hex(rgb) -> str:
    return "#" + "".join(f"{round(255 * float(c)):02x}" for c in rgb)


def _cloud(layers: ViewLayers) -> dict:
    cloud = np.zeros((0, 3)) if layers.cloud_points is None else np.asarray(layers.cloud_points).reshape(-1, 3)
    keep = cloud if len(cloud) <= MAX_CLOUD_POINTS else cloud[np.linspace(0, len(cloud) - 1, MAX_CLOUD_POINTS).astype(int)]
    return {"p": _flat(keep), "total": len(cloud)}


def _grasps(layers: ViewLayers, segments: np.ndarray) -> dict:
    """The top grasps best first, each with its 4 segments; the first is the executed one (the benchmark
    executes the best grasp, docs/benchmark.md)."""
    segments = segments.reshape(-1, 4, 2, 3)
    rows = [{"score": round(float(s), 4), "width": round(float(w), 4), "colour": _hex(c), "position": _flat(p[:3, 3]),
             "s": _flat(seg)}
            for s, w, p, c, seg in zip(layers.grasp_scores, layers.grasp_widths, layers.grasp_poses,
                                       colormap(layers.grasp_scores), segments)]
    return {"list": rows, "executed": 0 if rows else None}


def page_data(layers: ViewLayers) -> dict:
    """The JSON-able data the page draws (flat lists; see :func:`igd.viz.scene.drawables` for the layers)."""
    d = drawables(layers)
    samples = 0 if layers.traj_quats is None else int(layers.traj_quats.shape[1])
    steps = 0 if layers.traj_quats is None else int(layers.traj_quats.shape[0] - 1)
    pose_samples = 0 if layers.pose_paths is None else int(layers.pose_paths.shape[1])
    pose_steps = 0 if layers.pose_paths is None else int(layers.pose_paths.shape[0] - 1)
    objects = [{"name": str(name), "v": _flat(v), "f": np.asarray(f).reshape(-1).tolist(),
                "colour": OBJECT_COLOURS[i % len(OBJECT_COLOURS)]}
               for i, (name, v, f) in enumerate(layers.objects)]
    return {
        "title": layers.title, "meta": layers.meta, "notes": layers.notes,
        "workspace": {"size": round(SIZE, 6), "table": round(TABLE_HEIGHT, 6), "tick": TICK,
                      "voxel": round(VOXEL_SIZE, 6)},
        "mesh": {"v": _flat(d["mesh"]["vertices"]), "f": np.asarray(d["mesh"]["faces"]).reshape(-1).tolist()},
        "cloud": _cloud(layers),
        "heat": {"p": _flat(d["heat"]["points"]), "c": _rgb(d["heat"]["colours"]), "label": layers.heat_label,
                 "count": len(layers.heat_values), "threshold": layers.meta.get("heat threshold", ""),
                 "max": round(float(layers.heat_values.max()), 4) if len(layers.heat_values) else None},
        "grasps": _grasps(layers, d["grasps"]["segments"]),
        "paths": {"s": _flat(d["paths"]["segments"]), "c": _rgb(d["paths"]["colours"]),
                  "point": None if layers.traj_point is None else _flat(layers.traj_point),
                  "samples": [_hex(SAMPLE_COLOURS[m % len(SAMPLE_COLOURS)]) for m in range(samples)],
                  "steps": steps},
        "posepaths": {"s": _flat(d["pose_paths"]["segments"]), "c": _rgb(d["pose_paths"]["colours"]),
                      "samples": [_hex(SAMPLE_COLOURS[m % len(SAMPLE_COLOURS)]) for m in range(pose_samples)],
                      "steps": pose_steps},
        "objects": objects,
        "cmaps": {name: [_hex(c) for c in anchors] for name, anchors in CMAPS.items()},
    }


def render_html(layers: ViewLayers) -> str:
    """The page as a string."""
    data = json.dumps(page_data(layers), separators=(",", ":"), allow_nan=False)
    data = data.replace("</", "<\\/").replace("<!--", "<\\u0021--")  # never close the script block early
    parts = {"TITLE": html.escape(layers.title), "THREE": _asset("vendor/three.bundle.min.js"), "DATA": data,
             "VIEWER": _asset("viewer.js")}
    return re.sub(r"__(TITLE|THREE|DATA|VIEWER)__", lambda m: parts[m.group(1)], PAGE)  # one pass: no re-scan


def write_html(layers: ViewLayers, path: str | Path) -> Path:
    """Write the page to ``path`` (parents created); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(layers), encoding="utf-8")
    return path
