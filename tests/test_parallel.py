"""igd.parallel: a Ctrl-C stops a run on Ray workers long before its tasks would have finished."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

# Two Ray workers, each busy in a task far longer than the test waits.
SCRIPT = r"""
import pathlib, signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal (a background job ignores it)
from igd.parallel import run_tasks

def task(cfg, i):
    pathlib.Path(cfg["marks"], str(i)).touch()  # the test waits for these: the tasks are running
    time.sleep(300)
    return i

try:  # run_tasks starts and stops its own local Ray cluster, as igd generate / process / mine / bench do
    run_tasks(task, {"marks": sys.argv[1]}, [(0,), (1,)], lambda r: print("finished", r, flush=True), workers=2,
              address=None, describe=str)
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(130)
"""


@pytest.mark.slow
def test_sigint_stops_a_ray_run(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(tmp_path)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        deadline = time.monotonic() + 120
        while len(list(tmp_path.iterdir())) < 2:  # both tasks started on their workers
            assert proc.poll() is None and time.monotonic() < deadline, "the tasks never started"
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=120)  # the tasks would take 300 s
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert "interrupted" in out and "finished" not in out
