"""The released planners: one table from short names to a planner type and a weights file.

``igd.load(name)``, ``igd detect --planner NAME``, the viewer, the demo and the README all read
:data:`RELEASED`, so a name means the same thing everywhere.

``python -m igd.released`` prints the table.

Weights files are looked for, in order, in ``$IGD_WEIGHTS``, in the ``weights/`` folder of the
repository this package was installed from (an editable install of the checkout), and in
``./weights``. Importing this module is cheap: no torch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from igd.errors import IGDError

__all__ = [
    "RELEASED",
    "WEIGHTS_ENV",
    "PlannerChoice",
    "ReleasedPlanner",
    "find_weights",
    "format_table",
    "resolve",
    "resolve_planner",
    "weights_dirs",
]

#: Environment variable naming an extra folder that holds released weights files.
WEIGHTS_ENV = "IGD_WEIGHTS"
#: File suffixes that make an argument a checkpoint path rather than a released name.
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt")


@dataclass(frozen=True)
class ReleasedPlanner:
    """One released planner.

    name: the short name users type (``vgn``, ``igd-packed``, ...).
    planner: the registry key of its planner class (``vgn``, ``giga``, ``igd``, ``topdown``).
    filename: its weights file inside a weights folder, or None for a planner without weights.
    description: one line for listings and ``--help``.
    """

    name: str
    planner: str
    filename: str | None
    description: str


def _own(planner: str, scene: str, label: str) -> ReleasedPlanner:
    name = f"{planner}-{scene}"
    return ReleasedPlanner(name, planner, f"{name}.pt",
                           f"{label} trained here on our {scene} scenes")


def _first(planner: str, scene: str, label: str) -> ReleasedPlanner:
    name = f"{planner}-{scene}-v1"
    return ReleasedPlanner(name, planner, f"{name}.pt",
                           f"{label} trained here on 100 {scene} scenes, the first release (kept loadable by name)")


def _scratch(planner: str, scene: str, label: str) -> ReleasedPlanner:
    name = f"{planner}-{scene}-scratch"
    return ReleasedPlanner(name, planner, f"{name}.pt",
                           f"{label} trained here from scratch on our {scene} scenes, no authors' weights "
                           "(kept loadable by name)")


def _transfer(planner: str, scene: str, label: str, kept: bool = False) -> ReleasedPlanner:
    """The transfer from the authors' GIGA; ``kept``: it gave up ``planner-scene`` and is ``planner-scene-transfer``."""
    default = f"{planner}-{scene}"
    name = f"{default}-transfer" if kept else default
    return ReleasedPlanner(name, planner, f"{name}.pt",
                           f"{label} initialised from GIGA's authors' weights (the tensors that match), trained here "
                           f"on our {scene} scenes" + (f" (until the tenth round {default})" if kept else ""))


def _mined(planner: str, scene: str, label: str, name: str, how: str) -> ReleasedPlanner:
    return ReleasedPlanner(name, planner, f"{name}.pt",
                           f"{label} trained here without the authors' weights on our {scene} scenes, then fine-tuned "
                           f"on {how} mined grasps")


def _authors(planner: str, scene: str, label: str) -> ReleasedPlanner:
    name = f"{planner}-{scene}-authors"
    return ReleasedPlanner(name, planner, f"{name}.pt", f"{label}, released for {scene} scenes; not trained here")


