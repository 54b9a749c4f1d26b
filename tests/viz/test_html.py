"""The viewer page: self-contained (no external resources) and, in headless Chromium, it loads without
errors and draws.

The browser test needs Debian's ``chromium`` at ``/usr/bin/chromium``
(``apt-get install -y chromium``) and is skipped without it. It loads the page from a file with
the network features off, waits up to 5 s of virtual time, and reads the DOM: the page's own
error hooks write ``data-errors`` (``window.onerror``, unhandled rejections, ``console.error``), its
renderer writes ``data-primitives`` and ``data-pixels`` (non-background canvas pixels) after the
first frame. Console messages (``--enable-logging=stderr``) must be empty too.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from igd.viz.html import render_html

CHROMIUM = Path("/usr/bin/chromium")
#: Flags of the browser test: headless, no sandbox (root in CI), no GPU, no network on its own.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--virtual-time-budget=5000", "--enable-logging=stderr", "--v=0", "--dump-dom")


def test_page_is_self_contained(igd_view):
    _, path = igd_view
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"https?://", text, re.IGNORECASE), "the page names a web address"
    assert not re.search(r"<(link|img|iframe|object|embed)\b", text, re.IGNORECASE)
    assert not re.search(r"<script[^>]*\bsrc=", text, re.IGNORECASE)
    assert "@import" not in text and "url(" not in text and "fetch(" not in text and "XMLHttpRequest" not in text
    assert path.stat().st_size < 3_000_000


def test_page_data_round_trips(igd_view):
    layers, path = igd_view
    text = path.read_text(encoding="utf-8")
    data = json.loads(re.search(r'<script type="application/json" id="data">(.*?)</script>', text, re.DOTALL).group(1))
    assert data["title"] == layers.title and data["meta"]["scene"] == "box"
    assert len(data["mesh"]["f"]) == 3 * len(layers.mesh_faces)
    assert len(data["grasps"]["list"]) == 3 and data["grasps"]["list"][0]["score"] == 0.9
    assert len(data["paths"]["samples"]) == 6 and data["paths"]["steps"] == layers.traj_quats.shape[0] - 1


def test_title_and_data_are_escaped(igd_view):
    layers, _ = igd_view
    layers = type(layers)(**{**layers.__dict__, "title": "</script><b>x", "notes": ["</script>"]})
    page = render_html(layers)
    assert "</script><b>" not in page and page.count("</script>") == 3  # the three script blocks only


@pytest.mark.skipif(not CHROMIUM.exists(), reason="headless browser test needs /usr/bin/chromium "
                    "(apt-get install -y chromium)")
def test_page_loads_and_draws_in_chromium(igd_view, tmp_path):
    _, path = igd_view
    cmd = [str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", path.resolve().as_uri()]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    root = re.search(r"<html[^>]*>", result.stdout)
    assert root, f"no page in the dump: {result.stdout[:500]!r}"
    attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', root.group(0)))
    errors = re.search(r'<pre id="errors"[^>]*>(.*?)</pre>', result.stdout, re.DOTALL).group(1)
    assert "data-errors" not in attrs, f"script errors: {errors}"
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    assert not console, f"console messages: {console}"
    assert attrs.get("data-frames") == "1"
    assert int(attrs["data-primitives"]) > 1000  # triangles, heat squares and line segments
    assert int(attrs["data-pixels"]) > 10_000  # of the 900 x 640 canvas
