"""PyTorch datasets over a processed root (ours or GIGA's released ones, read as they are).

- :class:`GraspDataset`: one grasp per item (the reference's way).
- :class:`SceneBatchedGraspDataset`: one scene per item with ``K`` of its grasps. On a CPU the
  scene encoder dominates a training step (docs/training.md, "Scene-batched training"), so encoding
  a scene once for many grasps is the main lever on training speed; :func:`flatten_grasps` turns a
  scene batch into a grasp batch for losses that want one grasp per grid.

Batch keys and shapes: :mod:`igd.batch_keys`. Grasps come from ``ROOT/grasps.csv`` (metres, or GIGA's
voxel-unit ``i,j,k`` columns, converted on reading), grids from ``ROOT/scenes/<id>.npz``, occupancy
from ``ROOT/occ/<id>/`` or else ``RAW_ROOT/occ/<id>/`` (where GIGA keeps it). The split is by scene:
``ROOT/splits.json`` if present (``igd process`` writes one), else a seeded split of the scene ids.

Randomness (occupancy file and points, grasp choice, augmentation) comes from a generator seeded
by ``(seed, epoch, index)``: an item is the same whatever the worker or the order; call
:meth:`set_epoch` to draw new samples each epoch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from igd import batch_keys as keys
from igd.constants import MAX_OPENING, SIZE
from igd.data import layout
from igd.errors import IGDError

__all__ = ["GraspDataset", "SceneBatchedGraspDataset", "collate", "flatten_grasps", "rotate_about_z",
           "select_split"]

SPLITS = ("train", "val", "all")
#: The columns of :attr:`GraspDataset.row_values` ``(N, 8)``.
ROW_COLUMNS = ("qx", "qy", "qz", "qw", "x", "y", "z", "width")
_EXTRA_STREAM = 1  # the extra negatives of an item draw from (seed, epoch, index, 1)
_CENTRE = np.array([SIZE / 2, SIZE / 2, 0.0])  # rotations of the augmentation turn about x = y = 0.15


# --------------------------------------------------------------------------------------------------
# splits and augmentation
# --------------------------------------------------------------------------------------------------
def select_split(root: Path, grasps: np.ndarray, split: str, val_fraction: float, seed: int) -> np.ndarray:
    """The rows of ``grasps`` whose scene is in ``split`` (``train``, ``val`` or ``all``)."""
    if split not in SPLITS:
        raise IGDError(f"split must be one of {', '.join(SPLITS)}, got '{split}'")
    if split == "all":
        return grasps
    splits = layout.read_splits(root)
    if splits is None:
        from igd.data.process import split_scenes

        train, val = split_scenes(np.unique(grasps["scene_id"]), val_fraction, seed)
        splits = {"train": train, "val": val}
    return grasps[np.isin(grasps["scene_id"], np.asarray(splits[split], dtype=grasps["scene_id"].dtype))]


def rotate_about_z(k: int, grid: np.ndarray, pos: np.ndarray, quat: np.ndarray,
                   points: Optional[np.ndarray]) -> tuple:
    """Turn a sample by ``k · 90°`` about the vertical axis through the workspace centre.

    ``grid (1, 40, 40, 40)`` (voxel centres ``(i + 0.5) · 0.0075``, so the turn is an exact
    ``rot90``), ``pos (..., 3)`` metres, ``quat (..., 4)`` xyzw, ``points (P, 3)`` metres or None.
    Returns the turned ``(grid, pos, quat, points)``.
    """
    rot = Rotation.from_rotvec([0.0, 0.0, k * np.pi / 2])
    grid = np.ascontiguousarray(np.rot90(grid, k, axes=(1, 2)))

    def turn(p: np.ndarray) -> np.ndarray:
        return (rot.apply(p.reshape(-1, 3) - _CENTRE) + _CENTRE).reshape(p.shape).astype(np.float32)

    quat = (rot * Rotation.from_quat(quat.reshape(-1, 4))).as_quat().reshape(quat.shape).astype(np.float32)
    return grid, turn(pos), quat, None if points is None else turn(points)


def collate(items: Sequence[Dict[str, torch.Tensor]]) -> Dict[str, torch.Tensor]:
    """Stack items (of either dataset) along a new first axis: grasps ``(B, ...)``, scenes ``(S, ...)``."""
    return {k: torch.stack([item[k] for item in items]) for k in items[0]}


def flatten_grasps(batch: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """A scene batch (``pos (S, K, 3)``, ...) → a grasp batch of ``S·K`` (``pos (S·K, 3)``, ...) whose
    scene tensors (``grid``, ``occ_points``, ``occ``) are repeated per grasp (views, no copies)."""
    s, k = batch[keys.POS].shape[:2]
    out = {name: batch[name].reshape(s * k, *batch[name].shape[2:])
           for name in keys.GRASP_KEYS + keys.OPTIONAL_GRASP_KEYS if name in batch}
    for name in keys.SCENE_KEYS:
        if name in batch:
            t = batch[name]
            out[name] = t.unsqueeze(1).expand(s, k, *t.shape[1:]).reshape(s * k, *t.shape[1:])
    return out


# --------------------------------------------------------------------------------------------------
# what both datasets share: a processed root, its grids and its occupancy
# --------------------------------------------------------------------------------------------------
class _ProcessedRoot(torch.utils.data.Dataset):
    """Rows of one split, scene files located and checked, grids cached, occupancy sampled.

    The rows are kept compact (GIGA's roots hold millions): ``scenes`` (sorted scene ids),
    ``row_scene (N,)`` int32 index into ``scenes``, ``row_values (N, 8)`` float32 (:data:`ROW_COLUMNS`,
    metres), ``row_labels (N,)`` float32.
    """

    def __init__(self, root, raw_root=None, split: str = "train", augment: bool = False, occ_points: int = 2048,
                 cache_grids: bool = True, seed: int = 0, val_fraction: float = 0.1,
                 max_scenes: Optional[int] = None):
        self.root, self.raw_root = Path(root), None if raw_root is None else Path(raw_root)
        if occ_points < 0:
            raise IGDError(f"occ_points must be >= 0 (0: no occupancy in the items), got {occ_points}")
        self.split, self.augment, self.occ_points = split, bool(augment), int(occ_points)
        self.seed, self.epoch, self.cache_grids = int(seed), 0, bool(cache_grids)
        for folder in (self.root, self.raw_root):
            if folder is not None and (folder / layout.SETUP_FILE).is_file():
                layout.check_setup(folder)
        grasps = layout.check_grasps(layout.read_grasps(self.root), self.root / layout.GRASPS_FILE)
        grasps = select_split(self.root, grasps, split, val_fraction, seed)
        if max_scenes is not None:  # the first N scenes of the split, in id order (nested subsets)
            grasps = grasps[np.isin(grasps["scene_id"], np.unique(grasps["scene_id"])[:max_scenes])]
        self._check_rows(grasps)
        scenes, row_scene = np.unique(grasps["scene_id"], return_inverse=True)
        self.scenes: List[str] = [str(s) for s in scenes]
        self.row_scene = row_scene.astype(np.int32)
        self.row_values = np.stack([grasps[c] for c in ROW_COLUMNS], axis=1).astype(np.float32)
        self.row_labels = grasps["label"].astype(np.float32)
        del grasps
        self._grids: Dict[str, np.ndarray] = {}
        self._occ_dirs = self._locate_files()
        self._occ_files: Dict[str, List[Path]] = {}

    def _check_rows(self, grasps: np.ndarray) -> None:
        where = f"{self.root / layout.GRASPS_FILE} (split '{self.split}')"
        if len(grasps) == 0:
            raise IGDError(f"{where} has no grasps")
        if not np.any(grasps["label"] == 1):
            raise IGDError(f"{where} has no positive grasps; training would learn nothing")

    def _locate_files(self) -> Dict[str, Path]:
        """Check every scene has its grid file (and an occupancy folder); returns the occupancy folders."""
        occ_dirs = {}
        for scene_id in self.scenes:
            path = layout.grid_path(self.root, scene_id)
            if not path.is_file():
                raise IGDError(f"{path}: missing, but {layout.GRASPS_FILE} has rows of scene {scene_id}")
            if self.occ_points:
                candidates = [layout.occ_dir(r, scene_id) for r in (self.root, self.raw_root) if r is not None]
                found = [c for c in candidates if c.is_dir()]
                if not found:
                    hint = "" if self.raw_root else " (GIGA keeps occupancy under the raw root: pass raw_root)"
                    raise IGDError(f"no occupancy folder for scene {scene_id}: looked in "
                                   f"{', '.join(map(str, candidates))}{hint}; or use occ_points=0")
                occ_dirs[scene_id] = found[0]
        return occ_dirs

    def set_epoch(self, epoch: int) -> None:
        """Draw other random samples (occupancy, grasps, augmentation) from now on."""
        self.epoch = int(epoch)

    def _rng(self, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch, int(index)])

    def grid(self, scene_id: str) -> np.ndarray:
        """The scene's grid ``(1, 40, 40, 40)`` float32 (read-only when cached)."""
        grid = self._grids.get(scene_id)
        if grid is None:
            grid = layout.read_grid(self.root, scene_id)
            if self.cache_grids:
                grid.setflags(write=False)
                self._grids[scene_id] = grid
        return grid

    def occupancy(self, scene_id: str, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
        """``occ_points`` points of one random occupancy file of the scene: ``(P, 3)`` metres, ``(P,)`` float32."""
        files = self._occ_files.get(scene_id)
        if files is None:
            files = sorted(self._occ_dirs[scene_id].glob(layout.OCC_FILE_GLOB))
            if not files:
                raise IGDError(f"{self._occ_dirs[scene_id]}: no NNNN.npz occupancy files")
            self._occ_files[scene_id] = files
        points, occ = layout.read_occ_file(files[rng.integers(len(files))])
        idx = rng.choice(len(points), self.occ_points, replace=len(points) < self.occ_points)
        return points[idx], occ[idx].astype(np.float32)

    def _sample(self, scene: int, rows, rng: np.random.Generator,
                extra: Optional[Callable[[np.random.Generator], tuple]] = None) -> Dict[str, torch.Tensor]:
        """One item from scene number ``scene`` and its ``rows`` (an index: one grasp; ``(K,)``: K grasps);
        ``extra(rng)`` → ``(values (E, 8), labels (E,), certain (E,))`` rows appended after the K."""
        scene_id = self.scenes[scene]
        grid = self.grid(scene_id)
        values = np.array(self.row_values[rows])  # a copy: items never share memory with the dataset
        labels = np.array(self.row_labels[rows])
        certain = None
        if extra is not None:
            more, more_labels, certain = extra(rng)
            certain = np.concatenate([np.zeros(len(values), np.float32), certain])
            values = np.concatenate([values, more]).astype(np.float32)
            labels = np.concatenate([labels, more_labels]).astype(np.float32)
        quat, pos, width = (np.ascontiguousarray(values[..., i:j]) for i, j in ((0, 4), (4, 7), (7, 8)))
        points, occ = self.occupancy(scene_id, rng) if self.occ_points else (None, None)
        if self.augment:
            grid, pos, quat, points = rotate_about_z(int(rng.integers(4)), grid, pos, quat, points)
        item = {keys.GRID: torch.from_numpy(np.array(grid, np.float32)), keys.POS: torch.from_numpy(pos),
                keys.QUAT: torch.from_numpy(quat), keys.WIDTH: torch.from_numpy(width[..., 0]),
                keys.LABEL: torch.as_tensor(labels)}
        if certain is not None:
            item[keys.CERTAIN] = torch.from_numpy(certain)
        if points is not None:
            item[keys.OCC_POINTS], item[keys.OCC] = torch.from_numpy(points), torch.from_numpy(occ)
        return item


# --------------------------------------------------------------------------------------------------
# the datasets
# --------------------------------------------------------------------------------------------------
class GraspDataset(_ProcessedRoot):
    """One grasp per item from a processed root.

    Args:
        root: the processed root (``grasps.csv``, ``scenes/``, optionally ``occ/``, ``splits.json``).
        raw_root: where to look for ``occ/<id>/`` when ``root`` has none (GIGA's released data).
        split: ``train``, ``val`` or ``all`` (by scene).
        augment: turn each item by a random multiple of 90° about the workspace's vertical axis.
        occ_points: occupancy points per item (0: no ``occ_points``/``occ`` keys, no occupancy needed).
        cache_grids: keep each scene's grid (256 KB) in memory once read.
        seed: seeds every random choice (with the epoch and the item index).
        val_fraction: the validation share of a split drawn from ``seed`` when ``root`` has no splits.json.
        max_scenes: keep only the first N scenes of the split (sorted ids); None: all.

    Item: ``grid (1, 40, 40, 40)``, ``pos (3,)`` m, ``quat (4,)`` xyzw, ``width ()`` m, ``label ()``,
    ``occ_points (P, 3)`` m, ``occ (P,)``; batches by the default collate or :func:`collate`
    (keys and batch shapes: :mod:`igd.batch_keys`).
    """

    def __len__(self) -> int:
        return len(self.row_labels)

    def __getitem__(self, index: int) -> Dict[str, torch.Tensor]:
        return self._sample(int(self.row_scene[index]), int(index), self._rng(index))

    def __repr__(self) -> str:
        return (f"GraspDataset({str(self.root)!r}, split={self.split!r}, grasps={len(self)}, "
                f"scenes={len(self.scenes)}, positives={int(self.row_labels.sum())})")


class SceneBatchedGraspDataset(_ProcessedRoot):
    """One scene per item with ``grasps_per_scene`` (K) of its grasps, then optional extra negatives.

    The K rows are drawn without replacement, or with replacement when the scene has fewer than K,
    from the scene's rows as stored (balanced data: positives and negatives in their stored mix).
    ``dropped_negatives`` (D) more rows come from the labelled negatives balancing dropped
    (``dropped/grasps.csv``; a scene with none of those draws from its stored negatives), and
    ``certain_negatives`` (C) from the scene's certain negatives (``negatives/<id>.npz``, both kinds: label 0,
    width 0.08, a uniformly random orientation, since every orientation fails there; a scene with
    none draws these C rows as the D rows instead). Both files come from
    ``igd process RAW PROCESSED --add-negatives`` (:mod:`igd.data.negatives`). ``mined_rows`` (M) more
    rows come from the mined set ``mined`` (``PROCESSED/mined/<mined>/grasps.csv``; ``"a,b"`` pools two), ``igd mine``: the
    grasps a trained planner would execute on the scene, labelled by the fast labeller at its own
    orientation, :mod:`igd.train.mine`); a scene with none draws its M rows as the D rows instead.
    Other arguments as :class:`GraspDataset`.

    Item: ``grid (1, 40, 40, 40)``, ``pos (N, 3)``, ``quat (N, 4)``, ``width (N,)``, ``label (N,)``
    with ``N = K + D + M + C`` in that order, ``certain (N,)`` (1 = a certain negative; only when
    ``C > 0``), ``occ_points (P, 3)``, ``occ (P,)``; :func:`collate` stacks S scenes,
    :func:`flatten_grasps` makes an ``S·N`` grasp batch of it.
    """

    def __init__(self, root, raw_root=None, split: str = "train", grasps_per_scene: int = 32,
                 dropped_negatives: int = 0, certain_negatives: int = 0, mined_rows: int = 0,
                 mined: Optional[str] = None, **kwargs):
        if grasps_per_scene < 1:
            raise IGDError(f"grasps_per_scene must be >= 1, got {grasps_per_scene}")
        for name, value in (("dropped_negatives", dropped_negatives), ("certain_negatives", certain_negatives),
                            ("mined_rows", mined_rows)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise IGDError(f"{name} must be an int >= 0 (rows per scene item), got {value!r}")
        if mined_rows and not mined:
            raise IGDError("mined_rows > 0 needs the mined set's name (mined=NAME: PROCESSED/mined/NAME, igd mine)")
        super().__init__(root, raw_root, split, **kwargs)
        self.grasps_per_scene = int(grasps_per_scene)
        self.dropped_negatives, self.certain_negatives = int(dropped_negatives), int(certain_negatives)
        self.mined_rows, self.mined = int(mined_rows), mined
        self._rows = _rows_per_scene(self.row_scene, len(self.scenes))  # row indices of each scene, in file order
        self._negatives = self._read_dropped() if dropped_negatives or certain_negatives or mined_rows else None
        self._mined = self._read_mined() if mined_rows else None
        self._certain: Dict[str, np.ndarray] = {}
        if certain_negatives:
            for scene_id in self.scenes:  # fail now, with the file's name, rather than mid-epoch
                self._certain[scene_id] = _read_certain(self.root, scene_id)

    def _read_dropped(self) -> List[Tuple[np.ndarray, np.ndarray]]:
        """Per scene ``(values (n, 8), labels (n,))`` of the rows extra negatives come from: its dropped
        negatives; a scene with none, its stored negatives; a scene with neither, its stored rows."""
        from igd.data.negatives import DROPPED_DIR

        folder = self.root / DROPPED_DIR
        if not (folder / layout.GRASPS_FILE).is_file():
            raise IGDError(f"{folder / layout.GRASPS_FILE}: missing; add it with "
                           f"'igd process RAW {self.root} --add-negatives'")
        dropped = layout.check_grasps(layout.read_grasps(folder), folder / layout.GRASPS_FILE)
        dropped = dropped[np.isin(dropped["scene_id"], np.asarray(self.scenes, dtype=dropped["scene_id"].dtype))]
        index = {s: i for i, s in enumerate(self.scenes)}
        scene_of = np.array([index[str(s)] for s in dropped["scene_id"]], np.int64)
        values = np.stack([dropped[c] for c in ROW_COLUMNS], axis=1).astype(np.float32)
        labels = dropped["label"].astype(np.float32)
        out = []
        for scene, rows in enumerate(_rows_per_scene(scene_of, len(self.scenes))):
            if len(rows) == 0:
                rows = self._rows[scene]
                negative = rows[self.row_labels[rows] == 0]
                rows = negative if len(negative) else rows
                out.append((self.row_values[rows], self.row_labels[rows]))
            else:
                out.append((values[rows], labels[rows]))
        return out

    def _read_mined(self) -> List[Tuple[np.ndarray, np.ndarray]]:
        """Per scene ``(values (n, 8), labels (n,))`` of its mined rows, every named set pooled in the
        order named (n = 0 where it has none)."""
        tables = []
        for name in str(self.mined).split(","):
            folder = self.root / layout.MINED_DIR / name
            path = folder / layout.GRASPS_FILE
            if not path.is_file():
                unfinished = " (unfinished: rerun igd mine with --resume)" if (folder / "parts").is_dir() else ""
                raise IGDError(f"{path}: missing{unfinished}; make it with "
                               f"'igd mine CHECKPOINT --data {self.root} --name {name}'")
            tables.append(layout.check_grasps(layout.read_grasps(folder), path))
        table = np.concatenate(tables)
        index = {s: i for i, s in enumerate(self.scenes)}
        ids = table["scene_id"].astype(str)
        keep = np.array([s in index for s in ids], bool)
        scene_of = np.array([index[s] for s in ids[keep]], np.int64)
        values = np.stack([table[c][keep] for c in ROW_COLUMNS], axis=1).astype(np.float32)
        labels = table["label"][keep].astype(np.float32)
        return [(values[rows], labels[rows]) for rows in _rows_per_scene(scene_of, len(self.scenes))]

    def _extra_rows(self, scene: int, rng: np.random.Generator) -> tuple:
        """``(values (D + M + C, 8), labels (D + M + C,), certain (D + M + C,))`` of one item."""
        d, m, c = self.dropped_negatives, self.mined_rows, self.certain_negatives
        values, labels = self._negatives[scene]
        pick = rng.choice(len(values), d, replace=len(values) < d)
        rows, row_labels, certain = [values[pick]], [labels[pick]], np.zeros(d + m + c, np.float32)
        if m:
            mined_values, mined_labels = self._mined[scene]
            if not len(mined_values):  # nothing mined in this scene: its labelled negatives instead
                mined_values, mined_labels = values, labels
            pick = rng.choice(len(mined_values), m, replace=len(mined_values) < m)
            rows.append(mined_values[pick])
            row_labels.append(mined_labels[pick])
        points = self._certain.get(self.scenes[scene])
        if c and points is not None and len(points):
            pos = points[rng.choice(len(points), c, replace=len(points) < c)]
            quat = Rotation.random(c, random_state=rng).as_quat().astype(np.float32)
            rows.append(np.concatenate([quat, pos, np.full((c, 1), MAX_OPENING, np.float32)], axis=1))
            row_labels.append(np.zeros(c, np.float32))
            certain[d + m:] = 1.0
        elif c:  # no certain negative in this scene: labelled negatives instead
            pick = rng.choice(len(values), c, replace=len(values) < c)
            rows.append(values[pick])
            row_labels.append(labels[pick])
        return np.concatenate(rows), np.concatenate(row_labels), certain

    def __len__(self) -> int:
        return len(self.scenes)

    def __getitem__(self, index: int) -> Dict[str, torch.Tensor]:
        rng = self._rng(index)
        rows = self._rows[index]
        k = self.grasps_per_scene
        pick = rows[rng.choice(len(rows), k, replace=len(rows) < k)]
        extra = None
        if self.dropped_negatives or self.certain_negatives or self.mined_rows:  # their own stream: the rest as without
            own = np.random.default_rng([self.seed, self.epoch, int(index), _EXTRA_STREAM])
            extra = lambda _: self._extra_rows(index, own)  # noqa: E731
        return self._sample(index, pick, rng, extra)

    def __repr__(self) -> str:
        return (f"SceneBatchedGraspDataset({str(self.root)!r}, split={self.split!r}, scenes={len(self)}, "
                f"grasps_per_scene={self.grasps_per_scene}, dropped_negatives={self.dropped_negatives}, "
                f"certain_negatives={self.certain_negatives}, mined_rows={self.mined_rows})")


def _rows_per_scene(row_scene: np.ndarray, n_scenes: int) -> List[np.ndarray]:
    """Row indices of each scene ``0 .. n_scenes - 1``, in file order."""
    order = np.argsort(row_scene, kind="stable")
    starts = np.searchsorted(row_scene[order], np.arange(1, n_scenes))
    return np.split(order, starts)


def _read_certain(root: Path, scene_id: str) -> np.ndarray:
    from igd.data.negatives import read_negatives

    return read_negatives(root, scene_id, probe=True)