#: The released names, in the order listings show them.
RELEASED: dict[str, ReleasedPlanner] = {r.name: r for r in (
    ReleasedPlanner("vgn", "vgn", "vgn_conv.pth",
                    "VGN's own released weights (Breyer et al., CoRL 2020), not trained here"),
    _own("vgn", "pile", "VGN"),
    _own("vgn", "packed", "VGN"),
    _transfer("giga", "pile", "GIGA"),
    _scratch("giga", "pile", "GIGA"),
    _transfer("giga", "packed", "GIGA"),
    _scratch("giga", "packed", "GIGA"),
    _mined("giga", "packed", "GIGA", "giga-packed-mined", "three rounds of its own"),
    _mined("giga", "pile", "GIGA", "giga-pile-mined", "its own"),
    _first("giga", "pile", "GIGA"),
    _first("giga", "packed", "GIGA"),
    ReleasedPlanner("igd-pile", "igd", "igd-packed.pt",
                    "IGD (Implicit Grasp Diffusion) trained here without the authors' weights on our packed scenes, "
                    "then fine-tuned on mined grasps: the igd-packed file, which plays pile scenes better than the "
                    "IGD trained on them"),
    _transfer("igd", "pile", "IGD (Implicit Grasp Diffusion)", kept=True),
    _scratch("igd", "pile", "IGD (Implicit Grasp Diffusion)"),
    _mined("igd", "packed", "IGD (Implicit Grasp Diffusion)", "igd-packed", "GIGA's, then twice its own and GIGA's"),
    _transfer("igd", "packed", "IGD (Implicit Grasp Diffusion)", kept=True),
    _scratch("igd", "packed", "IGD (Implicit Grasp Diffusion)"),
    _first("igd", "pile", "IGD (Implicit Grasp Diffusion)"),
    _first("igd", "packed", "IGD (Implicit Grasp Diffusion)"),
    _own("se3dif", "pile", "SE(3)-DiffusionFields on scene features"),
    _own("se3dif", "packed", "SE(3)-DiffusionFields on scene features"),
    _own("dgrasp", "pile", "dGrasp (an implicit grasp policy) on scene features"),
    _own("dgrasp", "packed", "dGrasp (an implicit grasp policy) on scene features"),
    _authors("giga", "packed", "GIGA's authors' weights (Jiang et al., RSS 2021)"),
    _authors("giga", "pile", "GIGA's authors' weights (Jiang et al., RSS 2021)"),
    _authors("vgn", "packed", "VGN as retrained by GIGA's authors (single views, dex noise)"),
    _authors("vgn", "pile", "VGN as retrained by GIGA's authors (single views, dex noise)"),
    ReleasedPlanner("topdown", "topdown", None,
                    "non-learned floor: grasp the highest observed point from above (no weights)"),
)}


def weights_dirs() -> list[Path]:
    """The folders searched for released weights, in order (existing or not)."""
    dirs = []
    env = os.environ.get(WEIGHTS_ENV, "").strip()
    if env:
        dirs.append(Path(env).expanduser())
    dirs.append(Path(__file__).resolve().parents[2] / "weights")  # <repo>/src/igd/released.py
    dirs.append(Path.cwd() / "weights")
    unique: list[Path] = []
    for d in dirs:
        if d not in unique:
            unique.append(d)
    return unique


def find_weights(filename: str) -> Path | None:
    """The first ``<dir>/filename`` over :func:`weights_dirs` that is a file, else None."""
    for d in weights_dirs():
        candidate = d / filename
        if candidate.is_file():
            return candidate
    return None


def _looks_like_path(arg: str) -> bool:
    return os.sep in arg or "/" in arg or arg.endswith(CHECKPOINT_SUFFIXES) or Path(arg).is_file()


def _released_by_filename(path: Path) -> ReleasedPlanner | None:
    """The released entry whose weights file has the name of ``path`` (e.g. ``.../vgn_conv.pth``)."""
    for entry in RELEASED.values():
        if entry.filename is not None and path.name == entry.filename:
            return entry
    return None


def resolve(name_or_path: str | os.PathLike) -> tuple[str | None, Path | None, str]:
    """``(planner type, weights path, label)`` for a released name or a checkpoint path.

    A released name gives its planner type and its weights file (None for ``topdown``). A path gives
    the planner type when its file name is a released file (``vgn_conv.pth`` is VGN's raw state
    dict), else None: the checkpoint's own type tag decides. ``label`` is what to call it in output.

    Raises:
        IGDError: an unknown name (listing the released ones), a released name whose weights file
            is not in this checkout, or a path that is not a file.
    """
    arg = os.fspath(name_or_path)
    if arg in RELEASED:
        entry = RELEASED[arg]
        if entry.filename is None:
            return entry.planner, None, entry.name
        path = find_weights(entry.filename)
        if path is None:
            looked = ", ".join(str(d) for d in weights_dirs())
            raise IGDError(f"released planner '{arg}' needs weights/{entry.filename}, which is not in this "
                           f"checkout (looked in {looked}); put the file there or set ${WEIGHTS_ENV} "
                           "to its folder, or pass a checkpoint path")
        return entry.planner, path, entry.name
    if not _looks_like_path(arg):
        raise IGDError(f"unknown planner '{arg}': expected a released name ({', '.join(RELEASED)}) "
                       "or a checkpoint path (.pt/.pth)")
    path = Path(arg).expanduser()
    if path.is_dir():
        raise IGDError(f"{path} is a directory; expected a weights file (a .pt checkpoint) or a released name")
    if not path.is_file():
        raise IGDError(f"checkpoint not found: {path} (expected a released name ({', '.join(RELEASED)}) "
                       "or an existing checkpoint file)")
    entry = _released_by_filename(path)
    return (entry.planner if entry else None), path, str(path)


