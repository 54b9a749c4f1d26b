"""The planner contract, the registry and checkpoint files.

A planner turns an :class:`Observation` (the 40³ TSDF grid, in the workspace frame) into
:class:`Grasps` sorted by score. :class:`Planner` declares everything a caller may use: the required
methods (:data:`REQUIRED_METHODS`, checked when a planner class is defined) and the optional
capabilities (:data:`CAPABILITIES`, :meth:`Planner.supports`); :class:`TorchPlanner` holds what the
torch planners share. Every planner is built from a config dataclass and reads and writes one
checkpoint file that carries its type tag and config, so a checkpoint knows its planner: read by
:func:`load_torch_file`, checked by :func:`as_checkpoint`, written by :func:`write_checkpoint`
(docs/planners.md).
"""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import inspect
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Dict, FrozenSet, Iterator, Mapping, NamedTuple, Optional, Tuple, Type

import numpy as np

from igd.configs import config_from_dict
from igd.constants import RESOLUTION, VOXEL_SIZE
from igd.errors import IGDError
from igd.geometry import Transform

if TYPE_CHECKING:
    from igd.planners.postprocess import PostprocessConfig

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
# the planner contract
# --------------------------------------------------------------------------------------------------
_REGISTRY: Dict[str, Type["Planner"]] = {}

#: The methods every planner implements (abstract on :class:`Planner`; a class without them is a
#: TypeError when it is defined).
REQUIRED_METHODS = ("plan", "reseed")
#: The optional abilities, each a method of :class:`Planner` of the same name, and what to call it in an
#: error. A planner has one when its class overrides the method (:meth:`Planner.supports`); the defaults
#: raise :class:`NotSupported`.
CAPABILITIES: Dict[str, str] = {
    "volumes": "dense quality volumes",
    "query_points": "point queries",
    "affordance": "affordance volume",
    "sample_trajectories": "diffusion sampler",
    "pose_trajectories": "pose-space sampler",
    "training_module": "trainable network",
}


class NotSupported(IGDError):
    """A planner was asked for a capability it does not have (:meth:`Planner.supports` says so beforehand)."""


