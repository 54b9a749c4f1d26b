"""Fixtures shared by the whole suite."""

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest


@pytest.fixture(scope="module")
def one_thread():
    """Torch on one thread for a module (pytest-xdist runs two workers on the two cores)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _data_builders():
    path = Path(__file__).resolve().parent / "data" / "conftest.py"
    spec = importlib.util.spec_from_file_location("igd_tests_data_builders", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory) -> SimpleNamespace:
    """A tiny processed root for the training tests (the training loop's and the planner contract's), built
    by ``tests/data/conftest.py``'s builders (no simulator): 4 scenes (3 train, 1 val by splits.json);
    read-only: copy to modify."""
    from igd.data.process import ProcessConfig, process_dataset

    builders = _data_builders()
    base = tmp_path_factory.mktemp("train-data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IGD_CACHE", str(base / "cache"))
        raw = builders.build_raw(base / "raw", "relative", mesh_folder=base / "cache", n_scenes=4)
        process_dataset(ProcessConfig(raw=str(raw.root), out=str(base / "processed"), occ_points=500,
                                      occ_files=1, val_fraction=0.25, seed=3), progress=False)
    return SimpleNamespace(root=base / "processed", raw=raw.root)
