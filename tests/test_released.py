"""The released-name table (:mod:`igd.released`): names, planner types, and where weights are found."""

from pathlib import Path

import pytest

from igd import released
from igd.errors import IGDError
from igd.planners.base import registry

ROOT = Path(__file__).resolve().parents[1]


def test_every_released_name_is_a_registered_planner_with_a_description():
    names = set(registry())
    assert {"vgn", "vgn-pile", "vgn-packed", "giga-pile", "giga-packed", "giga-pile-v1", "giga-packed-v1",
            "giga-packed-scratch", "giga-pile-scratch", "giga-packed-mined", "giga-pile-mined",
            "igd-packed-transfer", "igd-pile-transfer",
            "igd-pile", "igd-pile-scratch", "igd-packed", "igd-packed-scratch", "igd-packed-v1", "igd-pile-v1",
            "se3dif-pile", "se3dif-packed",
            "dgrasp-pile", "dgrasp-packed",
            "giga-packed-authors", "giga-pile-authors", "vgn-packed-authors", "vgn-pile-authors",
            "topdown"} == set(released.RELEASED)
    for entry in released.RELEASED.values():
        assert entry.planner in names and entry.description and "\n" not in entry.description
        assert (entry.filename is None) == (not registry()[entry.planner].learned)


def test_vgn_resolves_to_the_checkout_weights():
    if not (ROOT / "weights" / "vgn_conv.pth").exists():
        pytest.skip("weights/vgn_conv.pth is missing")
    kind, path, label = released.resolve("vgn")
    assert (kind, label) == ("vgn", "vgn") and path.resolve() == (ROOT / "weights" / "vgn_conv.pth").resolve()


def test_the_scratch_names_are_the_models_trained_without_authors_weights(monkeypatch, tmp_path):
    """giga-packed and giga-pile are transfers; igd-packed and igd-pile are trained without the authors' weights,
    with their transfers kept as igd-*-transfer: every model has a file of its own, except igd-pile, which is
    igd-packed's file (the packed model plays pile scenes better than the IGD trained on them)."""
    monkeypatch.setenv(released.WEIGHTS_ENV, str(tmp_path))
    (tmp_path / "igd-packed.pt").write_bytes(b"x")
    assert released.resolve("igd-pile") == ("igd", tmp_path / "igd-packed.pt", "igd-pile")
    for planner, scene in (("giga", "packed"), ("giga", "pile"), ("igd", "packed"), ("igd", "pile")):
        transfer = f"{planner}-{scene}-transfer" if planner == "igd" else f"{planner}-{scene}"
        names = {transfer, f"{planner}-{scene}-scratch"}
        if (planner, scene) != ("igd", "pile"):
            names.add(f"{planner}-{scene}")
        for name in names:
            (tmp_path / f"{name}.pt").write_bytes(b"x")
            assert released.resolve(name) == (planner, tmp_path / f"{name}.pt", name)
        assert {released.RELEASED[n].filename for n in names} == {f"{n}.pt" for n in names}
        assert "initialised from GIGA's authors' weights" in released.RELEASED[transfer].description
        assert "from scratch" in released.RELEASED[f"{planner}-{scene}-scratch"].description
    for name in ("igd-packed", "igd-pile", "giga-packed-mined", "giga-pile-mined"):
        assert "without the authors' weights" in released.RELEASED[name].description


def test_weights_env_folder_comes_first(monkeypatch, tmp_path):
    (tmp_path / "giga-pile.pt").write_bytes(b"x")
    monkeypatch.setenv(released.WEIGHTS_ENV, str(tmp_path))
    assert released.weights_dirs()[0] == tmp_path
    assert released.resolve("giga-pile") == ("giga", tmp_path / "giga-pile.pt", "giga-pile")


def test_missing_weights_say_where_they_were_looked_for(monkeypatch, tmp_path):
    monkeypatch.setattr(released, "weights_dirs", lambda: [tmp_path / "a", tmp_path / "b"])
    with pytest.raises(IGDError, match=r"weights/vgn-pile\.pt, which is not in this checkout .*/a, .*/b"):
        released.resolve("vgn-pile")


def test_paths_and_unknown_names(tmp_path):
    ckpt = tmp_path / "last.pt"
    ckpt.write_bytes(b"x")
    assert released.resolve(ckpt) == (None, ckpt, str(ckpt))  # the checkpoint's own tag decides
    raw = tmp_path / "vgn_conv.pth"
    raw.write_bytes(b"x")
    assert released.resolve(str(raw))[0] == "vgn"  # a released file keeps its planner type
    with pytest.raises(IGDError, match="checkpoint not found"):
        released.resolve(tmp_path / "nope.pt")
    with pytest.raises(IGDError, match="unknown planner 'giga'.*released name"):
        released.resolve("giga")  # a planner type is not a released name: it needs weights


def test_table_lists_every_name():
    table = released.format_table()
    assert all(line.split()[0] == name for line, name in zip(table.splitlines(), released.RELEASED))


def test_every_released_file_is_in_the_checkout_with_a_card():
    for entry in released.RELEASED.values():
        if entry.filename is not None:
            path = ROOT / "weights" / entry.filename
            assert path.is_file() and path.stat().st_size > 100_000, path
            card = path.with_suffix(".md")
            assert card.is_file() and entry.filename in card.read_text(), card


def test_planner_and_weights_mean_the_same_everywhere(tmp_path):
    """--planner NAME alone is a release or a path; --planner TYPE --weights W is those weights in that type."""
    choice = released.resolve_planner("giga-pile-authors")
    assert (choice.planner, choice.weights.name, choice.label) == ("giga", "giga-pile-authors.pt", "giga-pile-authors")
    as_weights = released.resolve_planner("giga", "giga-pile-authors")  # a released name as --weights
    assert (as_weights.planner, as_weights.weights, as_weights.label) == ("giga", choice.weights,
                                                                          "giga (giga-pile-authors)")
    assert released.resolve_planner("vgn").weights.name == "vgn_conv.pth"  # a type and a release: the release
    assert released.resolve_planner("topdown") == released.PlannerChoice("topdown", None, "topdown")
    ckpt = tmp_path / "last.pt"
    ckpt.write_bytes(b"x")
    assert released.resolve_planner("igd", ckpt) == released.PlannerChoice("igd", ckpt, f"igd ({ckpt})")
    assert released.resolve_planner(str(ckpt)) == released.PlannerChoice(None, ckpt, str(ckpt))


@pytest.mark.parametrize("planner, weights, message", [
    ("giga", None, r"planner type and needs weights.*giga-packed-authors"),
    ("vgn", "giga-packed-authors", r"is a 'giga' planner's weights, not 'vgn': use --planner giga"),
    ("igd-packed", "weights/igd-packed.pt", r"released name, which brings its own weights"),
    ("gigga", "weights/igd-packed.pt", r"unknown planner type 'gigga'"),
    ("gigga", None, r"unknown planner 'gigga'.*released name.*planner type"),
    ("topdown", "igd-packed", r"is a 'igd' planner's weights, not 'topdown'"),
])
def test_planner_and_weights_that_disagree_are_one_line(planner, weights, message):
    with pytest.raises(IGDError, match=message) as err:
        released.resolve_planner(planner, weights)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("name", ["giga-packed-authors", "giga-pile-authors", "vgn-packed-authors",
                                  "vgn-pile-authors"])
def test_authors_files_are_byte_for_byte_the_released_ones(name):
    import hashlib
    import re

    path = ROOT / "weights" / f"{name}.pt"
    stated = re.search(r"`([0-9a-f]{64})`", path.with_suffix(".md").read_text()).group(1)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == stated
