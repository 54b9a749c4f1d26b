"""The planner contract, the registry and checkpoint files.

A planner turns an :class:`Observation` (the 40³ TSDF grid, in the workspace frame) into
:class:`Grasps` sorted by score. Every planner is built from a config dataclass and reads and writes
one checkpoint file that carries its type tag and config, so a checkpoint knows its planner.
"""

from __future__ import annotations

import abc
import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Dict, Mapping, NamedTuple, Optional, Type

import numpy as np

from igd.configs import config_from_dict
from igd.constants import RESOLUTION, VOXEL_SIZE
from igd.errors import IGDError
from igd.geometry import Transform

CHECKPOINT_FORMAT = "igd-checkpoint-v1"


# --------------------------------------------------------------------------------------------------
# data contracts
# --------------------------------------------------------------------------------------------------
@dataclass
class Observation:
    """What a planner sees.

    grid: (1, 40, 40, 40) float32, the encoded TSDF (docs/perception.md), axes (x, y, z).
    cloud: optional (N, 3) surface points of the high-res TSDF (for "nothing left to see").
    """

    grid: np.ndarray
    depth: Optional[np.ndarray] = None
    intrinsic: Any = None
    extrinsics: Optional[list] = None
    cloud: Optional[np.ndarray] = None

    def __post_init__(self):
        g = np.asarray(self.grid)
        if g.ndim == 3:
            g = g[None]
        if g.shape != (1, RESOLUTION, RESOLUTION, RESOLUTION):
            raise IGDError(f"grid must have shape (1, {RESOLUTION}, {RESOLUTION}, {RESOLUTION}), got {np.shape(self.grid)}")
        if not np.all(np.isfinite(g)):
            raise IGDError("grid contains NaN or inf values; expected values in [0, 1]")
        self.grid = g.astype(np.float32, copy=False)


@dataclass
class Grasps:
    """Grasps in the workspace frame, sorted by score (best first).

    poses: (N, 4, 4) TCP poses (grasp frame of docs/frames.md); widths: (N,) metres; scores: (N,) in [0, 1].
    """

    poses: np.ndarray
    widths: np.ndarray
    scores: np.ndarray
    info: Dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        self.poses = np.asarray(self.poses, dtype=np.float64).reshape(-1, 4, 4)
        self.widths = np.asarray(self.widths, dtype=np.float64).reshape(-1)
        self.scores = np.asarray(self.scores, dtype=np.float64).reshape(-1)
        n = len(self.poses)
        if len(self.widths) != n or len(self.scores) != n:
            raise ValueError(f"Grasps: {n} poses but {len(self.widths)} widths and {len(self.scores)} scores")
        order = np.argsort(-self.scores, kind="stable")
        self.poses, self.widths, self.scores = self.poses[order], self.widths[order], self.scores[order]

    @classmethod
    def empty(cls, **info) -> "Grasps":
        return cls(np.zeros((0, 4, 4)), np.zeros(0), np.zeros(0), dict(info))

    def __len__(self) -> int:
        return len(self.scores)

    def pose(self, i: int = 0) -> Transform:
        return Transform.from_matrix(self.poses[i])

    def top(self, k: int) -> "Grasps":
        return Grasps(self.poses[:k], self.widths[:k], self.scores[:k], dict(self.info))


class PointPrediction(NamedTuple):
    """A planner's grasp at N query points (:meth:`Planner.query_points`)."""

    qual: np.ndarray
    """(N,) quality in [0, 1]."""
    quat: np.ndarray
    """(N, 4) unit quaternions (x, y, z, w) of the predicted orientation."""
    width: np.ndarray
    """(N,) opening widths, metres."""


# --------------------------------------------------------------------------------------------------
# the planner contract and registry
# --------------------------------------------------------------------------------------------------
_REGISTRY: Dict[str, Type["Planner"]] = {}


