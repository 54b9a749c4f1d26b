"""The PNG snapshot of a view."""

from __future__ import annotations

import numpy as np
from PIL import Image

from igd.viz.snapshot import write_png


def test_png_is_a_picture(igd_view, tmp_path):
    layers, _ = igd_view
    path = write_png(layers, tmp_path / "sub" / "view.png", size=(480, 360))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(path) as image:
        assert image.size == (480, 360)
        pixels = np.asarray(image.convert("RGB")).reshape(-1, 3)
    background = np.all(pixels == 255, axis=1)
    assert 0.05 < 1 - background.mean() < 0.95  # something is drawn, not everything
    assert len(np.unique(pixels, axis=0)) > 50  # shading, colours: not a flat fill
