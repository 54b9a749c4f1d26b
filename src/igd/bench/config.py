"""The clutter-removal benchmark's settings (docs/benchmark.md), one typed dataclass.

Every field is documented where it is declared; :meth:`BenchConfig.__post_init__` checks them and
names the field and the allowed values when one is wrong. The fields in :data:`RESULT_FIELDS`
decide the numbers a run produces: a resumed run must agree with the stored run on all of them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import numbers
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Literal, Optional, get_args

from igd.configs import config_from_dict
from igd.constants import BENCH_OBJECTS, MAX_CONSECUTIVE_FAILURES
from igd.errors import IGDError

Scene = Literal["pile", "packed"]
Views = Literal["side", "circle6"]

#: Fields that decide a run's numbers; a resume must match the stored run on each of them.
#: ``weights_sha256`` stands for the weights (the path may move, the bytes must not change).
#: ``objects_sha256`` stands for the objects (a folder's files, or one of our sets' member names), as the
#: weights' digest does for the weights.
RESULT_FIELDS = ("planner", "weights_sha256", "scene", "object_set", "objects_sha256", "noise", "views",
                 "object_count", "max_consecutive_failures", "overrides")
#: Values computed from the fields that ``config.json`` stores beside them (:meth:`BenchConfig.identity`);
#: :meth:`BenchConfig.from_dict` accepts and leaves them out.
DERIVED_FIELDS = ("object_set", "objects_sha256", "weights_sha256")


def noise_names() -> tuple[str, ...]:
    """The depth-noise model names (docs/perception.md, "Depth noise models")."""
    from igd.perception.noise import NOISE_MODELS

    return tuple(NOISE_MODELS)


def object_set_names() -> tuple[str, ...]:
    """The object-set names the simulator knows."""
    from igd.sim.objects import object_set_names as names

    return tuple(names())


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file (identifies the weights of a run)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass
class BenchConfig:
    """One clutter-removal benchmark run: a planner x a scene type x seeds x rounds."""

    planner: str
    """Registry name of the planner (``igd.planners.base.registry()``), e.g. ``vgn``."""
    weights: Optional[str] = None
    """Checkpoint file of the planner (an igd checkpoint or the planner's released format)."""
    scene: Scene = "packed"
    """Scene type: ``pile`` or ``packed`` (docs/simulator.md, "Scenes")."""
    objects: str = "test"
    """Object split (``test``/``train``, joined to the scene: ``packed/test``), a full set name, or a
    downloaded folder of URDFs such as VGN's ``data/urdfs/packed/test`` (any value with a ``/`` that is
    not a set name; stored as an absolute path; docs/objects.md)."""
    rounds: int = 100
    """Rounds per seed (the protocol uses 100)."""
    seeds: List[int] = field(default_factory=lambda: [0, 1, 2, 3, 4])
    """Seeds; each seed runs ``rounds`` rounds; metrics are mean ± std over seeds."""
    noise: str = "dex"
    """Depth-noise model applied to every rendered image (docs/perception.md, "Depth noise models")."""
    views: Views = "side"
    """Camera views fused per observation: ``side`` (one view) or ``circle6`` (VGN's six); docs/perception.md,
    "Camera views"."""
    object_count: int = BENCH_OBJECTS
    """Objects dropped or placed per scene."""
    max_consecutive_failures: int = MAX_CONSECUTIVE_FAILURES
    """A round ends once this many grasps in a row have failed (2 in docs/benchmark.md, "Protocol"; at least 2)."""
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    """Parallel simulation workers of a local Ray cluster; 1 runs serially in this process without Ray.
    With ``address`` the cluster's CPUs decide and this is not used."""
    address: Optional[str] = None
    """Ray cluster address (``auto`` or ``host:port``); None starts a local cluster."""
    out: str = "runs/bench"
    """Output folder: ``config.json``, ``rounds/``, ``rounds.csv``, ``grasps.csv``, ``summary.json``."""
    overrides: Dict[str, Any] = field(default_factory=dict)
    """Planner config fields to override, e.g. ``{"protocol": "vgn", "threshold": 0.9}``."""

    def __post_init__(self):
        self._check_choice("scene", get_args(Scene))
        self._check_choice("views", get_args(Views))
        self._check_choice("noise", noise_names())
        if not isinstance(self.planner, str) or not self.planner:
            raise IGDError("planner: expected a planner name, e.g. 'vgn'")
        if not isinstance(self.objects, str) or not self.objects:
            raise IGDError("objects: expected 'test', 'train', an object set name or a folder of URDFs")
        self._check_objects()
        self.seeds = [self._check_int("seeds", s, 0) for s in self.seeds]
        if not self.seeds:
            raise IGDError("seeds: expected at least one seed")
        if len(set(self.seeds)) != len(self.seeds):
            raise IGDError(f"seeds: each seed may appear once, got {self.seeds}")
        for name in ("rounds", "object_count", "workers"):
            setattr(self, name, self._check_int(name, getattr(self, name), 1))
        # the reference loop counts from 1, so a limit of 1 would never attempt a grasp
        self.max_consecutive_failures = self._check_int("max_consecutive_failures", self.max_consecutive_failures, 2)
        if self.weights is not None:
            self.weights = str(Path(self.weights).expanduser().resolve())
        self.out = str(Path(self.out).expanduser().resolve())
        if not isinstance(self.overrides, dict) or not all(isinstance(k, str) for k in self.overrides):
            raise IGDError(f"overrides: expected a dict of planner config fields, got {self.overrides!r}")
        try:
            json.dumps(self.overrides)
        except TypeError as e:
            raise IGDError(f"overrides: values must be numbers, strings, booleans or lists ({e})") from e

    def _check_objects(self) -> None:
        """A set name must be known; a folder must hold readable URDFs whose meshes exist (it is then
        stored as its absolute path)."""
        from igd.sim.objects import object_folder

        folder = object_folder(self.objects)
        if folder is not None:
            from igd.sim.folder import open_folder

            open_folder(folder)  # one line for a missing folder, a folder without URDFs, a broken URDF
            self.objects = folder
            return
        names = object_set_names()
        if self.object_set not in names:
            raise IGDError(f"objects: unknown object set '{self.object_set}' (from objects='{self.objects}', "
                           f"scene='{self.scene}'); expected one of {sorted(names)} or a folder of URDFs")

    def _check_choice(self, name: str, allowed) -> None:
        value = getattr(self, name)
        if value not in allowed:
            raise IGDError(f"{name}: unknown value {value!r}; expected one of {list(allowed)}")

    @staticmethod
    def _check_int(name: str, value, minimum: int) -> int:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
            raise IGDError(f"{name}: expected an integer >= {minimum}, got {value!r}")
        return int(value)

    # ---- derived values ----
    @property
    def object_set(self) -> str:
        """The simulator's object set: ``f"{scene}/{objects}"`` unless ``objects`` names a set or a
        folder (then its absolute path)."""
        if "/" in self.objects or self.objects == "blocks":
            return self.objects
        return f"{self.scene}/{self.objects}"

    @property
    def objects_sha256(self) -> Optional[str]:
        """Digest of the object folder's files (:func:`igd.sim.folder.folder_digest`), or for one of our sets of
        its member names, so that results of a set whose membership changed never resume as the same run."""
        from igd.sim.objects import object_folder, object_set_members

        folder = object_folder(self.objects)
        if folder is None:
            return hashlib.sha256("\n".join(object_set_members(self.object_set)).encode()).hexdigest()
        from igd.sim.folder import folder_digest

        return folder_digest(folder)

    @property
    def weights_sha256(self) -> Optional[str]:
        if self.weights is None or not Path(self.weights).is_file():
            return None
        return file_sha256(self.weights)

    def round_keys(self) -> list[tuple[int, int]]:
        """Every ``(seed, round_id)`` of the run, in log order."""
        return [(s, r) for s in self.seeds for r in range(self.rounds)]

    def worker_key(self) -> str:
        """What a worker's simulator and planner depend on (its cache key)."""
        return json.dumps([self.planner, self.weights, self.overrides, self.scene, self.object_set],
                          sort_keys=True)

    # ---- (de)serialisation ----
    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "BenchConfig":
        """The config of :meth:`to_dict` or of a stored ``config.json``; unknown keys are an error."""
        return config_from_dict(cls, d, derived=DERIVED_FIELDS)

    def identity(self) -> dict:
        """The values of :data:`RESULT_FIELDS` (what ``config.json`` is compared on at resume)."""
        d = self.to_dict()
        d["object_set"] = self.object_set
        d["objects_sha256"] = self.objects_sha256
        d["weights_sha256"] = self.weights_sha256
        return {k: d[k] for k in RESULT_FIELDS}
