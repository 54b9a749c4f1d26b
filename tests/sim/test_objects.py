"""The object catalogue (docs/objects.md): sets, splits, processing, the cache.

Fast tests process objects into a temporary cache (``IGD_CACHE``). The slow test settles every
object of every set on a table and uses the real cache (``$IGD_CACHE`` or ``~/.cache/igd``) so that
the processing is paid once: ``pytest tests/sim/test_objects.py -m slow``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import trimesh

from igd.errors import IGDError
from igd.sim import assets, objects
from igd.sim.objects import (
    ObjectAsset,
    get_object,
    load_object_set,
    object_set_members,
    object_set_names,
    relative_mesh_path,
    resolve_mesh_path,
)

SETS = ["blocks", "packed/test", "packed/train", "pile/test", "pile/test-v1", "pile/train"]
TEST_SETS = ["packed/test", "pile/test", "pile/test-v1"]
# sha256 of the sorted names (one per line) of the train pools that data was generated on: frozen
TRAIN_DIGESTS = {
    "pile/train": (1058, "256e2e00d30c8aeda07d3f26928bc1085c8ce519dff2a8846e4e11faa8a879ab"),
    "packed/train": (144, "b3f1715653bad16f59dad0b891c3cce5812a41d45fbe4c056a699219c27888cf"),
}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A fresh, empty catalogue for one test."""
    monkeypatch.setenv("IGD_CACHE", str(tmp_path / "cache"))
    objects._LOADED.clear()
    yield tmp_path / "cache"
    objects._LOADED.clear()


@pytest.fixture
def bullet():
    """A fresh PyBullet DIRECT client, disconnected afterwards."""
    import pybullet

    client = pybullet.connect(pybullet.DIRECT)
    yield client
    pybullet.disconnect(client)


# --------------------------------------------------------------------------------------------------
# sets and splits (no processing)
# --------------------------------------------------------------------------------------------------
def test_set_names():
    assert object_set_names() == SETS


def test_sets_are_fixed_disjoint_and_sized():
    members = {name: object_set_members(name) for name in SETS}
    for name, names in members.items():
        assert len(names) == len(set(names)), name
    tests = set().union(*(members[name] for name in TEST_SETS))
    trains = set(members["pile/train"]) | set(members["packed/train"])
    assert not tests & trains  # no test object in any train set
    assert not set(assets.test_gen_names()) & trains  # the test-only kinds never train
    assert not set(members["blocks"]) & (tests | trains)
    assert set(members["packed/train"]) <= set(members["pile/train"])
    assert all(len(members[name]) == 40 for name in TEST_SETS)
    assert len(members["pile/train"]) > 1000 and len(members["packed/train"]) > 100
    assert "random/168" not in trains | tests  # NaN vertices (docs/objects.md)
    assert members["blocks"] == [f"gen/block_{i:03d}" for i in range(6)]


@pytest.mark.parametrize("name", sorted(TRAIN_DIGESTS))
def test_train_pools_are_frozen(name):
    """Data was generated on these pools: new kinds or test sets must not move an object in or out."""
    members = object_set_members(name)
    assert (len(members), objects.members_digest(members)) == TRAIN_DIGESTS[name]


def test_a_changed_train_pool_is_an_error(monkeypatch):
    gen_names = assets.gen_names
    monkeypatch.setattr(assets, "gen_names", lambda: gen_names() + ["gen/hammer_007"])
    objects._members.cache_clear()
    try:
        with pytest.raises(IGDError, match="frozen train pool 'pile/train' changed"):
            object_set_members("pile/train")
    finally:
        objects._members.cache_clear()


def test_random_test_objects_follow_the_hash_rule():
    ranking = objects.random_test_ranking()
    assert sorted(ranking[:8]) == list(objects.RANDOM_TEST_PILE_V1)
    upright = objects._upright()
    first_upright = [i for i in ranking if f"random/{i:03d}" in upright][:12]
    assert sorted(first_upright) == list(objects.RANDOM_TEST_PACKED)


def test_unknown_set_names_the_valid_ones():
    with pytest.raises(IGDError, match="blocks, packed/test, packed/train, pile/test, pile/test-v1"):
        load_object_set("pile/validation")


