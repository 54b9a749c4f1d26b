"""BenchConfig validation, the object-set name and what a resume compares (no simulator needed)."""

import json

import pytest

from igd.bench import runner
from igd.bench.config import RESULT_FIELDS, BenchConfig
from igd.errors import IGDError


@pytest.mark.parametrize("kwargs, message", [
    (dict(scene="shelf"), r"scene: unknown value 'shelf'; expected one of \['pile', 'packed'\]"),
    (dict(views="top"), "views: unknown value 'top'"),
    (dict(noise="pink"), "noise: unknown value 'pink'; expected one of .*'dex'"),
    (dict(objects="pots"), "objects: unknown object set 'packed/pots'"),
    (dict(objects="no/such/folder"), "objects: '.*no/such/folder' is neither an object set .* nor an existing folder"),
    (dict(rounds=0), "rounds: expected an integer >= 1"),
    (dict(rounds=1.5), "rounds: expected an integer"),
    (dict(seeds=[]), "seeds: expected at least one seed"),
    (dict(seeds=[1, 1]), "seeds: each seed may appear once"),
    (dict(seeds=[-1]), "seeds: expected an integer >= 0"),
    (dict(workers=0), "workers"),
    (dict(max_consecutive_failures=1), "max_consecutive_failures: expected an integer >= 2"),
    (dict(overrides={"threshold": object()}), "overrides"),
])
def test_bad_values_name_the_field(kwargs, message):
    with pytest.raises(IGDError, match=message):
        BenchConfig("vgn", **kwargs)


@pytest.mark.parametrize("scene, objects, expected", [
    ("packed", "test", "packed/test"), ("pile", "train", "pile/train"), ("pile", "blocks", "blocks"),
    ("packed", "pile/test", "pile/test"),
])
def test_object_set(scene, objects, expected):
    assert BenchConfig("vgn", scene=scene, objects=objects).object_set == expected


TETRAHEDRON = "v 0 0 0\nv 0.04 0 0\nv 0 0.04 0\nv 0 0 0.04\nf 1 3 2\nf 1 2 4\nf 1 4 3\nf 2 3 4\n"
ONE_LINK_URDF = """<robot name="tet"><link name="base_link"><inertial><mass value="0.05"/></inertial>
<visual><geometry><mesh filename="tet_visual.obj"/></geometry></visual>
<collision><geometry><mesh filename="tet_collision.obj"/></geometry></collision></link></robot>"""


def test_a_folder_is_stored_as_its_absolute_path_with_its_digest(tmp_path, monkeypatch):
    from igd.sim.folder import folder_digest

    folder = tmp_path / "urdfs" / "packed" / "test"
    folder.mkdir(parents=True)
    for name in ("tet_visual.obj", "tet_collision.obj"):
        (folder / name).write_text(TETRAHEDRON)
    (folder / "tet.urdf").write_text(ONE_LINK_URDF)
    monkeypatch.chdir(tmp_path)
    cfg = BenchConfig("vgn", objects="urdfs/packed/test", out=str(tmp_path / "run"))
    assert cfg.objects == cfg.object_set == str(folder)
    assert cfg.identity()["objects_sha256"] == folder_digest(folder)
    assert BenchConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    blocks = BenchConfig("vgn", objects="blocks").identity()["objects_sha256"]
    assert blocks is not None and blocks != BenchConfig("vgn", scene="pile").identity()["objects_sha256"]


def test_a_set_whose_membership_changes_does_not_resume(tmp_path, monkeypatch):
    """Our sets are named, and a name may be given another membership (pile/test was): the digest of the
    member names is part of a run's identity, so old results never resume as the new set's."""
    from igd.bench import runner
    from igd.sim import objects

    cfg = BenchConfig("topdown", objects="blocks", rounds=1, seeds=[0], out=str(tmp_path / "run"))
    runner.prepare_out(cfg, resume=False)
    monkeypatch.setattr(objects, "object_set_members", lambda name: ["gen/block_000"])
    with pytest.raises(IGDError, match="objects_sha256"):
        runner.prepare_out(BenchConfig("topdown", objects="blocks", rounds=1, seeds=[0], out=str(tmp_path / "run")),
                           resume=True)


def test_dict_round_trip(tmp_path):
    cfg = BenchConfig("vgn", objects="blocks", seeds=[3, 1], overrides={"protocol": "vgn"}, out=str(tmp_path))
    again = BenchConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg and again.identity() == cfg.identity()
    assert list(cfg.identity()) == list(RESULT_FIELDS)
    assert cfg.round_keys()[:2] == [(3, 0), (3, 1)]


def test_resume_compares_only_what_decides_the_numbers(tmp_path):
    a = BenchConfig("vgn", objects="blocks", out=str(tmp_path / "a"))
    b = BenchConfig("vgn", objects="blocks", rounds=7, seeds=[9], workers=3, out=str(tmp_path / "b"))
    stored = {**a.to_dict(), **a.identity()}
    assert runner.config_differences(stored, {**b.to_dict(), **b.identity()}) == []
    c = BenchConfig("vgn", objects="blocks", scene="pile", object_count=4, out=str(tmp_path / "c"))
    diffs = runner.config_differences(stored, {**c.to_dict(), **c.identity()})
    assert [d.split(":")[0] for d in diffs] == ["scene", "object_count"]


def test_prepare_out(tmp_path):
    cfg = BenchConfig("vgn", objects="blocks", out=str(tmp_path / "run"))
    runner.prepare_out(cfg, resume=True)  # a fresh folder with --resume just starts
    assert json.loads((tmp_path / "run" / runner.CONFIG_FILE).read_text())["object_set"] == "blocks"
    with pytest.raises(IGDError, match="has results; pass --resume to continue or choose another --out"):
        runner.prepare_out(cfg, resume=False)
    (tmp_path / "file").write_text("x")
    with pytest.raises(IGDError, match="is a file"):
        runner.prepare_out(BenchConfig("vgn", objects="blocks", out=str(tmp_path / "file")), resume=False)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / runner.CONFIG_FILE).write_text("{not json")
    with pytest.raises(IGDError, match="cannot read the stored configuration"):
        runner.prepare_out(BenchConfig("vgn", objects="blocks", out=str(tmp_path / "bad")), resume=True)
