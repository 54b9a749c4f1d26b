""":mod:`igd.threads`: which thread count the commands and the API plan with, and how to override it."""

import os
import subprocess
import sys

import pytest
from igd_cli import igd_command, run_igd

from igd.errors import IGDError
from igd.threads import ENV_VAR, FALLBACK_THREADS, choose_threads, configure_threads, default_threads

NATIVE = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "IGD_THREADS", "OMP_WAIT_POLICY")
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


@pytest.fixture
def clean_env(monkeypatch):
    for var in NATIVE:
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


@pytest.fixture
def restore_torch_threads():
    import torch

    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_choice_order(clean_env):
    assert choose_threads() == (None, "default")
    assert default_threads(passive=True) == CORES and default_threads(passive=False) == FALLBACK_THREADS == 1
    clean_env.setenv("OMP_NUM_THREADS", "3")
    assert choose_threads() == (3, "OMP_NUM_THREADS")
    clean_env.setenv("OMP_NUM_THREADS", "4,2")  # OpenMP's nested form counts by its first level
    assert choose_threads() == (4, "OMP_NUM_THREADS")
    clean_env.setenv(ENV_VAR, "2")
    assert choose_threads() == (2, ENV_VAR)
    assert choose_threads(5) == (5, "argument")
    assert choose_threads(0) == (0, "argument")  # 0: torch's own choice


@pytest.mark.parametrize("bad", [-1, "two", True])
def test_bad_counts_are_one_line_errors(clean_env, bad):
    with pytest.raises(IGDError, match="whole number of threads"):
        choose_threads(bad)


def test_bad_env_var_names_it(clean_env):
    clean_env.setenv(ENV_VAR, "many")
    with pytest.raises(IGDError, match=f"{ENV_VAR}: expected a whole number"):
        choose_threads()


def test_configure_sets_torch(clean_env, restore_torch_threads):
    import torch

    assert configure_threads(2) == 2 == torch.get_num_threads()
    assert configure_threads() == 1 == torch.get_num_threads()  # torch loaded, OpenMP may spin: one thread
    clean_env.setenv("OMP_WAIT_POLICY", "passive")
    assert configure_threads() == CORES == torch.get_num_threads()
    torch.set_num_threads(2)
    assert configure_threads(0) == 2  # left alone


def _fresh(code: str, **env) -> str:
    """``code`` in a new interpreter without any thread variable set (plus ``env``); its stdout."""
    base = {k: v for k, v in os.environ.items() if k not in NATIVE}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env={**base, **env})
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_api_default_in_a_fresh_process():
    show = "import torch, os; print(torch.get_num_threads(), os.environ.get('OMP_WAIT_POLICY'))"
    # igd.load before torch loads: one thread per core, waiting passively
    assert _fresh(f"import igd; igd.load('topdown'); {show}") == f"{CORES} PASSIVE"
    # torch loaded first, OpenMP's own (spinning) waiting: one thread, and the policy is not touched
    assert _fresh(f"import torch, igd; igd.load('topdown'); {show}") == "1 None"
    assert _fresh(f"import torch, igd; igd.load('topdown'); {show}", OMP_WAIT_POLICY="passive") == f"{CORES} passive"
    # an explicit count, before torch loads: the native libraries start with it too
    code = ("import os, igd.threads as t; t.configure_threads(1); import torch; "
            "print(torch.get_num_threads(), os.environ['OMP_NUM_THREADS'], os.environ['OPENBLAS_NUM_THREADS'])")
    assert _fresh(code) == "1 1 1"
    assert _fresh(f"import igd; igd.load('topdown'); {show}", IGD_THREADS="1") == "1 PASSIVE"
    assert _fresh(f"import torch, igd; igd.load('topdown', threads=2); {show}") == "2 None"
    assert _fresh(f"import igd; igd.load('topdown', threads=0); {show}") == f"{CORES} None"  # torch's own


def test_detect_default_in_a_fresh_process(tmp_path):
    example = tmp_path / "ex"
    assert run_igd("detect", "--example", example, "--example-objects", "blocks", timeout=300).returncode == 0
    args = ["detect", "--depth", example / "depth.png", "--intrinsics", example / "K.json", "--extrinsic",
            example / "T.json", "--workspace", example / "WS.json", "--planner", "topdown"]
    base = {k: v for k, v in os.environ.items() if k not in NATIVE}
    for extra, threads in (([], CORES), (["--threads", "1"], 1)):
        result = subprocess.run(igd_command(*args, *extra), capture_output=True, text=True, timeout=300, env=base)
        assert result.returncode == 0, result.stderr
        assert f"ms on {threads} thread{'s' * (threads != 1)})" in result.stdout, result.stdout


@pytest.mark.parametrize("command", ["detect", "view", "demo"])
def test_help_says_how_to_override(command):
    result = run_igd(command, "--help")
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "--threads N" in text and "$IGD_THREADS" in text and "$OMP_NUM_THREADS" in text