@pytest.mark.parametrize("name", ["banana", "ycb/does_not_exist", "random/168", "random/42", "gen/box_999",
                                  "gen/hammer_008", "gen/ufo_000", "ycb/../x"])
def test_bad_object_names_are_errors(cache, name):
    with pytest.raises(IGDError):
        get_object(name)


def test_importing_the_catalogue_does_not_import_pybullet():
    code = "import igd.sim, igd.sim.objects, sys; assert 'pybullet' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_generated_shapes_are_deterministic():
    a, b = assets.generate_shape("bottle_003"), assets.generate_shape("bottle_003")
    np.testing.assert_array_equal(a.vertices, b.vertices)
    assert not np.allclose(assets.generate_shape("bottle_002").extents, a.extents)
    c, d = assets.generate_shape("hammer_003"), assets.generate_shape("hammer_003")
    np.testing.assert_array_equal(c.vertices, d.vertices)
    assert not np.allclose(assets.generate_shape("hammer_002").extents, c.extents)


def test_test_only_kinds_are_watertight_unions_of_convex_pieces():
    """Every shape of the test-only kinds: closed pieces that are each convex and never overlap."""
    for name in assets.test_gen_names():
        mesh = assets.load_raw_mesh(name)
        assert mesh.is_watertight and mesh.is_volume, name
        pieces = mesh.split(only_watertight=False)
        assert all(p.is_convex for p in pieces), name
        assert mesh.volume == pytest.approx(sum(p.volume for p in pieces), rel=1e-9), name
        prepared, _ = assets.prepare_mesh(name)  # the checks of the processing: watertight, not degenerate
        assert prepared.is_watertight and np.sort(prepared.extents)[1] <= assets.MAX_MIDDLE_EXTENT + 1e-9, name


# --------------------------------------------------------------------------------------------------
# processing
# --------------------------------------------------------------------------------------------------
def check_asset(asset: ObjectAsset, client: int) -> None:
    """The properties every processed object has (docs/objects.md, "Processing")."""
    import pybullet

    assert asset.urdf.is_absolute() and asset.urdf.exists() and asset.mesh.exists()
    mesh = trimesh.load(asset.mesh, force="mesh")
    assert mesh.is_watertight and mesh.is_volume
    np.testing.assert_allclose(mesh.center_mass, 0.0, atol=1e-6)
    assert np.sort(mesh.extents)[1] <= assets.MAX_MIDDLE_EXTENT + 1e-6
    np.testing.assert_allclose(mesh.extents, asset.extents, atol=1e-6)
    assert asset.mass == pytest.approx(np.clip(mesh.volume * assets.DENSITY, assets.MIN_MASS, assets.MAX_MASS),
                                       rel=1e-3)
    uid = pybullet.loadURDF(str(asset.urdf), [0, 0, 0.2], physicsClientId=client)
    assert pybullet.getDynamicsInfo(uid, -1, physicsClientId=client)[0] == pytest.approx(asset.mass, rel=1e-4)
    pybullet.removeBody(uid, physicsClientId=client)


def test_blocks_are_fast_and_valid(cache, bullet):
    start = time.perf_counter()
    blocks = load_object_set("blocks", progress=False)
    assert time.perf_counter() - start < 10.0
    assert [b.name for b in blocks] == object_set_members("blocks")
    for asset in blocks:
        check_asset(asset, bullet)
    assert str(blocks[0].urdf).startswith(str(cache / "objects" / objects.CATALOGUE_VERSION))


@pytest.mark.parametrize("kind", assets.GEN_TEST_KINDS)
def test_test_only_kinds_process(cache, bullet, kind):
    """Each test-only kind processes into a valid object whose collision parts are its pieces."""
    asset = get_object(f"gen/{kind}_000")
    check_asset(asset, bullet)
    parts = assets.read_obj_parts(asset.urdf.parent / assets.COLLISION_FILE)
    assert len(parts) == assets.load_raw_mesh(asset.name).body_count and all(p.is_convex for p in parts)


@pytest.mark.parametrize("name", ["ycb/011_banana", "ycb/005_tomato_soup_can", "random/037", "gen/lshape_002"])
def test_real_objects_are_valid(cache, bullet, name):
    """A YCB scan, one that needs its pinched edges split, a random_urdfs shape, a V-HACD'd shape."""
    asset = get_object(name)
    check_asset(asset, bullet)
    parts = assets.read_obj_parts(asset.urdf.parent / assets.COLLISION_FILE)
    assert len(parts) >= 1 and all(p.is_convex for p in parts)