class Planner(abc.ABC):
    """Base of every planner.

    Subclasses set ``name`` (registry key), ``config_class`` (a dataclass) and implement
    :meth:`plan`. Learned planners also implement :meth:`state_dict` / :meth:`load_state_dict`
    (``learned = True``); the checkpoint format is shared.
    """

    name: ClassVar[str]
    config_class: ClassVar[type]
    learned: ClassVar[bool] = False
    #: Training hook (``igd train``): the loss takes scene-batched batches (``pos (S, K, 3)``, ...),
    #: so the default is one scene per item with K grasps; False: one grasp per item.
    scene_batched_training: ClassVar[bool] = False
    #: Training hook: the loss reads occupancy points (``occ_points``, ``occ``) from the batches.
    training_needs_occupancy: ClassVar[bool] = False
    #: Transfer hook (``igd train --init`` from another planner type): per source type, prefixes of its
    #: tensor names and the prefixes they take here (tensors that then match by name and shape load).
    transfer_renames: ClassVar[Dict[str, Dict[str, str]]] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if getattr(cls.plan, "__isabstractmethod__", False):
            return  # an intermediate base (e.g. TorchPlanner): ABCMeta has not set __abstractmethods__ yet
        for attr in ("name", "config_class"):
            if not hasattr(cls, attr):
                raise TypeError(f"planner {cls.__name__} must define class attribute '{attr}'")
        if not dataclasses.is_dataclass(cls.config_class):
            raise TypeError(f"planner {cls.__name__}: config_class must be a dataclass")
        if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
            raise TypeError(f"planner name '{cls.name}' is registered twice")
        _REGISTRY[cls.name] = cls

    def __init__(self, config=None):
        self.config = config if config is not None else self.config_class()
        if not isinstance(self.config, self.config_class):
            raise TypeError(f"{self.name}: expected a {self.config_class.__name__}, got {type(self.config).__name__}")

    @abc.abstractmethod
    def plan(self, observation: Observation) -> Grasps:
        """Grasps for one observation, best first. ``info['planning_time']`` holds the seconds spent."""

    # ---- capabilities (igd evaluate; planners that have them override) ----
    def volumes(self, grid: np.ndarray) -> tuple:
        """The dense volumes behind :meth:`plan` for one grid ``(1, 40, 40, 40)``: quality ``(40, 40, 40)`` in
        [0, 1], quaternions ``(4, 40, 40, 40)`` (x, y, z, w) and widths ``(40, 40, 40)`` in metres, at voxel
        ``(i, j, k) · 0.0075`` m. :class:`IGDError` for planners that have none."""
        raise IGDError(f"planner '{self.name}' has no dense quality volumes")

    def query_points(self, grid: np.ndarray, positions: np.ndarray,
                     quats: Optional[np.ndarray] = None) -> "PointPrediction":
        """The planner's grasp at arbitrary points ``positions (N, 3)`` (metres, workspace frame): quality,
        orientation and width. ``quats (N, 4)``: labelled orientations, for planners whose quality depends
        on the orientation (unused by the others). Default: the nearest voxel of :meth:`volumes`."""
        qual, rot, width = self.volumes(grid)
        positions = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
        index = np.clip(np.rint(positions / VOXEL_SIZE).astype(np.int64), 0, RESOLUTION - 1)
        i, j, k = index.T
        return PointPrediction(np.asarray(qual)[i, j, k], np.asarray(rot)[:, i, j, k].T, np.asarray(width)[i, j, k])

    def timed_plan(self, observation: Observation) -> Grasps:
        tic = time.perf_counter()
        grasps = self.plan(observation)
        grasps.info.setdefault("planning_time", time.perf_counter() - tic)
        return grasps

    def training_module(self):
        """The ``nn.Module`` that ``igd train`` optimises; it has ``loss(batch) -> (loss, metrics)``."""
        net = getattr(self, "net", None)
        if not self.learned or net is None or not callable(getattr(net, "loss", None)):
            raise IGDError(f"planner '{self.name}' cannot be trained (no network with a loss(batch) method)")
        return net

    # ---- checkpoints (learned planners) ----
    @classmethod
    def upgrade_checkpoint(cls, payload: dict) -> dict:
        """A checkpoint payload of this planner written by an older igd, brought up to date (default: as is).

        Called by :meth:`from_pretrained` before the config is built; must not modify ``payload``.
        """
        return payload

    @classmethod
    def recognises_state_dict(cls, state: Mapping) -> bool:
        """Whether ``state`` (a raw state dict, not an igd checkpoint) is a released file this planner's
        :meth:`from_weights` reads (default: none). Used to name a file given to the wrong planner."""
        return False

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        if state:
            raise IGDError(f"planner '{self.name}' has no weights, but the checkpoint holds {len(state)} tensors")

    def save_pretrained(self, path: str | Path) -> Path:
        import torch

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"format": CHECKPOINT_FORMAT, "planner": self.name,
                   "config": dataclasses.asdict(self.config), "state_dict": self.state_dict()}
        tmp = path.with_suffix(path.suffix + ".tmp")
        torch.save(payload, tmp)
        tmp.replace(path)
        return path

    @classmethod
    def from_pretrained(cls, path: str | Path, **overrides) -> "Planner":
        """Load a checkpoint written by :meth:`save_pretrained`; ``overrides`` replace config fields."""
        payload = read_checkpoint(path)
        if payload["planner"] != cls.name:
            raise IGDError(f"{path}: checkpoint is for planner '{payload['planner']}', not '{cls.name}': "
                           f"use --planner {payload['planner']}")
        payload = cls.upgrade_checkpoint(payload)
        config = build_config(cls.config_class, payload["config"], overrides)
        planner = cls(config)
        planner.load_state_dict(payload["state_dict"])
        return planner


