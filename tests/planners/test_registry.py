"""The registry finds planners by itself: a new folder under igd/planners/, or an ``igd.planners`` entry
point of another package (docs/planners.md, "Adding a planner"); a planner that breaks the contract
is an error, never a silent absence."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import igd.planners
from igd.errors import IGDError
from igd.planners import base
from igd.planners.base import Observation, Planner, get_planner_class, load_planner, register_planner, registry
from igd.planners.discovery import ENTRY_POINT_GROUP, planner_folders

TOY = '''
from dataclasses import dataclass

from igd.planners.base import Grasps, Planner


@dataclass
class ToyConfig:
    width: float = 0.05


class ToyPlanner(Planner):
    name = "{name}"
    config_class = ToyConfig

    def plan(self, observation):
        return Grasps([[[1, 0, 0, 0.1], [0, 1, 0, 0.1], [0, 0, 1, 0.1], [0, 0, 0, 1]]], [self.config.width], [0.5])

    def reseed(self, seed):
        """Nothing to draw."""
'''
NO_PLAN = '''
from dataclasses import dataclass

from igd.planners.base import Planner


@dataclass
class ToyConfig:
    pass


class ToyPlanner(Planner):
    name = "{name}"
    config_class = ToyConfig

    def reseed(self, seed):
        pass
'''
PREFIXES = ("igd.planners.toy", "toy_plugin", "toy_ep_")


@pytest.fixture
def isolated(monkeypatch):
    """The registry and the discovery state as they are now, restored afterwards, with the toy modules forgotten."""
    registry()  # the built-ins, discovered once
    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))
    monkeypatch.setattr(base, "_DISCOVERY", {})
    yield
    for name in [m for m in sys.modules if m.startswith(PREFIXES)]:
        del sys.modules[name]


def make_grid() -> np.ndarray:
    return np.zeros((1, 40, 40, 40), np.float32)


def write(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def add_folder(tmp_path: Path, monkeypatch, folder: str, text: str) -> None:
    """``igd/planners/<folder>/planner.py`` holding ``text``, without touching the source tree: the folder
    lives in ``tmp_path`` and ``igd.planners`` searches there too."""
    write(tmp_path / folder / "__init__.py")
    write(tmp_path / folder / "planner.py", text)
    monkeypatch.setattr(igd.planners, "__path__", [*igd.planners.__path__, str(tmp_path)])


def fake_entry_points(monkeypatch, *points: tuple) -> None:
    """``importlib.metadata.entry_points(group=...)`` answers ``points`` ((name, value), ...) for our group."""
    real = importlib.metadata.entry_points

    def entry_points(**kwargs):
        if kwargs.get("group") == ENTRY_POINT_GROUP:
            return [importlib.metadata.EntryPoint(n, v, ENTRY_POINT_GROUP) for n, v in points]
        return real(**kwargs)

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)


# --------------------------------------------------------------------------------------------------
# the folders
# --------------------------------------------------------------------------------------------------
def test_the_builtin_folders_are_found_and_common_is_none():
    assert planner_folders() == ["dgrasp", "giga", "igd", "se3dif", "vgn"]
    assert {"giga", "igd", "vgn", "topdown"} <= set(registry())


def test_discovery_imports_neither_torch_nor_pybullet():
    code = ("import sys; from igd.planners.base import registry; names = sorted(registry()); "
            "print(names, sorted({'torch', 'pybullet'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['dgrasp', 'giga', 'igd', 'se3dif', 'topdown', 'vgn'] []"


def test_a_new_folder_is_a_new_planner(isolated, tmp_path, monkeypatch):
    add_folder(tmp_path, monkeypatch, "toyfolder", TOY.format(name="toy-folder"))
    assert "toyfolder" in planner_folders()
    cls = get_planner_class("toy-folder")
    assert cls.__module__ == "igd.planners.toyfolder.planner"
    grasps = load_planner("toy-folder", width=0.03).plan(Observation(make_grid()))
    assert len(grasps) == 1 and grasps.widths[0] == 0.03


def test_a_folder_without_a_planner_is_an_error(isolated, tmp_path, monkeypatch):
    add_folder(tmp_path, monkeypatch, "toyempty", "X = 1\n")
    with pytest.raises(TypeError, match="toyempty.planner defines no planner"):
        registry()


def test_a_folder_planner_that_forgets_plan_is_an_error(isolated, tmp_path, monkeypatch):
    add_folder(tmp_path, monkeypatch, "toynoplan", NO_PLAN.format(name="toy-noplan"))
    with pytest.raises(TypeError, match="plan"):
        registry()


# --------------------------------------------------------------------------------------------------
# entry points
# --------------------------------------------------------------------------------------------------
def test_an_installed_package_registers_through_its_entry_point(isolated, tmp_path, monkeypatch):
    """A real distribution on sys.path (a ``.dist-info`` with ``entry_points.txt``), as pip installs one."""
    write(tmp_path / "toy_plugin" / "__init__.py", TOY.format(name="toy-ep"))
    write(tmp_path / "toy_plugin-0.1.dist-info" / "METADATA", "Metadata-Version: 2.1\nName: toy-plugin\nVersion: 0.1\n")
    write(tmp_path / "toy_plugin-0.1.dist-info" / "entry_points.txt",
          f"[{ENTRY_POINT_GROUP}]\ntoy-ep = toy_plugin:ToyPlanner\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "toy_plugin" not in sys.modules
    cls = get_planner_class("toy-ep")
    assert cls.__module__ == "toy_plugin" and cls.name == "toy-ep"
    assert len(load_planner("toy-ep").plan(Observation(make_grid()))) == 1


def test_an_entry_point_may_name_a_module(isolated, tmp_path, monkeypatch):
    write(tmp_path / "toy_ep_module.py", TOY.format(name="toy-module"))
    monkeypatch.syspath_prepend(str(tmp_path))
    fake_entry_points(monkeypatch, ("toy-module", "toy_ep_module"))
    assert get_planner_class("toy-module").__module__ == "toy_ep_module"


@pytest.mark.parametrize("name, value, text, reason", [
    ("toy-missing", "toy_ep_missing:ToyPlanner", None, "ModuleNotFoundError"),
    ("toy-other", "toy_ep_other:ToyPlanner", TOY.format(name="toy-renamed"), "name must be the planner's"),
    ("toy-noplan", "toy_ep_noplan:ToyPlanner", NO_PLAN.format(name="toy-noplan"), "plan"),
    ("toy-none", "toy_ep_none", "X = 1\n", "defines no planner named 'toy-none'"),
])
def test_a_broken_entry_point_warns_and_says_why_when_asked_for(isolated, tmp_path, monkeypatch, name, value, text,
                                                                reason):
    if text is not None:
        write(tmp_path / (value.split(":")[0] + ".py"), text)
    monkeypatch.syspath_prepend(str(tmp_path))
    fake_entry_points(monkeypatch, (name, value))
    with pytest.warns(RuntimeWarning, match=f"entry point '{name} = {value}'"):
        names = registry()
    assert name not in names and {"vgn", "giga", "igd", "topdown"} <= set(names)  # the others still work
    with pytest.raises(IGDError, match=f"planner '{name}' is not available: .*{reason}"):
        get_planner_class(name)


# --------------------------------------------------------------------------------------------------
# register_planner
# --------------------------------------------------------------------------------------------------
def test_register_planner_refuses_what_breaks_the_contract(isolated):
    vgn = registry()["vgn"]
    assert register_planner(vgn) is vgn  # again: no change
    with pytest.raises(TypeError, match="not a Planner subclass"):
        register_planner(dict)
    with pytest.raises(TypeError, match="does not implement plan"):
        register_planner(Planner)
    namespace: dict = {}
    exec(TOY.format(name="toy-impostor"), namespace)
    impostor = namespace["ToyPlanner"]
    impostor.name = "vgn"
    with pytest.raises(TypeError, match="'vgn' is registered twice: igd.planners.vgn.planner.VGNPlanner and"):
        register_planner(impostor)
    assert registry()["vgn"] is vgn
