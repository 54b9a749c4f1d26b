"""Object sets from a downloaded folder of URDFs in VGN's/GIGA's format (igd.sim.folder, docs/objects.md).

Each test writes a tiny folder as VGN's ``data/urdfs/<set>`` holds it: ``<name>.urdf`` (VGN's URDF:
one link, lateral friction, mass, a dummy inertia) with ``<name>_visual.obj`` and
``<name>_collision.obj`` beside it, here two boxes and a cylinder made with trimesh. The scenes,
the benchmark round and the data generation run on the real simulator.
"""

import json
from pathlib import Path

import numpy as np
import pytest
import trimesh

from igd.bench import runner
from igd.bench.config import BenchConfig
from igd.cli.main import main
from igd.data import layout
from igd.data.generate import GenerateConfig, run_generate
from igd.data.occupancy import points_inside_any, scene_meshes
from igd.errors import IGDError
from igd.sim import folder as folder_mod
from igd.sim.folder import folder_digest, folder_scaling, load_folder, open_folder, reference_set_name
from igd.sim.objects import ObjectAsset, load_object_set, object_folder, resolve_mesh_path
from igd.sim.simulation import ClutterRemovalSim

# VGN's URDF as its export notebook writes it (name, mass, visual and collision file names)
VGN_URDF = """<?xml version="1.0"?>
<robot name="{name}">
  <link name="base_link">
    <contact>
      <lateral_friction value="1.0"/>
      <rolling_friction value="0.0"/>
      <contact_cfm value="0.0"/>
      <contact_erp value="1.0"/>
    </contact>
    <inertial>
      <mass value="{mass}"/>
      <inertia ixx="1" ixy="0" ixz="0" iyy="1" iyz="0" izz="1"/>
    </inertial>
    <visual>
      <geometry>
        <mesh filename="{name}_visual.obj"/>
      </geometry>
    </visual>
    <collision>
      <geometry>
        <mesh filename="{name}_collision.obj"/>
      </geometry>
    </collision>
  </link>
</robot>
"""
SHAPES = {"box_a": ("box", (0.05, 0.04, 0.06)), "box_b": ("box", (0.03, 0.06, 0.04)),
          "cyl_c": ("cylinder", (0.02, 0.07))}
EXTENTS = {"box_a": (0.05, 0.04, 0.06), "box_b": (0.03, 0.06, 0.04), "cyl_c": (0.04, 0.04, 0.07)}
MASSES = {"box_a": 0.084, "box_b": 0.0504, "cyl_c": 0.0616}  # kg: volume x 700 kg/m^3, as VGN's


def write_vgn_folder(path: Path, names=tuple(SHAPES)) -> Path:
    """A folder in VGN's format."""
    path.mkdir(parents=True, exist_ok=True)
    for name in names:
        kind, size = SHAPES[name]
        mesh = (trimesh.creation.box(size) if kind == "box"
                else trimesh.creation.cylinder(size[0], size[1], sections=24))
        mesh.export(path / f"{name}_visual.obj")
        mesh.export(path / f"{name}_collision.obj")
        (path / f"{name}.urdf").write_text(VGN_URDF.format(name=name, mass=MASSES[name]))
    return path


