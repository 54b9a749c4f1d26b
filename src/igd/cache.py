"""Where igd caches what it builds (processed objects, the gripper URDF): the user's cache folder."""

import os
from pathlib import Path


def cache_root() -> Path:
    """``$IGD_CACHE`` if set, else ``$XDG_CACHE_HOME/igd``, else ``~/.cache/igd``."""
    if os.environ.get("IGD_CACHE"):
        root = Path(os.environ["IGD_CACHE"])
    else:
        root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "igd"
    root.mkdir(parents=True, exist_ok=True)
    return root
