"""Where igd caches what it builds (processed objects, the gripper URDF, folder extents): one folder.

docs/objects.md describes the cache and what lives in it.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable naming the cache folder (it wins over the XDG default).
CACHE_ENV = "IGD_CACHE"


def cache_root() -> Path:
    """``$IGD_CACHE``, else ``$XDG_CACHE_HOME/igd``, else ``~/.cache/igd``; ``~`` is expanded, and an empty
    variable counts as unset. The folder may not exist yet: whoever writes into it creates it."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "igd"
    return Path.home() / ".cache" / "igd"