def test_cache_is_reused(cache, monkeypatch):
    first = load_object_set("blocks", progress=False)
    folder = first[0].urdf.parent
    mtimes = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    objects._LOADED.clear()

    def fail(*args, **kwargs):
        raise AssertionError("re-processed a cached object")

    monkeypatch.setattr(assets, "build_object", fail)
    second = load_object_set("blocks", progress=False)
    assert second == first
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == mtimes


def test_partial_and_stale_tmp_folders_are_ignored(cache):
    final = objects.object_dir("gen/block_001")
    final.parent.mkdir(parents=True)
    fresh = final.parent / f"{objects.TMP_PREFIX}block_001-killed"
    stale = final.parent / f"{objects.TMP_PREFIX}block_001-old"
    for tmp in (fresh, stale):
        tmp.mkdir()
        (tmp / assets.VISUAL_FILE).write_text("v 0 0 0\n")  # half an object
    old = time.time() - 2 * objects.STALE_TMP_S
    os.utime(stale, (old, old))
    asset = get_object("gen/block_001")
    assert asset.urdf.parent == final and (final / assets.META_FILE).exists()
    assert fresh.exists() and not stale.exists()  # another process may still be writing the fresh one


def test_folder_without_meta_is_rebuilt(cache):
    final = objects.object_dir("gen/block_002")
    final.mkdir(parents=True)
    (final / assets.URDF_FILE).write_text("<robot/>")
    asset = get_object("gen/block_002")
    assert (final / assets.META_FILE).exists() and "inertial" in asset.urdf.read_text()


def test_losing_the_rename_race_uses_the_winner(cache, monkeypatch):
    """Another process finishes the same object while we build it: we keep its result."""
    build = assets.build_object

    def build_while_another_process_wins(name, folder):
        winner = assets.new_private_dir(objects.object_dir(name).parent, prefix="winner-")
        build(name, winner)
        os.rename(winner, objects.object_dir(name))
        return build(name, folder)

    monkeypatch.setattr(assets, "build_object", build_while_another_process_wins)
    asset = get_object("gen/block_003")
    assert (asset.urdf.parent / assets.META_FILE).exists()
    assert [p.name for p in asset.urdf.parent.parent.iterdir()] == ["block_003"]  # no tmp left


def test_mesh_paths_travel(cache):
    asset = get_object("gen/block_004")
    relative = relative_mesh_path(asset)
    assert relative == f"{objects.CATALOGUE_VERSION}/gen/block_004/mesh.obj"
    assert resolve_mesh_path(relative) == asset.mesh
    assert resolve_mesh_path(str(asset.mesh)) == asset.mesh  # absolute paths (GIGA's) as they are
    giga = "/home/giga/data/urdfs/pile/test/apple.obj"
    assert resolve_mesh_path(giga) == Path(giga)
    elsewhere = f"/home/someone/.cache/igd/objects/{relative}"  # our catalogue on another machine
    assert resolve_mesh_path(elsewhere) == asset.mesh
    other = relative_mesh_path("gen/block_005")  # not processed yet: resolving processes it
    assert resolve_mesh_path(other).exists()
    with pytest.raises(IGDError, match="not in the object catalogue"):
        resolve_mesh_path("v0/gen/block_004/mesh.obj")


def test_cli_lists_sets(capsys):
    from igd.cli import objects as cli

    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    assert "pile/train" in out and "cache:" in out
    assert cli.main(["list", "--set", "nope"]) == 2


def test_generated_upright_list_matches_the_rule():
    upright = objects._upright()
    for name in assets.gen_names():
        mesh, _ = assets.prepare_mesh(name)
        assert assets.stands_upright(assets.upright_metrics(mesh)) == (name in upright), name


@pytest.mark.slow
def test_upright_lists_match_the_rule():
    upright = objects._upright() | set(objects.UPRIGHT_REJECTED)
    for name in object_set_members("pile/train") + object_set_members("pile/test-v1"):
        mesh, _ = assets.prepare_mesh(name)
        assert assets.stands_upright(assets.upright_metrics(mesh)) == (name in upright), name


