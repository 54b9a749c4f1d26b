"""Planners: the contract (``base``), shared post-processing and one sub-package per method.

Importing this package registers the built-in planners (it imports torch lazily inside them).
"""

from igd.planners import (
    baselines,  # noqa: F401  (registers 'topdown')
    giga,  # noqa: F401  (registers 'giga')
    igd,  # noqa: F401  (registers 'igd')
    vgn,  # noqa: F401  (registers 'vgn')
)