class Planner(abc.ABC):
    """Base of every planner: everything a caller may use is declared here (docs/planners.md, "The contract").

    Required: the class attributes ``name`` (registry key) and ``config_class`` (a dataclass) and the
    methods :meth:`plan` and :meth:`reseed`. A class that lacks one is a TypeError when it is defined;
    an intermediate base says so, ``class MyBase(Planner, abstract=True)``. A complete class registers
    itself (:func:`register_planner`). Optional abilities are the capability methods of
    :data:`CAPABILITIES`: :meth:`supports` says which a planner has, the others raise :class:`NotSupported`.
    Learned planners (``learned = True``) hold weights: :meth:`state_dict` / :meth:`load_state_dict`
    and one checkpoint file (:meth:`save_pretrained`, :meth:`from_weights`).
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
    #: The :data:`CAPABILITIES` this class has (those whose method it overrides; ``query_points`` comes
    #: with ``volumes``), set when the class is defined.
    capabilities: ClassVar[FrozenSet[str]] = frozenset()
    #: The post-processing settings of a planner whose grasps come from dense volumes
    #: (:class:`igd.planners.postprocess.PostprocessConfig`: threshold, masks, NMS); None for the others.
    postprocess: Optional["PostprocessConfig"] = None

    def __init_subclass__(cls, abstract: bool = False, **kwargs):
        super().__init_subclass__(**kwargs)
        volumes = _overrides(cls, "volumes")
        cls.capabilities = frozenset(c for c in CAPABILITIES if _overrides(cls, c) or (c == "query_points" and volumes))
        if not abstract:
            register_planner(cls)  # every check of a complete planner, in one place

    def __init__(self, config=None):
        self.config = config if config is not None else self.config_class()
        if not isinstance(self.config, self.config_class):
            raise TypeError(f"{self.name}: expected a {self.config_class.__name__}, got {type(self.config).__name__}")

    # ---- required ----
    @abc.abstractmethod
    def plan(self, observation: Observation) -> Grasps:
        """Grasps for one observation, best first (:meth:`timed_plan` adds the time it took)."""

    @abc.abstractmethod
    def reseed(self, seed: int) -> None:
        """Make the planner's random choices from now on a function of ``seed`` alone (the benchmark calls it
        before every round, ``igd evaluate`` before every scene). A planner without random choices
        implements it as a no-op and says so in its docstring."""

    def timed_plan(self, observation: Observation) -> Grasps:
        """:meth:`plan` with ``info['planning_time']``, its wall time in seconds (everything the planner does:
        network, sampling, post-processing). What the benchmark, the API and the viewer call."""
        tic = time.perf_counter()
        grasps = self.plan(observation)
        grasps.info["planning_time"] = time.perf_counter() - tic
        return grasps

    # ---- capabilities ----
    @classmethod
    def supports(cls, capability: str) -> bool:
        """Whether this planner has ``capability`` (a key of :data:`CAPABILITIES`); ValueError for another name."""
        if capability not in CAPABILITIES:
            raise ValueError(f"unknown planner capability {capability!r}: expected one of {sorted(CAPABILITIES)}")
        return capability in cls.capabilities

    def require(self, *capabilities: str, purpose: str) -> None:
        """:class:`NotSupported` (one line, naming ``purpose``) unless this planner has every one of ``capabilities``."""
        for capability in capabilities:
            if not self.supports(capability):
                raise self._unsupported(capability, purpose)

    def _unsupported(self, capability: str, purpose: str = "") -> NotSupported:
        return NotSupported(f"planner '{self.name}' has no {CAPABILITIES[capability]} ({capability}())"
                            + (f": {purpose}" if purpose else ""))

    def volumes(self, grid: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The dense volumes behind :meth:`plan` for one grid ``(1, 40, 40, 40)``: quality ``(40, 40, 40)`` in
        [0, 1], quaternions ``(4, 40, 40, 40)`` (x, y, z, w) and widths ``(40, 40, 40)`` in metres, at voxel
        ``(i, j, k) · 0.0075`` m. Capability ``volumes``."""
        raise self._unsupported("volumes")

    def query_points(self, grid: np.ndarray, positions: np.ndarray,
                     quats: Optional[np.ndarray] = None) -> "PointPrediction":
        """The planner's grasp at arbitrary points ``positions (N, 3)`` (metres, workspace frame): quality,
        orientation and width. ``quats (N, 4)``: labelled orientations, for planners whose quality depends
        on the orientation (unused by the others). Capability ``query_points``; default: the nearest voxel
        of :meth:`volumes`."""
        if not self.supports("volumes"):
            raise self._unsupported("query_points")
        qual, rot, width = self.volumes(grid)
        positions = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
        index = np.clip(np.rint(positions / VOXEL_SIZE).astype(np.int64), 0, RESOLUTION - 1)
        i, j, k = index.T
        return PointPrediction(np.asarray(qual)[i, j, k], np.asarray(rot)[:, i, j, k].T, np.asarray(width)[i, j, k])

    def affordance(self, grid: np.ndarray) -> np.ndarray:
        """``(40, 40, 40)`` in [0, 1]: the affordance a(p) of a planner that scores positions apart from
        orientations (IGD), at voxel ``(i, j, k) · 0.0075`` m (the viewer's heat). Capability ``affordance``."""
        raise self._unsupported("affordance")

    def sample_trajectories(self, grid: np.ndarray, point: np.ndarray, n: int = 8, seed: int = 0) -> np.ndarray:
        """The reverse diffusion of ``n`` orientations at one ``point (3,)`` (metres), every step kept:
        ``(steps + 1, n, 4)`` unit quaternions (x, y, z, w), noise from ``seed`` (the viewer's denoising
        paths). Capability ``sample_trajectories``."""
        raise self._unsupported("sample_trajectories")

    def pose_trajectories(self, grid: np.ndarray, n: int = 8, seed: int = 0) -> np.ndarray:
        """The paths of ``n`` whole-pose samples of a pose-space planner (SE(3)-DiF's Langevin chains,
        dGrasp's gradient ascent), every step kept: ``(steps + 1, n, 4, 4)`` TCP poses in the workspace
        frame (metres), noise from ``seed`` (the viewer's pose paths). Capability ``pose_trajectories``."""
        raise self._unsupported("pose_trajectories")

    def training_module(self) -> Any:
        """The ``nn.Module`` that ``igd train`` optimises; it has ``loss(batch) -> (loss, metrics)``.
        Capability ``training_module``."""
        raise self._unsupported("training_module", "igd train cannot train it")

    # ---- weights and checkpoints ----
    @classmethod
    def upgrade_checkpoint(cls, payload: dict) -> dict:
        """A checkpoint payload of this planner written by an older igd, brought up to date (default: as is).

        Called by :meth:`from_checkpoint` before the config is built; must not modify ``payload``.
        """
        return payload

    @classmethod
    def recognises_state_dict(cls, state: Mapping) -> bool:
        """Whether ``state`` (a raw state dict, not an igd checkpoint) is a released file this planner's
        :meth:`from_raw_weights` reads (default: none). Used to name a file given to the wrong planner."""
        return False

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        if state:
            raise IGDError(f"planner '{self.name}' has no weights, but the checkpoint holds {len(state)} tensors")

    def save_pretrained(self, path: str | Path) -> Path:
        """Write this planner's checkpoint to ``path`` (:func:`write_checkpoint`); returns the path."""
        return write_checkpoint(self, path)

    @classmethod
    def from_weights(cls, path: str | Path, **overrides) -> "Planner":
        """This planner from any weights file it reads: an igd checkpoint, or (VGN, GIGA) a released raw
        state dict. ``overrides`` replace config fields. The file is read once (:func:`load_torch_file`)."""
        return cls.from_payload(load_torch_file(path), path, **overrides)

    @classmethod
    def from_pretrained(cls, path: str | Path, **overrides) -> "Planner":
        """An igd checkpoint written by :meth:`save_pretrained` or ``igd train`` (nothing else); ``overrides``
        replace config fields."""
        return cls.from_checkpoint(read_checkpoint(path), path, **overrides)

    @classmethod
    def from_payload(cls, payload: Any, path: str | Path, **overrides) -> "Planner":
        """This planner from the contents of a weights file already read (``torch.load``'s result; ``path``
        names it in errors): :meth:`from_checkpoint` for an igd checkpoint, else :meth:`from_raw_weights`."""
        checkpoint = as_checkpoint(payload, path)
        if checkpoint is not None:
            return cls.from_checkpoint(checkpoint, path, **overrides)
        return cls.from_raw_weights(payload, path, **overrides)

    @classmethod
    def from_checkpoint(cls, checkpoint: dict, path: str | Path, **overrides) -> "Planner":
        """This planner from a checked igd checkpoint payload (:func:`as_checkpoint`): its type tag must be
        ``name``; :meth:`upgrade_checkpoint`, the config with ``overrides``, then the weights."""
        if checkpoint["planner"] != cls.name:
            raise IGDError(f"{path}: checkpoint is for planner '{checkpoint['planner']}', not '{cls.name}': "
                           f"use --planner {checkpoint['planner']}")
        checkpoint = cls.upgrade_checkpoint(checkpoint)
        planner = cls(build_config(cls.config_class, checkpoint["config"], overrides))
        planner.load_state_dict(checkpoint["state_dict"])
        return planner

    @classmethod
    def from_raw_weights(cls, payload: Any, path: str | Path, **overrides) -> "Planner":
        """This planner from a file that is no igd checkpoint (a released raw state dict, for planners that
        read one: they override this and :meth:`recognises_state_dict`); default: a one-line
        :class:`IGDError` that says what the file is."""
        raise foreign_weights_error(path, payload, cls, "checkpoints written by igd (save_pretrained / igd train)")