class TorchPlanner(Planner):
    """A learned planner whose weights are one ``nn.Module``, ``self.net`` (VGN, GIGA, IGD).

    Subclasses build ``self.net`` in ``__init__``; weights round-trip through :meth:`state_dict` and
    :meth:`load_state_dict` strictly, and :meth:`from_weights` reads igd checkpoints.
    """

    learned = True

    def state_dict(self) -> dict:
        return {k: v.detach().cpu().clone() for k, v in self.net.state_dict().items()}

    def load_state_dict(self, state: dict) -> None:
        """Load weights strictly; :class:`IGDError` naming missing/unexpected keys and shape mismatches."""
        check_state_dict(state, self.net.state_dict(), f"{self.name}: {type(self.net).__name__}")
        self.net.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
        self.net.eval()

    @classmethod
    def from_weights(cls, path: str | Path, **overrides) -> "TorchPlanner":
        """An igd checkpoint of this planner (``save_pretrained`` / ``igd train``); ``overrides`` replace
        config fields. A missing or truncated file, a raw state dict or another planner's checkpoint
        raises :class:`IGDError`."""
        payload = load_torch_file(path)
        if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
            raise foreign_weights_error(path, payload, cls, "checkpoints written by igd (save_pretrained / igd train)")
        return cls.from_pretrained(path, **overrides)


def is_tensor_dict(obj) -> bool:
    """Whether ``obj`` is a non-empty mapping of names to tensors (a raw state dict)."""
    import torch

    return isinstance(obj, Mapping) and len(obj) > 0 and all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())


def state_dict_owner(state) -> Optional[str]:
    """The registered planner that recognises the raw state dict ``state`` as its released file, or None."""
    if not is_tensor_dict(state):
        return None
    for name, cls in sorted(registry().items()):
        if cls.recognises_state_dict(state):
            return name
    return None


def foreign_weights_error(path, payload, cls: Type["Planner"], reads: str) -> IGDError:
    """The one-line :class:`IGDError` for a weights file ``cls`` does not read; ``reads`` says what it reads.

    Names what the file is when it can: another planner's released state dict ("... is a GIGA state
    dict, not VGN's: use --planner giga"), a raw state dict of unknown keys, or no state dict at all.
    """
    owner = state_dict_owner(payload)
    if owner is not None and owner != cls.name:
        return IGDError(f"{path} is a {owner.upper()} state dict, not {cls.name.upper()}'s: use --planner {owner}")
    if is_tensor_dict(payload):
        keys = sorted(payload)
        shown = ", ".join(repr(k) for k in keys[:3]) + (", ..." if len(keys) > 3 else "")
        return IGDError(f"{path}: a raw state dict of {len(keys)} tensors ({shown}) that is no file "
                        f"{cls.name} reads; {cls.name} reads {reads}")
    return IGDError(f"{path}: not an igd checkpoint (expected a dict with format '{CHECKPOINT_FORMAT}') and not a "
                    f"state dict; {cls.name} reads {reads}")


def check_state_dict(state, expected: dict, owner: str) -> None:
    """Raise :class:`IGDError` unless ``state`` has exactly the keys and tensor shapes of ``expected``.

    ``owner`` names the network in the message, e.g. ``"giga: GIGANet"``.
    """
    import torch

    if not isinstance(state, dict):
        raise IGDError(f"{owner}: expected a state dict (a dict of tensors), got {type(state).__name__}")
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    not_tensors = sorted(k for k in state if k in expected and not isinstance(state[k], torch.Tensor))
    shapes = [f"{k}: got {tuple(state[k].shape)}, expected {tuple(v.shape)}" for k, v in expected.items()
              if k in state and isinstance(state[k], torch.Tensor) and state[k].shape != v.shape]
    problems = [f"{label} {items}" for label, items in (
        ("missing keys", missing), ("unexpected keys", unexpected), ("shape mismatches", shapes),
        ("not tensors", not_tensors)) if items]
    if problems:
        raise IGDError(f"{owner}: the state dict does not match (are the config's sizes those it was trained "
                       "with?): " + "; ".join(problems))


def build_config(config_class: type, values: dict, overrides: dict | None = None):
    """A config dataclass from a dict and the overrides that are not None (:func:`igd.configs.config_from_dict`:
    unknown keys are an error, never silently dropped)."""
    return config_from_dict(config_class, {**values, **{k: v for k, v in (overrides or {}).items() if v is not None}})


