"""Write the viewer page: one self-contained HTML file (inline data, our own canvas-2D renderer, no network).

The page (:data:`igd.viz._page.PAGE`) reads its data from an inline ``<script type="application/json">``
block. It records script errors into the DOM (``#errors`` and ``body[data-errors]``) and, after each
frame, writes ``body[data-frames]``, ``body[data-primitives]`` (primitives drawn) and, after the first,
``body[data-pixels]`` (canvas pixels that differ from the background): the browser test reads them.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np

from igd.viz._page import PAGE
from igd.viz.scene import CMAPS, SAMPLE_COLOURS, ViewLayers, drawables

__all__ = ["page_data", "render_html", "write_html"]

#: Coordinates are written to 0.1 mm.
DECIMALS = 4


def _flat(a: np.ndarray, decimals: int = DECIMALS) -> list:
    return np.round(np.asarray(a, dtype=np.float64).reshape(-1), decimals).tolist()


def _rgb(colours: np.ndarray) -> list:
    """Colours ``(N, 3)`` in [0, 1] → flat 0..255 ints."""
    return np.clip(np.rint(np.asarray(colours) * 255), 0, 255).astype(int).reshape(-1).tolist()


def _hex(rgb) -> str:
    return "#" + "".join(f"{round(255 * float(c)):02x}" for c in rgb)


def page_data(layers: ViewLayers) -> dict:
    """The JSON-able data the page draws (flat lists; see :func:`igd.viz.scene.drawables` for the layers)."""
    d = drawables(layers)
    grasps = [{"score": round(float(s), 4), "width": round(float(w), 4), "colour": _hex(c),
               "position": _flat(p[:3, 3])}
              for s, w, p, c in zip(layers.grasp_scores, layers.grasp_widths, layers.grasp_poses,
                                    d["grasps"]["colours"][::4])]
    samples = 0 if layers.traj_quats is None else int(layers.traj_quats.shape[1])
    steps = 0 if layers.traj_quats is None else int(layers.traj_quats.shape[0] - 1)
    return {
        "title": layers.title, "meta": layers.meta, "notes": layers.notes,
        "mesh": {"v": _flat(d["mesh"]["vertices"]), "f": np.asarray(d["mesh"]["faces"]).reshape(-1).tolist()},
        "heat": {"p": _flat(d["heat"]["points"]), "c": _rgb(d["heat"]["colours"]), "label": layers.heat_label,
                 "count": len(layers.heat_values),
                 "max": round(float(layers.heat_values.max()), 4) if len(layers.heat_values) else None},
        "grasps": {"s": _flat(d["grasps"]["segments"]), "c": _rgb(d["grasps"]["colours"]), "list": grasps},
        "paths": {"s": _flat(d["paths"]["segments"]), "c": _rgb(d["paths"]["colours"]),
                  "point": None if layers.traj_point is None else _flat(layers.traj_point),
                  "samples": [_hex(SAMPLE_COLOURS[m % len(SAMPLE_COLOURS)]) for m in range(samples)],
                  "steps": steps},
        "cmaps": {name: [_hex(c) for c in anchors] for name, anchors in CMAPS.items()},
    }


def render_html(layers: ViewLayers) -> str:
    """The page as a string."""
    data = json.dumps(page_data(layers), separators=(",", ":"), allow_nan=False)
    data = data.replace("</", "<\\/")  # never close the script block early
    return PAGE.replace("__TITLE__", html.escape(layers.title)).replace("__DATA__", data)


def write_html(layers: ViewLayers, path: str | Path) -> Path:
    """Write the page to ``path`` (parents created); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(layers), encoding="utf-8")
    return path