@dataclass(frozen=True)
class PlannerChoice:
    """What ``--planner NAME [--weights W]`` means: the planner type, its weights file, a label for output.

    planner: registry key (``vgn``, ``giga``, ``igd``, ``topdown``), or None for a checkpoint path whose
        own type tag decides (:func:`igd.api.load` reads it).
    weights: the weights file, or None for a planner without weights.
    label: what to call the choice in output (the released name, or the path).
    """

    planner: str | None
    weights: Path | None
    label: str


def _registry_names() -> list[str]:
    from igd.planners.base import registry

    return sorted(registry())


def resolve_planner(planner: str, weights: str | os.PathLike | None = None) -> PlannerChoice:
    """The one meaning of ``--planner`` and ``--weights`` in every ``igd`` command and in :func:`igd.load`.

    - ``planner`` a **released name** (``igd-packed``, ``giga-pile-authors``, ``vgn``, ``topdown``, ...)
      and no ``weights``: that release, its planner type and its file.
    - ``planner`` a **checkpoint path** and no ``weights``: that file (its type tag, or the released table
      for a released file name, decides the type).
    - ``planner`` a **planner type** (a registry key: ``vgn``, ``giga``, ``igd``, ``topdown``) and
      ``weights`` a released name or a checkpoint path: those weights in that planner; a released name
      of another planner type is an error. A type without weights is fine for planners that have none.

    ``vgn`` and ``topdown`` are both a type and a released name: alone they are the release.

    Raises:
        IGDError: one line for an unknown name, a missing file, or a type and weights that disagree.
    """
    planner = os.fspath(planner)
    types = _registry_names()
    if weights is None:
        if planner in RELEASED or _looks_like_path(planner):
            kind, path, label = resolve(planner)
            return PlannerChoice(kind, path, label)
        if planner in types:
            from igd.planners.base import get_planner_class

            if get_planner_class(planner).learned:
                named = ", ".join(n for n, r in RELEASED.items() if r.planner == planner)
                raise IGDError(f"planner '{planner}' is a planner type and needs weights: pass --weights PATH or a "
                               f"released name ({named})")
            return PlannerChoice(planner, None, planner)
        raise IGDError(f"unknown planner '{planner}': expected a released name ({', '.join(RELEASED)}), a "
                       f"checkpoint path, or a planner type ({', '.join(types)}) with --weights")
    if planner not in types:
        if planner in RELEASED:
            raise IGDError(f"--planner {planner} is a released name, which brings its own weights: drop --weights, "
                           f"or pass its planner type ('--planner {RELEASED[planner].planner}') with --weights")
        raise IGDError(f"unknown planner type '{planner}' for --weights: expected one of {', '.join(types)}")
    kind, path, label = resolve(weights)
    if kind is not None and kind != planner:
        raise IGDError(f"--weights {os.fspath(weights)} is a '{kind}' planner's weights, not '{planner}': use "
                       f"--planner {kind}")
    if path is None:
        raise IGDError(f"--weights {os.fspath(weights)} names a planner without weights; drop --weights")
    return PlannerChoice(planner, path, f"{planner} ({label})")


def format_table() -> str:
    """The released names as an aligned text table (name, planner, weights, description)."""
    rows = [(r.name, r.planner, r.filename or "-", r.description) for r in RELEASED.values()]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:<{widths[2]}}  {d}" for a, b, c, d in rows)


if __name__ == "__main__":  # python -m igd.released
    print(format_table())
