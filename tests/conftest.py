import numpy as np
import pytest
import torch

from napari_noise2same.examples import synthetic_cells


@pytest.fixture(autouse=True)
def _few_threads():
    torch.set_num_threads(2)


@pytest.fixture(scope="session")
def noisy_pair():
    """(noisy, clean) 2D float32 image with Gaussian noise of sigma 0.15 on a [0, 1] signal."""
    clean = synthetic_cells((128, 128), seed=1)
    noisy = clean + np.random.default_rng(2).normal(0, 0.15, clean.shape).astype(np.float32)
    return noisy.astype(np.float32), clean


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Record each phase's report on the item (napari's make_napari_viewer reads rep_call)."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
