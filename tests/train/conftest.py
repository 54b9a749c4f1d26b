"""A tiny processed root for the training tests, built by ``tests/data/conftest.py``'s builders (no simulator)."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

#: Small networks: a GIGA step takes ~0.1 s on the CPU.
TINY_GIGA = ["--set", "features=4", "--set", "unet_filters=4", "--set", "hidden=8", "--set", "blocks=1",
             "--set", "unet_depth=2"]


def _data_builders():
    path = Path(__file__).resolve().parents[1] / "data" / "conftest.py"
    spec = importlib.util.spec_from_file_location("igd_tests_data_builders", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory) -> SimpleNamespace:
    """4 scenes (3 train, 1 val by splits.json) processed by ``igd process``; read-only: copy to modify."""
    from igd.data.process import ProcessConfig, process_dataset

    builders = _data_builders()
    base = tmp_path_factory.mktemp("train-data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IGD_CACHE", str(base / "cache"))
        raw = builders.build_raw(base / "raw", "relative", mesh_folder=base / "cache", n_scenes=4)
        process_dataset(ProcessConfig(raw=str(raw.root), out=str(base / "processed"), occ_points=500,
                                      occ_files=1, val_fraction=0.25, seed=3), progress=False)
    return SimpleNamespace(root=base / "processed", raw=raw.root)


@pytest.fixture
def root_copy(tiny_root, tmp_path) -> Path:
    """A copy of the tiny processed root that a test may break."""
    return Path(shutil.copytree(tiny_root.root, tmp_path / "processed"))


@pytest.fixture(scope="session")
def tiny_giga():
    return list(TINY_GIGA)
