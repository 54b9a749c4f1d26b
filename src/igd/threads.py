"""How many threads planning uses, and how they wait: one choice for every entry point that plans.

torch's CPU kernels run on OpenMP threads that, by OpenMP's default, spin while they wait for each
other at the end of every parallel region. When other jobs hold the cores a spinning thread burns
the CPU time its partner needs: on two cores with a busy loop per core a plan took 18-30× as long as
without them (docs/results.md, "Planning latency and threads"). Waiting *passively*
(``OMP_WAIT_POLICY=PASSIVE``: threads sleep at the barriers) removes that: one thread per core then
plans about as fast as one thread on a quiet machine and 1.5-3× faster on a busy one, within 2× of
its quiet time. The policy is read once, when torch loads.

So every command that plans (``igd detect``, ``view``, ``demo``, ``serve``) and the API
(:func:`igd.load`, :class:`igd.api.GraspDetector`) call :func:`configure_threads`, which takes the
thread count from, in this order:

1. the number passed (``--threads N``, ``threads=N``);
2. ``IGD_THREADS``;
3. ``OMP_NUM_THREADS`` (the usual knob of OpenMP programs);
4. the default: torch's own count (one per core) waiting passively when torch is not loaded yet, so
   the policy can still be set; **one thread** when torch was loaded before (its threads may spin).

``0`` (anywhere in that list) leaves torch alone: its own count and OpenMP's own waiting. Before torch
loads, ``OMP_WAIT_POLICY`` is set to ``PASSIVE`` unless the environment says otherwise. The
benchmark's and the data pipeline's workers always use one thread each (docs/simulator.md).
"""

from __future__ import annotations

import os
import sys
from typing import Optional

from igd.errors import IGDError

#: The environment variable that sets the thread count of every igd command and of the API.
ENV_VAR = "IGD_THREADS"
#: Threads when torch is loaded already and its OpenMP threads may spin (see the module docstring).
FALLBACK_THREADS = 1
#: OpenMP's waiting policy for planning, set before torch loads (where the environment does not say).
WAIT_POLICY = "PASSIVE"
#: The variables native libraries read once, when they load (OpenMP, OpenBLAS, MKL).
NATIVE_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
#: ``--threads``'s help, the same in every command.
THREADS_HELP = (f"planning threads (torch, OpenMP). Default: ${ENV_VAR}, else $OMP_NUM_THREADS, else one per core "
                "waiting passively at OpenMP barriers (OMP_WAIT_POLICY=PASSIVE), which keeps planning fast when "
                "other jobs share the cores; 0 = torch's own settings")


def _count(value, where: str) -> int:
    if isinstance(value, bool):
        raise IGDError(f"{where}: expected a whole number of threads >= 0, got {value!r}")
    try:
        n = int(str(value).strip())
    except ValueError:
        raise IGDError(f"{where}: expected a whole number of threads >= 0 (0 = torch's own choice), "
                       f"got {value!r}") from None
    if n < 0:
        raise IGDError(f"{where}: expected a whole number of threads >= 0 (0 = torch's own choice), got {n}")
    return n


def choose_threads(n: Optional[int] = None) -> tuple[Optional[int], str]:
    """``(threads, where the number came from)``: ``n``, ``IGD_THREADS``, ``OMP_NUM_THREADS``, or
    ``(None, "default")`` for the default (:func:`configure_threads` decides it).

    ``threads`` is 0 for "torch's own settings". A bad ``n`` or ``IGD_THREADS`` is an :class:`IGDError`;
    an ``OMP_NUM_THREADS`` that is not one number (OpenMP also takes lists, ``4,2``) counts by its
    first entry, or is left to OpenMP when even that is not a number.
    """
    if n is not None:
        return _count(n, "threads"), "argument"
    if os.environ.get(ENV_VAR, "").strip():
        return _count(os.environ[ENV_VAR], ENV_VAR), ENV_VAR
    omp = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    if omp:
        return (int(omp), "OMP_NUM_THREADS") if omp.isdigit() else (0, "OMP_NUM_THREADS")
    return None, "default"


def waits_passively() -> bool:
    """Whether this process's OpenMP threads wait passively: torch is not loaded yet (the policy can
    still be set) or the environment asked for it."""
    return "torch" not in sys.modules or os.environ.get("OMP_WAIT_POLICY", "").strip().upper() == WAIT_POLICY


def configure_threads(n: Optional[int] = None) -> int:
    """Set the planning threads of this process (see the module docstring); returns torch's count after.

    Before torch loads it also sets, where unset, ``OMP_WAIT_POLICY=PASSIVE`` and, for an explicit
    count, ``OMP_NUM_THREADS``/``OPENBLAS_NUM_THREADS``/``MKL_NUM_THREADS`` (read by the native
    libraries when they load). Then ``torch.set_num_threads``. Safe to call again: the last call wins.
    """
    threads, _ = choose_threads(n)
    if threads != 0 and "torch" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", WAIT_POLICY)
        for var in NATIVE_VARS if threads else ():
            os.environ.setdefault(var, str(threads))
    passive = waits_passively()
    import torch

    if threads is None:
        threads = default_threads(passive)
    if threads and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return torch.get_num_threads()


def default_threads(passive: bool) -> int:
    """The default count: one per core this process may use when threads wait passively, else one."""
    if not passive:
        return FALLBACK_THREADS
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)
