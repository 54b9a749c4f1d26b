"""igd.cache.cache_root: the one cache folder (docs/objects.md, "The cache")."""

from __future__ import annotations

from pathlib import Path

import pytest

from igd.cache import cache_root


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A fake home folder, with neither cache variable set."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("IGD_CACHE", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    return tmp_path / "home"


def test_default_is_in_the_home_cache(home):
    assert cache_root() == home / ".cache" / "igd"


def test_igd_cache_wins_over_xdg(home, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "igd"
    monkeypatch.setenv("IGD_CACHE", str(tmp_path / "mine"))
    assert cache_root() == tmp_path / "mine"


@pytest.mark.parametrize("variable, suffix", [("IGD_CACHE", ()), ("XDG_CACHE_HOME", ("igd",))])
def test_tilde_is_expanded(home, monkeypatch, variable, suffix):
    monkeypatch.setenv(variable, "~/somewhere")
    assert cache_root() == home.joinpath("somewhere", *suffix)


def test_empty_variables_count_as_unset(home, monkeypatch):
    monkeypatch.setenv("IGD_CACHE", "")
    monkeypatch.setenv("XDG_CACHE_HOME", "")
    assert cache_root() == home / ".cache" / "igd"


def test_asking_creates_nothing(home):
    assert not cache_root().exists()


def test_every_user_of_the_cache_reads_the_same_folder(home, tmp_path, monkeypatch):
    from igd.sim import folder, objects

    monkeypatch.setenv("IGD_CACHE", "~/c")
    assert objects.catalogue_root() == home / "c" / "objects"
    assert folder.extents_file(tmp_path).parent == home / "c" / "folders"
