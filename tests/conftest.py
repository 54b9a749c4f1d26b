"""Fixtures shared by the whole suite."""

import pytest


@pytest.fixture(scope="module")
def one_thread():
    """Torch on one thread for a module (pytest-xdist runs two workers on the two cores)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
