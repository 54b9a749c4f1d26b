"""igd.parallel: a Ctrl-C stops a run on Ray workers long before its tasks would have finished."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

# Two Ray workers, each busy in a task far longer than the test waits; prints "ready" once the tasks run.
SCRIPT = r"""
import signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal (a background job ignores it)
from igd.parallel import run_tasks

def task(cfg, i):
    time.sleep(300)
    return i

import ray
ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
print("ready", flush=True)
try:
    run_tasks(task, {}, [(0,), (1,)], lambda r: print("finished", r, flush=True), workers=2, address=None,
              describe=str)
except KeyboardInterrupt:
    print("interrupted", flush=True)
    ray.shutdown()
    sys.exit(130)
"""


@pytest.mark.slow
def test_sigint_stops_a_ray_run():
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(5)  # the tasks are running on the workers
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=120)  # the tasks would take 300 s
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert "interrupted" in out and "finished" not in out