def _overrides(cls: type, method: str) -> bool:
    """Whether ``cls`` (a Planner subclass) or a base below :class:`Planner` defines ``method``."""
    owner = next(k for k in cls.__mro__ if method in vars(k))
    return owner is not Planner


class TorchPlanner(Planner, abstract=True):
    """A learned planner whose weights are one ``nn.Module``, ``self.net`` (VGN, GIGA, IGD).

    It owns what those share: the torch device of ``config.device`` (checked), the grid as a tensor
    (:meth:`grid_tensor`), the arithmetic of inference (:meth:`inference`: ``config.precision`` of an
    :class:`~igd.planners.common.config.ImplicitConfig`, else float32), strict weights
    (:meth:`state_dict` / :meth:`load_state_dict`) and ``net.loss`` as the training module. A subclass
    calls ``super().__init__(config)``, then builds ``self.net`` on ``self.device``.
    """

    learned = True
    net: Any
    """The network (``torch.nn.Module``); its ``loss(batch) -> (loss, metrics)`` is what ``igd train`` optimises."""
    device: Any
    """The ``torch.device`` the network runs on."""

    def __init__(self, config=None):
        super().__init__(config)
        import torch

        self.device = torch.device(self.config.device)
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise IGDError(f"{type(self.config).__name__}.device is {self.config.device!r} but this torch build "
                           "sees no CUDA GPU; use 'cpu'")

    def grid_tensor(self, grid: np.ndarray) -> Any:
        """``grid`` ``(1, 40, 40, 40)`` or ``(40, 40, 40)`` as a float32 tensor ``(1, 1, 40, 40, 40)`` on the
        device (a copy: the grid may be read-only); :class:`IGDError` for another size."""
        import torch

        grid = np.asarray(grid, dtype=np.float32)
        if grid.size != RESOLUTION ** 3:
            raise IGDError(f"{self.name}: grid must have shape (1, 40, 40, 40) or (40, 40, 40), got {grid.shape}")
        return torch.tensor(grid.reshape((1, 1) + (RESOLUTION,) * 3), device=self.device)

    @contextlib.contextmanager
    def inference(self) -> Iterator[None]:
        """Inference mode, under autocast to bfloat16 when the config's ``precision`` says so."""
        import torch

        from igd.planners.common.config import ImplicitConfig

        precision = self.config.precision if isinstance(self.config, ImplicitConfig) else "float32"
        autocast = (torch.autocast(self.device.type, dtype=torch.bfloat16) if precision == "bfloat16"
                    else contextlib.nullcontext())
        with torch.inference_mode(), autocast:
            yield

    def training_module(self) -> Any:
        """``self.net``: its ``loss(batch) -> (loss, metrics)`` is what ``igd train`` optimises."""
        return self.net

    def state_dict(self) -> dict:
        return {k: v.detach().cpu().clone() for k, v in self.net.state_dict().items()}

    def load_state_dict(self, state: dict) -> None:
        """Load weights strictly; :class:`IGDError` naming missing/unexpected keys and shape mismatches."""
        check_state_dict(state, self.net.state_dict(), f"{self.name}: {type(self.net).__name__}")
        self.net.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
        self.net.eval()


