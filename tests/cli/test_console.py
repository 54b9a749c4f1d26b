"""The console shows our output only: no third-party banners (PyBullet's ``pybullet build time`` and
``argv[0]=``), and what we print ourselves, errors included, still gets through."""

import os
import subprocess
import sys

from igd_cli import run_igd

BANNERS = ("pybullet build time", "argv[0]=")


def assert_quiet(result):
    text = result.stdout + result.stderr
    assert not [b for b in BANNERS if b in text], text


def test_detect_example_and_view_print_no_banner(tmp_path):
    result = run_igd("detect", "--example", tmp_path / "ex", "--example-objects", "blocks", timeout=300)
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stdout and "next: igd detect" in result.stdout
    assert_quiet(result)
    result = run_igd("view", "--planner", "topdown", "--objects", "blocks", "--out", tmp_path / "v.html", timeout=300)
    assert result.returncode == 0, result.stderr
    assert "topdown: 1 grasp(s)" in result.stdout and (tmp_path / "v.html").is_file()
    assert_quiet(result)


def test_worlds_connect_quietly_and_keep_our_output():
    """Many connects (the simulator's world and the fast labeller's probe); what we write around and
    inside the quiet blocks arrives, in order per stream; an error inside still gets its traceback."""
    code = "\n".join([
        "import os, sys",
        "print('before', flush=True)",
        "from igd.sim.world import World",
        "from igd.sim.probe import probe_world",
        "from igd.sim.bullet import quiet_native_output",
        "for _ in range(3): World().close()",
        "probe_world()",
        "with quiet_native_output():",
        "    print('inside'); print('inside err', file=sys.stderr); os.write(1, b'raw\\n')",
        "print('after', flush=True)",
        "with quiet_native_output():",
        "    raise RuntimeError('ours')",
    ])
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert result.returncode == 1
    assert result.stdout.splitlines() == ["before", "inside", "raw", "after"]
    assert "inside err" in result.stderr and "RuntimeError: ours" in result.stderr
    assert_quiet(result)
