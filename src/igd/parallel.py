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

#: One thread per worker process: simulation and torch share the cores (SPEC §14).
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


def run_tasks(fn: Callable[..., Any], cfg_dict: dict, keys: Sequence[tuple], on_result: Callable[[Any], None], *,
              workers: int, address: Optional[str], describe: Callable[[tuple], str]) -> None:
    """Run ``fn(cfg_dict, *key)`` for every key as Ray tasks; ``on_result(result)`` as each finishes.

    A worker's :class:`IGDError` stops the run as that same one-line error; any other failure stops
    it with a message naming the item (``describe(key)``), after cancelling what is still pending.
    """
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
