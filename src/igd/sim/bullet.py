"""PyBullet without its banners: ``from igd.sim.bullet import pybullet`` instead of ``import pybullet``.

PyBullet's C code writes ``pybullet build time: ...`` to stderr when the module loads and
``argv[0]=`` to stdout at every connect, straight to the file descriptors, past Python's
``sys.stdout``. :func:`quiet_native_output` holds back what is written to descriptors 1 and 2 while
it is open and afterwards writes it where it was going, less those banner lines: nothing else is
lost, our own messages and tracebacks included. This module loads pybullet inside it;
:class:`igd.sim.world.World` connects inside it.
"""

from __future__ import annotations

import ctypes
import os
import sys
import tempfile
import threading
from contextlib import contextmanager
from typing import Iterator, Sequence

#: The lines PyBullet prints on its own (their starts), dropped by :func:`quiet_native_output`.
BANNERS = (b"pybullet build time:", b"argv[0]=")

_LOCK = threading.RLock()
_LIBC: list = []


def _flush_native() -> None:
    """Flush C stdio buffers (printf to a pipe or file is buffered), then Python's."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, ValueError, OSError):  # closed or replaced by something without flush
            pass
    try:
        if not _LIBC:
            _LIBC.append(ctypes.CDLL(None))
        _LIBC[0].fflush(None)
    except (OSError, AttributeError):  # no C library to ask (not on Linux or macOS)
        pass


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data):]


def _kept(data: bytes, drop: Sequence[bytes]) -> bytes:
    return b"".join(line for line in data.splitlines(keepends=True) if not line.lstrip().startswith(tuple(drop)))


@contextmanager
def quiet_native_output(drop: Sequence[bytes] = BANNERS) -> Iterator[None]:
    """While inside, what anyone writes to file descriptors 1 and 2 goes to temporary files; on the way
    out (exceptions included) the descriptors are restored and the held output, less the lines that
    start with one of ``drop``, is written to them. Without descriptors 1 and 2 it does nothing."""
    with _LOCK:
        try:
            saved = (os.dup(1), os.dup(2))
        except OSError:
            yield
            return
        held = (tempfile.TemporaryFile(), tempfile.TemporaryFile())
        try:
            _flush_native()
            os.dup2(held[0].fileno(), 1)
            os.dup2(held[1].fileno(), 2)
            yield
        finally:
            _flush_native()
            for fd, copy in zip((1, 2), saved):
                os.dup2(copy, fd)
                os.close(copy)
            for fd, file in zip((1, 2), held):
                file.seek(0)
                _write_all(fd, _kept(file.read(), drop))
                file.close()


with quiet_native_output():
    import pybullet  # noqa: E402
    from pybullet_utils import bullet_client  # noqa: E402

__all__ = ["BANNERS", "bullet_client", "pybullet", "quiet_native_output"]
