"""Running independent work items as Ray tasks (benchmark rounds, generated scenes, processed scenes).

One loop serves every command: a local Ray cluster of ``workers`` CPUs by default, or a running
cluster at ``address``; each result is handed to ``on_result`` as soon as its task finishes, so the
caller can land it (atomically) before the next one arrives and a killed run keeps what it finished.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Callable, Hashable, Optional, Sequence

from igd.errors import IGDError

#: One thread per worker process: simulation and torch share the cores (docs/simulator.md, "Physics").
THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def ray_init_kwargs(workers: int, address: Optional[str]) -> dict:
    """``ray.init`` arguments: quiet, one thread per worker, and this process's object cache."""
    env = dict(THREAD_ENV)
    if os.environ.get("IGD_CACHE"):  # workers must find the same object catalogue as this process
        env["IGD_CACHE"] = os.environ["IGD_CACHE"]
    kwargs = {"runtime_env": {"env_vars": env}, "log_to_driver": False, "logging_level": logging.ERROR}
    if address:
        kwargs["address"] = address
    else:
        kwargs.update(num_cpus=workers, include_dashboard=False)
    return kwargs


def in_process(workers: int, address: Optional[str]) -> bool:
    """Whether work runs serially in this process, without Ray: one worker and no cluster address."""
    return workers == 1 and not address


def run_tasks(fn: Callable[..., Any], cfg_dict: dict, keys: Sequence[tuple], on_result: Callable[[Any], None], *,
              workers: int, address: Optional[str], describe: Callable[[tuple], str],
              close: Optional[Callable[[], None]] = None) -> None:
    """Run ``fn(cfg_dict, *key)`` for every key; ``on_result(result)`` as each finishes.

    With :func:`in_process` the keys run here, one after the other, and ``close()`` (if given: e.g.
    this process's simulator) runs after them; otherwise they run as Ray tasks. A worker's
    :class:`IGDError` stops the run as that same one-line error; any other failure stops it with a
    message naming the item (``describe(key)``), after cancelling what is still pending.
    """
    if not keys:
        return
    if in_process(workers, address):
        try:
            for key in keys:
                on_result(fn(cfg_dict, *key))
        finally:
            if close is not None:
                close()
        return
    import ray
    from ray.exceptions import RayError

    started = not ray.is_initialized()
    if started:
        ray.init(**ray_init_kwargs(workers, address))
    try:
        task = ray.remote(num_cpus=1, max_retries=3)(fn)
        cfg_ref = ray.put(cfg_dict)
        pending: dict[Hashable, tuple] = {task.remote(cfg_ref, *key): key for key in keys}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                key = pending.pop(ref)
                try:
                    result = ray.get(ref)
                except RayError as e:
                    for other in pending:
                        ray.cancel(other, force=True)
                    cause = getattr(e, "cause", None)
                    if isinstance(cause, IGDError):
                        raise IGDError(str(cause)) from e
                    raise RuntimeError(f"{describe(key)} failed in a worker (finished work is saved; "
                                       f"rerun with --resume): {e}") from e
                on_result(result)
    finally:
        if started:
            ray.shutdown()