# --------------------------------------------------------------------------------------------------
# checkpoint files: one reader, one format check, one writer
# --------------------------------------------------------------------------------------------------
def load_torch_file(path: str | Path) -> Any:
    """``torch.load`` a file safely (``weights_only``, on the CPU); one-line IGDError if it is missing or unreadable.

    The one place a weights file is read: :meth:`Planner.from_weights`, :func:`read_checkpoint` and
    :func:`igd.api.load` call it once and hand the contents on. Truncated files fail in many ways
    (EOFError, RuntimeError, IndexError, struct.error, OSError, KeyError, UnpicklingError, ...), so
    any failure of ``torch.load`` becomes an :class:`IGDError`.
    """
    import torch

    path = Path(path)
    if path.is_dir():
        raise IGDError(f"{path} is a directory; expected a weights file (a .pt checkpoint)")
    if not path.is_file():
        raise IGDError(f"weights file not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - see the docstring
        size = path.stat().st_size
        detail = "empty, 0 bytes" if size == 0 else f"{size:,} bytes, torch.load: {type(e).__name__}"
        raise IGDError(f"{path}: truncated or not a checkpoint ({detail}); copy or download it again, or give a "
                       "file written by igd train or torch.save") from e


def as_checkpoint(payload: Any, path: str | Path) -> Optional[dict]:
    """``payload`` (a weights file's contents) if it is an igd checkpoint, None if it does not claim to be
    one (a raw state dict, or anything without a ``format`` entry); the one check of the format.

    A dict with a ``format`` entry is checked: the format must be :data:`CHECKPOINT_FORMAT` and the
    entries ``planner`` (a name), ``config`` and ``state_dict`` present, else a one-line :class:`IGDError`.
    """
    if not isinstance(payload, dict) or "format" not in payload or is_tensor_dict(payload):
        return None
    if payload["format"] != CHECKPOINT_FORMAT:
        raise IGDError(f"{path}: unknown checkpoint format {payload['format']!r}, expected '{CHECKPOINT_FORMAT}'")
    for key in ("planner", "config", "state_dict"):
        if key not in payload:
            raise IGDError(f"{path}: checkpoint lacks the key '{key}'")
    if not isinstance(payload["planner"], str):
        raise IGDError(f"{path}: the checkpoint's 'planner' must be a planner name, got {payload['planner']!r}")
    return payload


def read_checkpoint(path: str | Path) -> dict:
    """Read and check an igd checkpoint file; clear errors for missing, truncated or foreign files."""
    checkpoint = as_checkpoint(load_torch_file(path), path)
    if checkpoint is None:
        raise IGDError(f"{path}: not an igd checkpoint (expected a dict with format '{CHECKPOINT_FORMAT}'); "
                       "for raw released weights use the planner's own loader, e.g. --planner vgn")
    return checkpoint


def write_checkpoint(planner: Planner, path: str | Path, **extra: Any) -> Path:
    """Write ``planner``'s checkpoint to ``path``, atomically (a temporary file renamed over the old one);
    the one writer of the format. The payload: ``format``, ``planner`` (its name), ``config`` (its
    config as a dict), ``state_dict``, and the entries of ``extra`` (``igd train``'s ``train``)."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": CHECKPOINT_FORMAT, "planner": planner.name, "config": dataclasses.asdict(planner.config),
               "state_dict": planner.state_dict(), **extra}
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(payload, tmp)
    tmp.replace(path)
    return path


def weights_planner(payload: Any, path: str | Path) -> Optional[str]:
    """The planner type of a weights file's contents: an igd checkpoint's type tag, or the planner that
    recognises a raw state dict as its released file; None when it does not say."""
    checkpoint = as_checkpoint(payload, path)
    if checkpoint is not None:
        return checkpoint["planner"]
    return state_dict_owner(payload)


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


#: Where discovery stands: ``done`` (once per process), ``running``, ``failed`` ({name: why}).
_DISCOVERY: Dict[str, Any] = {}


def register_planner(cls: Type[Planner]) -> Type[Planner]:
    """Add ``cls`` to the registry under ``cls.name`` and return it (again with the same class: no change).

    The one check of a planner class (a complete Planner subclass calls it when it is defined; discovery
    again): TypeError unless ``cls`` is a Planner subclass that implements every abstract method (at
    least :data:`REQUIRED_METHODS`), with ``name`` and a dataclass ``config_class``, and no other class
    holds its name.
    """
    if not (isinstance(cls, type) and issubclass(cls, Planner)):
        raise TypeError(f"{cls!r} is not a Planner subclass")
    where = f"{cls.__module__}.{cls.__name__}"
    abstract = _abstract_methods(cls)
    if abstract:
        raise TypeError(f"planner {where} does not implement {', '.join(abstract)} (an intermediate base "
                        "is declared with 'class Base(Planner, abstract=True)')")
    for attr in ("name", "config_class"):
        if attr not in dir(cls):
            raise TypeError(f"planner {where} must define class attribute '{attr}'")
    if not dataclasses.is_dataclass(cls.config_class):
        raise TypeError(f"planner {where}: config_class must be a dataclass")
    held = _REGISTRY.get(cls.name)
    if held is not None and held is not cls:
        raise TypeError(f"planner name '{cls.name}' is registered twice: {held.__module__}.{held.__name__} and "
                        f"{where}")
    _REGISTRY[cls.name] = cls
    return cls


def _abstract_methods(cls: type) -> list:
    """The abstract methods ``cls`` leaves unimplemented, sorted; also while the class is being defined
    (``__init_subclass__`` runs before ``ABCMeta`` sets ``__abstractmethods__``)."""
    names = {n for k in cls.__mro__ for n in vars(k).get("__abstractmethods__", ())}
    names |= {n for n, v in vars(cls).items() if getattr(v, "__isabstractmethod__", False)}
    return sorted(n for n in names if getattr(inspect.getattr_static(cls, n, None), "__isabstractmethod__", False))


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
    """Build planner ``name``; with ``weights`` load them (:meth:`Planner.from_weights`: an igd checkpoint or
    the planner's released format, read once)."""
    cls = get_planner_class(name)
    if weights is None:
        if cls.learned:
            raise IGDError(f"planner '{name}' needs --weights PATH")
        return cls(build_config(cls.config_class, {}, overrides))
    return cls.from_weights(weights, **overrides)
