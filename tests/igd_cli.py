"""Running the ``igd`` command line as a separate process in tests: plainly, or killed mid-run."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable


def igd_command(*args) -> list[str]:
    """The argv of ``igd ARGS...``: the installed script, or ``python -m igd.cli.main``."""
    script = Path(sys.executable).with_name("igd")
    head = [str(script)] if script.exists() else [sys.executable, "-m", "igd.cli.main"]
    return head + [str(a) for a in args]


def run_igd(*args, cwd=None, timeout: float = 120) -> subprocess.CompletedProcess:
    """``igd ARGS...`` to completion, output captured as text."""
    return subprocess.run(igd_command(*args), capture_output=True, text=True, timeout=timeout, cwd=cwd)


def kill_when(args, ready: Callable[[], bool], timeout: float = 300, poll: float = 0.05, env=None) -> bool:
    """Start ``igd ARGS...``, SIGKILL it as soon as ``ready()`` holds (or it exits, or ``timeout``
    seconds pass), wait for it; returns ``ready()`` at the kill."""
    proc = subprocess.Popen(igd_command(*args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + timeout
        while not ready() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(poll)
        was_ready = ready()
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    return was_ready
