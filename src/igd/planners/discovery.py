"""How the registry finds planners: the folders under ``igd/planners/`` and the ``igd.planners`` entry points.

- **Folders**: every sub-package of :mod:`igd.planners` that has a ``planner.py`` is a planner folder;
  that module is imported, and it must define a complete planner (a :class:`~igd.planners.base.Planner`
  subclass with ``name``, ``config_class`` and ``plan``). Adding a planner is adding a folder.
- **Entry points** in the group ``igd.planners`` (``importlib.metadata``), for planners in packages of
  their own: the entry point's name is the planner's ``name``, its value a Planner subclass
  (``my_pkg.planner:MyPlanner``) or a module that defines one. One that cannot be loaded does not stop
  the others: it warns, and asking for its planner raises the reason.
- The non-learned baselines of :mod:`igd.planners.baselines` (one module, not a folder).

docs/planners.md ("Adding a planner") has an example. Nothing here runs at import time: the first call
of :func:`igd.planners.base.registry` discovers, once per process.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import inspect
import pkgutil
import warnings
from types import ModuleType
from typing import Callable, Dict, List

from igd.errors import IGDError

__all__ = ["ENTRY_POINT_GROUP", "BUILTIN_MODULES", "planner_folders", "import_planner_module", "load_entry_points"]

#: The entry-point group a package outside this tree registers its planners in.
ENTRY_POINT_GROUP = "igd.planners"
#: Modules of built-in planners that are not folders.
BUILTIN_MODULES = ("igd.planners.baselines",)
#: The module of a planner folder that defines its planner.
PLANNER_MODULE = "planner"


def planner_folders(package: str = "igd.planners") -> List[str]:
    """The planner folders of ``package``, sorted: its sub-packages that hold a ``planner.py``."""
    pkg = importlib.import_module(package)
    names = []
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.ispkg and importlib.util.find_spec(f"{package}.{info.name}.{PLANNER_MODULE}") is not None:
            names.append(info.name)
    return sorted(names)


def planners_defined_in(module: ModuleType) -> list:
    """The :class:`Planner` subclasses whose class body is in ``module`` (abstract ones included)."""
    from igd.planners.base import Planner

    return [obj for obj in vars(module).values()
            if isinstance(obj, type) and issubclass(obj, Planner) and obj.__module__ == module.__name__]


def import_planner_module(module_name: str, register: Callable[[type], type]) -> list:
    """Import ``module_name`` (a folder's ``planner.py``, or a built-in module) and register the planners it
    defines; returns them.

    TypeError, naming the module, if it defines none, or a class that sets ``name`` but stays abstract
    (it forgot ``plan``): a planner folder never drops out of the registry silently.
    """
    module = importlib.import_module(module_name)
    classes = planners_defined_in(module)
    incomplete = [c for c in classes if inspect.isabstract(c) and "name" in vars(c)]
    for cls in incomplete:
        missing = ", ".join(sorted(cls.__abstractmethods__))
        raise TypeError(f"{module_name}: planner {cls.__name__} ('{cls.name}') does not implement {missing}")
    complete = [c for c in classes if not inspect.isabstract(c)]
    if not complete:
        raise TypeError(f"{module_name} defines no planner: it must define a Planner subclass with 'name', "
                        "'config_class' and plan() (docs/planners.md)")
    return [register(cls) for cls in complete]


def load_entry_points(register: Callable[[type], type], registered: Callable[[], Dict[str, type]]
                      ) -> Dict[str, str]:
    """Load the planners of the ``igd.planners`` entry points; returns ``{name: why it failed}`` of those
    that could not be loaded (each also warns), so that asking for one can say why it is missing."""
    failed: Dict[str, str] = {}
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(getattr(ep, "dist", None), "name", None)
        where = f"entry point '{ep.name} = {ep.value}'" + (f" of {dist}" if dist else "")
        try:
            _load_one(ep, register, registered)
        except Exception as e:  # noqa: BLE001 - a broken plugin must not break the other planners
            first = (str(e).splitlines() or [""])[0]
            failed[ep.name] = f"{where} ({ENTRY_POINT_GROUP}) failed to load: {type(e).__name__}: {first}"
            warnings.warn(failed[ep.name], RuntimeWarning, stacklevel=2)
    return failed


def _load_one(ep, register: Callable[[type], type], registered: Callable[[], Dict[str, type]]) -> None:
    from igd.planners.base import Planner

    obj = ep.load()
    if isinstance(obj, ModuleType):
        classes = [c for c in planners_defined_in(obj) if not inspect.isabstract(c)]
        for cls in classes:
            register(cls)
        if ep.name not in registered():
            raise IGDError(f"module {obj.__name__} defines no planner named '{ep.name}'")
        return
    if not (isinstance(obj, type) and issubclass(obj, Planner)):
        raise IGDError(f"expected a Planner subclass or a module, got {type(obj).__name__}")
    if getattr(obj, "name", None) != ep.name:
        raise IGDError(f"the entry point's name must be the planner's: {obj.__name__}.name is "
                       f"{getattr(obj, 'name', None)!r}")
    register(obj)
