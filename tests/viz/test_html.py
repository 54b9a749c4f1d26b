"""The viewer page: self-contained (three.js and the data inline, no external resources) and, in headless
Chromium, it draws with WebGL without errors.

The browser test needs Debian's ``chromium`` at ``/usr/bin/chromium``
(``apt-get install -y chromium``) and is skipped without it. It loads the page from a file with
the network features off and WebGL on SwiftShader, Chromium's software renderer
(``--use-angle=swiftshader --enable-unsafe-swiftshader``: no GPU needed; with ``--disable-gpu``
instead, Chromium falls back to the same renderer but logs a deprecation notice and a "GPU stall due
to ReadPixels" note into the console), waits up to 5 s of virtual time and reads the DOM: the page's
own error hooks write ``data-errors`` (``window.onerror``, unhandled rejections, ``console.error``);
``viewer.js`` writes ``data-webgl``, ``data-calls``, ``data-triangles``, ``data-layers`` and
``data-pixels`` (non-background canvas pixels read back after the first frame). Console messages
(``--enable-logging=stderr``) must be empty too.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from igd.viz.html import MAX_CLOUD_POINTS, page_data, render_html

CHROMIUM = Path("/usr/bin/chromium")
#: Flags of the browser test: headless, no sandbox (root in CI), software WebGL, no network on its own.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
                  "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--window-size=1200,800", "--virtual-time-budget=5000", "--enable-logging=stderr",
                  "--v=0", "--dump-dom")
#: The one address in the page: the XHTML namespace three.js creates its canvas in (not a request).
XHTML = "http://www.w3.org/1999/xhtml"
VENDOR = Path(__file__).resolve().parents[2] / "src" / "igd" / "viz" / "vendor"


def read_data(text: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="data">(.*?)</script>', text, re.DOTALL).group(1))


def test_page_is_self_contained(igd_view):
    _, path = igd_view
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"https?://", text.replace(XHTML, ""), re.IGNORECASE), "the page names a web address"
    assert not re.search(r"<(link|img|iframe|object|embed)\b", text, re.IGNORECASE)
    assert not re.search(r"<script[^>]*\bsrc=", text, re.IGNORECASE)
    assert not re.search(r"\bimport\s*\(|\bimport\s+[\w{*]", text), "a module import would need a server"
    assert "@import" not in text and "url(" not in text and "fetch(" not in text and "XMLHttpRequest" not in text
    assert "var IGD3=" in text and "OrbitControls" in text  # three.js inline
    assert 500_000 < path.stat().st_size < 3_000_000


def test_vendored_three_is_documented():
    bundle = (VENDOR / "three.bundle.min.js").read_text(encoding="utf-8")
    version = re.search(r"npm three@(\d+\.\d+\.\d+)", bundle.splitlines()[0]).group(1)
    readme = (VENDOR / "README.md").read_text(encoding="utf-8")
    assert f"three@{version}" in readme and f"THREE={version}" in (VENDOR / "build.sh").read_text(encoding="utf-8")
    assert "MIT License" in (VENDOR / "LICENSE-three.txt").read_text(encoding="utf-8")


def test_page_data_round_trips(igd_view):
    layers, path = igd_view
    data = read_data(path.read_text(encoding="utf-8"))
    assert data["title"] == layers.title and data["meta"]["scene"] == "box"
    assert len(layers.mesh_faces) > 0 and len(data["mesh"]["f"]) == 3 * len(layers.mesh_faces)
    grasps = data["grasps"]["list"]
    assert len(grasps) == 3 and grasps[0]["score"] == 0.9 and data["grasps"]["executed"] == 0
    assert all(len(g["s"]) == 4 * 2 * 3 for g in grasps)  # four segments per gripper
    assert len(data["paths"]["samples"]) == 6 and data["paths"]["steps"] == layers.traj_quats.shape[0] - 1
    assert [o["name"] for o in data["objects"]] == ["box"] and len(data["objects"][0]["f"]) == 36
    assert len(data["cloud"]["p"]) == 3 * 320 and data["cloud"]["total"] == 320
    assert data["workspace"] == {"size": 0.3, "table": 0.05, "tick": 0.05, "voxel": 0.0075}


def test_large_cloud_is_thinned(igd_view):
    import numpy as np

    layers, _ = igd_view
    cloud = np.random.default_rng(0).uniform(0, 0.3, (3 * MAX_CLOUD_POINTS, 3))
    data = page_data(type(layers)(**{**layers.__dict__, "cloud_points": cloud}))
    assert len(data["cloud"]["p"]) == 3 * MAX_CLOUD_POINTS and data["cloud"]["total"] == len(cloud)


def test_title_and_data_are_escaped(igd_view):
    layers, _ = igd_view
    layers = type(layers)(**{**layers.__dict__, "title": "</script><b>x __DATA__", "notes": ["</script><!--"]})
    page = render_html(layers)
    assert "</script><b>" not in page and "<!--" not in page
    assert page.count("</script>") == 4  # the error hook, three.js, the data, viewer.js
    assert read_data(page)["title"] == "</script><b>x __DATA__"  # placeholders are filled once


@pytest.mark.skipif(not CHROMIUM.exists(), reason="headless browser test needs /usr/bin/chromium "
                    "(apt-get install -y chromium)")
def test_page_draws_with_webgl_in_chromium(igd_view, tmp_path):
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
    assert attrs.get("data-webgl") in ("1", "2") and int(attrs["data-frames"]) >= 1
    shown = attrs["data-layers"].split()
    assert shown == ["surface", "heat", "executed", "grasps", "paths", "objects", "axes"]  # the cloud starts hidden
    assert int(attrs["data-calls"]) > 20  # meshes, instanced heat, gripper rods, lines, label sprites
    assert int(attrs["data-triangles"]) > 5_000
    assert int(attrs["data-pixels"]) > 50_000  # of the ~900 x 750 canvas, read back from WebGL