def append(path: Path, text: str) -> None:
    with open(path, "a") as f:
        f.write(text)


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """The extents of the visual meshes are remembered in the cache: a fresh one per test."""
    monkeypatch.setenv("IGD_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def vgn_root(tmp_path_factory):
    """``data/urdfs`` with a ``pile/test`` and a ``blocks`` folder."""
    root = tmp_path_factory.mktemp("vgn") / "data" / "urdfs"
    write_vgn_folder(root / "pile" / "test")
    write_vgn_folder(root / "blocks", names=("box_a",))
    return root


@pytest.fixture(scope="module")
def pile_test(vgn_root):
    return vgn_root / "pile" / "test"


# --------------------------------------------------------------------------------------------------
# reading a folder
# --------------------------------------------------------------------------------------------------
def test_a_folder_argument_is_a_path_that_is_no_set_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("test", "train", "blocks", "pile/test", "packed/train", "nope"):
        assert object_folder(name) is None
    assert object_folder("data/urdfs/pile/test") == str(tmp_path / "data" / "urdfs" / "pile" / "test")
    assert object_folder("./mine") == str(tmp_path / "mine")
    assert object_folder(str(tmp_path)) == str(tmp_path)


def test_folder_objects_are_assets_of_the_files_as_they_are(pile_test):
    assets = load_object_set(str(pile_test))
    assert [a.name for a in assets] == ["box_a", "box_b", "cyl_c"]
    for a in assets:
        assert isinstance(a, ObjectAsset)
        assert a.urdf == pile_test / f"{a.name}.urdf" and a.mesh == pile_test / f"{a.name}_visual.obj"
        assert a.mass == MASSES[a.name]
        np.testing.assert_allclose(a.extents, EXTENTS[a.name], atol=1e-9)
    assert load_folder(pile_test) == assets  # the same objects through the module's own entry


def test_extents_are_read_once_per_mesh_version(tmp_path, monkeypatch):
    folder = write_vgn_folder(tmp_path / "f")
    first = load_folder(folder)
    assert folder_mod.extents_file(folder).is_file()
    real, read = folder_mod.mesh_extents, []
    monkeypatch.setattr(folder_mod, "mesh_extents", lambda path: read.append(path.name) or real(path))
    folder_mod._ASSETS.clear()
    assert load_folder(folder) == first and read == []  # a new process: the remembered extents
    append(folder / "box_b_visual.obj", "v 0.1 0 0\n")
    again = load_folder(folder)
    assert read == ["box_b_visual.obj"]
    np.testing.assert_allclose(again[1].extents, (0.115, 0.06, 0.04), atol=1e-9)


def test_the_references_set_scaling(vgn_root, pile_test, tmp_path):
    assert reference_set_name(pile_test) == "pile/test" and folder_scaling(pile_test) == 1.0
    assert reference_set_name(vgn_root / "blocks") == "blocks" and folder_scaling(vgn_root / "blocks") == 1.67
    assert reference_set_name(tmp_path / "google") == "google"  # no urdfs folder: the folder's own name
    assert folder_mod.REFERENCE_SCALING["google"] == 0.7


def test_digest_follows_the_object_files_only(tmp_path):
    folder = write_vgn_folder(tmp_path / "urdfs" / "packed" / "test")
    first = folder_digest(folder)
    assert len(first) == 64 and folder_digest(str(folder)) == first
    (folder / "README.txt").write_text("not an object file")
    assert folder_digest(folder) == first
    with open(folder / "box_b_visual.obj", "a") as f:
        f.write("# edited\n")
    edited = folder_digest(folder)
    assert edited != first
    (folder / "box_b.urdf").unlink()
    assert folder_digest(folder) not in (first, edited)
    assert [o.name for o in open_folder(folder).objects] == ["box_a", "cyl_c"]


# --------------------------------------------------------------------------------------------------
# scenes
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("scene, lo, hi", [("pile", 0.8, 1.0), ("packed", 0.7, 0.9)])
def test_scenes_load_the_urdfs_with_the_reference_scales(pile_test, scene, lo, hi):
    sim = ClutterRemovalSim(scene, str(pile_test))
    try:
        sim.reset(3, seed=5)
        items = sim.mesh_pose_list()
        assert sim.num_objects >= 1 and len(items) == sim.num_objects
        p = sim.world.p
        for (asset, scale, pose), uid in zip(items, [u for u in sim._loaded if u in sim.objects]):
            assert lo <= scale <= hi
            info = p.getDynamicsInfo(uid, -1)
            assert info[0] == pytest.approx(asset.mass)  # the URDF's mass, not scaled
            assert info[1] == 1.0 and info[6] == 0.0  # the URDF's lateral and rolling friction
            # the visual mesh at (scale, pose) is where PyBullet has the body
            vertices = np.asarray(trimesh.load(asset.mesh, force="mesh").vertices) * scale
            world = vertices @ pose[:3, :3].T + pose[:3, 3]
            lower, upper = (np.asarray(v) for v in sim.world.get_aabb(uid))
            np.testing.assert_allclose((world.min(0) + world.max(0)) / 2, (lower + upper) / 2, atol=1e-3)
            assert np.all(world.min(0) >= lower - 1e-6) and np.all(world.max(0) <= upper + 1e-6)
        first = [pose for _, _, pose in items]
        sim.reset(3, seed=5)
        assert all(np.array_equal(a, b) for a, (_, _, b) in zip(first, sim.mesh_pose_list()))
    finally:
        sim.close()


def test_a_blocks_folder_gets_the_references_1_67(vgn_root):
    sim = ClutterRemovalSim("pile", str(vgn_root / "blocks"))
    try:
        sim.reset(2, seed=0)
        scales = [scale for _, scale, _ in sim.mesh_pose_list()]
        assert scales and all(1.67 * 0.8 <= s <= 1.67 for s in scales)
    finally:
        sim.close()


# --------------------------------------------------------------------------------------------------
# the benchmark and data generation
# --------------------------------------------------------------------------------------------------
def test_one_benchmark_round_on_a_folder(tmp_path):
    folder = write_vgn_folder(tmp_path / "data" / "urdfs" / "packed" / "test")
    cfg = BenchConfig("topdown", scene="packed", objects=str(folder), rounds=1, seeds=[0], noise="none",
                      workers=1, out=str(tmp_path / "run"))
    summary = runner.run_benchmark(cfg, progress=False)
    assert summary["objects"] >= 1 and summary["attempts"] >= 1
    stored = json.loads((tmp_path / "run" / runner.CONFIG_FILE).read_text())
    assert stored["object_set"] == stored["objects"] == str(folder) == summary["object_set"]
    assert stored["objects_sha256"] == folder_digest(folder) == summary["objects_sha256"]
    runner.prepare_out(BenchConfig.from_dict(stored), resume=True)  # the same folder resumes
    append(folder / "cyl_c_collision.obj", "# edited\n")
    with pytest.raises(IGDError, match="cannot resume .*objects_sha256"):
        runner.prepare_out(BenchConfig.from_dict(stored), resume=True)


def test_generate_on_a_folder_writes_absolute_mesh_paths(tmp_path):
    folder = write_vgn_folder(tmp_path / "data" / "urdfs" / "pile" / "train")
    out = tmp_path / "raw"
    args = ["generate", "--scene", "pile", "--scenes", "2", "--grasps-per-scene", "3", "--objects", str(folder),
            "--workers", "1", "--out", str(out), "--no-progress"]
    assert main(args) == 0
    stats = json.loads((out / "stats.json").read_text())
    assert stats["scenes"] >= 1 and stats["grasp_points"] == 3 * stats["scenes"]
    settings = json.loads((out / ".generate.json").read_text())
    assert settings["object_set"] == str(folder) and settings["objects_sha256"] == folder_digest(folder)
    ids = sorted(p.stem for p in (out / layout.MESH_POSE_DIR).glob("*.npz"))
    assert len(ids) == stats["scenes"]
    for sid in ids:
        items = layout.read_mesh_pose_list(out, sid)
        assert items and all(Path(path).is_absolute() and Path(path).parent == folder for path, _, _ in items)
        assert all(resolve_mesh_path(path) == Path(path) for path, _, _ in items)
        # occupancy labels: each object's centre of mass (its pose) is inside, a point above the table is not
        meshes = scene_meshes(items, out)
        centres = np.array([pose[:3, 3] for _, _, pose in items] + [[0.15, 0.15, 0.29]])
        assert points_inside_any(meshes, centres).tolist() == [True] * len(items) + [False]
    assert main([*args, "--resume"]) == 0  # the same folder resumes (nothing to do)
    append(folder / "box_a.urdf", "<!-- edited -->\n")
    with pytest.raises(IGDError, match="cannot resume .*objects_sha256"):
        run_generate(GenerateConfig(out=str(out), scene="pile", scenes=2, grasps_per_scene=3, objects=str(folder),
                                    workers=1), progress=False, resume=True)


# --------------------------------------------------------------------------------------------------
# bad input: one line, naming the file
# --------------------------------------------------------------------------------------------------
def test_a_missing_mesh_is_named(tmp_path):
    folder = write_vgn_folder(tmp_path / "f")
    (folder / "box_b_collision.obj").unlink()
    with pytest.raises(IGDError, match=r"box_b\.urdf: its collision mesh .*box_b_collision\.obj is missing"):
        open_folder(folder)


def test_a_folder_without_urdfs_says_so_and_points_below(tmp_path):
    write_vgn_folder(tmp_path / "pile" / "train", names=("box_a",))
    with pytest.raises(IGDError, match=r"no \.urdf file in .*pile; its sub-folders train have some"):
        open_folder(tmp_path / "pile")


def test_a_path_that_does_not_exist(tmp_path):
    with pytest.raises(IGDError, match="is neither an object set .* nor an existing folder of URDFs"):
        open_folder(tmp_path / "nowhere")
    (tmp_path / "file.urdf").write_text("x")
    with pytest.raises(IGDError, match="is a file; expected a folder"):
        open_folder(tmp_path / "file.urdf")


@pytest.mark.parametrize("text, message", [
    ("<robot><link name='a'>", "not a readable URDF"),
    (VGN_URDF.format(name="box_a", mass="0"), "positive mass"),
    (VGN_URDF.format(name="box_a", mass="0.1").replace("<mesh filename=\"box_a_visual.obj\"/>",
                                                       "<mesh filename=\"box_a_visual.obj\" scale=\"2 2 2\"/>"),
     "the visual mesh must sit at the link origin at scale 1"),
    (VGN_URDF.format(name="box_a", mass="0.1").replace("<mass", "<origin xyz=\"0 0 0.01\"/><mass"),
     "the centre of mass must be the link origin"),
])
def test_a_broken_urdf_is_named(tmp_path, text, message):
    folder = write_vgn_folder(tmp_path / "f", names=("box_a",))
    (folder / "box_a.urdf").write_text(text)
    with pytest.raises(IGDError, match=message) as e:
        open_folder(folder)
    assert str(e.value).startswith(str(folder / "box_a.urdf")) and "\n" not in str(e.value)


@pytest.mark.parametrize("verb", ["bench", "generate"])
def test_cli_bad_folder_is_one_line_and_a_non_zero_exit(tmp_path, capsys, verb):
    folder = write_vgn_folder(tmp_path / "f", names=("box_a",))
    (folder / "box_a_visual.obj").unlink()
    args = {"bench": ["bench", "--planner", "topdown"], "generate": ["generate", "--scenes", "1"]}[verb]
    code = main([*args, "--objects", str(folder), "--out", str(tmp_path / "o"), "--no-progress"])
    err = capsys.readouterr().err
    assert code != 0 and not (tmp_path / "o").exists()
    assert err.startswith("igd: error:") and len(err.strip().splitlines()) == 1
    assert "box_a.urdf: its visual mesh" in err and "box_a_visual.obj is missing" in err