def load_torch_file(path: str | Path) -> Any:
    """``torch.load`` a file safely (``weights_only``, on the CPU); one-line IGDError if it is missing or unreadable.

    Truncated files fail in many ways (EOFError, RuntimeError, IndexError, struct.error, OSError,
    KeyError, UnpicklingError, ...), so any failure of ``torch.load`` becomes an :class:`IGDError`.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise IGDError(f"weights file not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - see the docstring
        first = (str(e).splitlines() or [""])[0]
        raise IGDError(f"{path}: cannot read the checkpoint (truncated or not a torch file): "
                       f"{type(e).__name__}: {first}") from e


def read_checkpoint(path: str | Path) -> dict:
    """Read and check an igd checkpoint file; clear errors for missing, truncated or foreign files."""
    payload = load_torch_file(path)
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise IGDError(f"{path}: not an igd checkpoint (expected a dict with format '{CHECKPOINT_FORMAT}'); "
                       "for raw released weights use the planner's own loader, e.g. --planner vgn")
    for key in ("planner", "config", "state_dict"):
        if key not in payload:
            raise IGDError(f"{path}: checkpoint lacks the key '{key}'")
    return payload


#: Where discovery stands: ``done`` (once per process), ``running``, ``failed`` ({name: why}).
_DISCOVERY: Dict[str, Any] = {}


def register_planner(cls: Type[Planner]) -> Type[Planner]:
    """Add ``cls`` to the registry under ``cls.name`` and return it (again with the same class: no change).

    TypeError unless ``cls`` is a complete planner (a Planner subclass that implements every abstract
    method, with ``name`` and a dataclass ``config_class``) and no other class holds its name.
    """
    if not (isinstance(cls, type) and issubclass(cls, Planner)):
        raise TypeError(f"{cls!r} is not a Planner subclass")
    abstract = sorted(getattr(cls, "__abstractmethods__", ()))
    if abstract:
        raise TypeError(f"planner {cls.__name__} does not implement {', '.join(abstract)}")
    for attr in ("name", "config_class"):
        if not hasattr(cls, attr):
            raise TypeError(f"planner {cls.__name__} must define class attribute '{attr}'")
    if not dataclasses.is_dataclass(cls.config_class):
        raise TypeError(f"planner {cls.__name__}: config_class must be a dataclass")
    held = _REGISTRY.get(cls.name)
    if held is not None and held is not cls:
        raise TypeError(f"planner name '{cls.name}' is registered twice: {held.__module__}.{held.__name__} and "
                        f"{cls.__module__}.{cls.__name__}")
    _REGISTRY[cls.name] = cls
    return cls


def discover_planners(refresh: bool = False) -> None:
    """Find every planner (:mod:`igd.planners.discovery`): import the planner folders under ``igd/planners/``
    and the baselines, and load the ``igd.planners`` entry points; once per process, or again with ``refresh``."""
    if _DISCOVERY.get("running") or (_DISCOVERY.get("done") and not refresh):
        return
    from igd.planners import discovery

    _DISCOVERY["running"] = True
    try:
        for module in discovery.BUILTIN_MODULES + tuple(f"igd.planners.{name}.{discovery.PLANNER_MODULE}"
                                                       for name in discovery.planner_folders()):
            discovery.import_planner_module(module, register_planner)
        _DISCOVERY["failed"] = discovery.load_entry_points(register_planner, lambda: _REGISTRY)
        _DISCOVERY["done"] = True
    finally:
        _DISCOVERY["running"] = False


def registry() -> Dict[str, Type[Planner]]:
    """All planners, by name: the planner folders, the baselines and the ``igd.planners`` entry points
    (:func:`discover_planners` runs on the first call)."""
    discover_planners()
    return dict(_REGISTRY)


def get_planner_class(name: str) -> Type[Planner]:
    reg = registry()
    if name not in reg:
        why = _DISCOVERY.get("failed", {}).get(name)
        if why is not None:
            raise IGDError(f"planner '{name}' is not available: {why}")
        raise IGDError(f"unknown planner '{name}': expected one of {sorted(reg)}")
    return reg[name]


def load_planner(name: str, weights: str | Path | None = None, **overrides) -> Planner:
    """Build planner ``name``; with ``weights`` load them (an igd checkpoint or the planner's released format)."""
    cls = get_planner_class(name)
    if weights is None:
        if cls.learned:
            raise IGDError(f"planner '{name}' needs --weights PATH")
        return cls(build_config(cls.config_class, {}, overrides))
    loader = getattr(cls, "from_weights", None) or cls.from_pretrained
    return loader(weights, **overrides)