# --------------------------------------------------------------------------------------------------
# every asset on a table (docs/objects.md, "Checks and timings")
# --------------------------------------------------------------------------------------------------
REST_STEPS = 240  # 1 s at dt = 1/240
WINDOW_STEPS = 24  # the velocity is measured over the last 0.1 s
REST_VELOCITY = 0.02  # linear (m/s) + angular (rad/s) norm
MAX_TILT_PACKED = 10.0  # degrees


def resting_pose(asset: ObjectAsset, upright: bool) -> tuple:
    """``(position, quaternion)`` that puts the object 2 mm above the table: in its canonical
    orientation (objects that stand) or in its most probable stable pose on its convex hull."""
    from scipy.spatial.transform import Rotation

    mesh = trimesh.load(asset.mesh, force="mesh")
    if upright:
        return [0.0, 0.0, 0.002 - mesh.bounds[0, 2]], [0.0, 0.0, 0.0, 1.0]
    poses, _ = trimesh.poses.compute_stable_poses(mesh, sigma=0.0, n_samples=1)
    pose = poses[0]
    return (pose[:3, 3] + [0.0, 0.0, 0.002]).tolist(), Rotation.from_matrix(pose[:3, :3]).as_quat().tolist()


def settle(asset: ObjectAsset, client: int, upright: bool) -> tuple:
    """Put an object on a table and run 1 s; ``(velocity, tilt of its z axis in degrees)``.

    Objects that stand (the packed sets' rule) start in their canonical orientation, the others
    in their most probable stable pose.

    The velocity (linear m/s + angular rad/s) is measured from the pose change over the last
    0.1 s: a body resting on a flat face chatters in a 4-step limit cycle whose instantaneous
    velocity reads up to 0.15 rad/s while its pose moves by 0.03 degrees (docs/objects.md).
    """
    import pybullet
    import pybullet_data
    from scipy.spatial.transform import Rotation

    pybullet.resetSimulation(physicsClientId=client)
    pybullet.setGravity(0, 0, -9.81, physicsClientId=client)
    pybullet.setPhysicsEngineParameter(fixedTimeStep=1 / 240, numSolverIterations=150, physicsClientId=client)
    pybullet.loadURDF(str(Path(pybullet_data.getDataPath()) / "plane.urdf"), physicsClientId=client)
    position, quat = resting_pose(asset, upright)
    uid = pybullet.loadURDF(str(asset.urdf), position, quat, physicsClientId=client)
    poses = []
    for step in range(1, REST_STEPS + 1):
        pybullet.stepSimulation(physicsClientId=client)
        if step in (REST_STEPS - WINDOW_STEPS, REST_STEPS):
            poses.append(pybullet.getBasePositionAndOrientation(uid, physicsClientId=client))
    (p0, q0), (p1, q1) = poses
    window = WINDOW_STEPS / 240
    turn = (Rotation.from_quat(q1) * Rotation.from_quat(q0).inv()).magnitude()
    velocity = float(np.linalg.norm(np.subtract(p1, p0)) / window + turn / window)
    z_axis = Rotation.from_quat(q1).as_matrix()[:, 2]
    return velocity, float(np.degrees(np.arccos(min(1.0, z_axis[2]))))


@pytest.mark.slow
@pytest.mark.timeout(3600)
@pytest.mark.parametrize("set_name", SETS)
def test_every_object_comes_to_rest_without_warnings(set_name, bullet):
    objects._LOADED.clear()
    standing = objects._upright() | set(object_set_members("blocks"))
    moving, tilted = [], []
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "bullet.log"
        for asset in load_object_set(set_name, progress=False):
            with assets.captured_output(log):
                velocity, tilt = settle(asset, bullet, upright=asset.name in standing)
            if velocity > REST_VELOCITY:
                moving.append(f"{asset.name} ({velocity:.3f})")
            if set_name.startswith("packed") and tilt > MAX_TILT_PACKED:
                tilted.append(f"{asset.name} ({tilt:.0f} deg)")
        printed = log.read_text(errors="replace")
    assert not moving, f"still moving after 1 s: {moving}"
    assert not tilted, f"packed objects that do not stay upright: {tilted}"
    assert "warning" not in printed.lower() and "error" not in printed.lower(), printed[:2000]
