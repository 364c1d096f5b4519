"""napari-noise2same: self-supervised denoising of microscopy images with Noise2Same."""

import os

# OpenMP threads that spin while they wait keep the cores busy between torch operations, taking
# them from napari's GUI thread and from other processes (benchmarks/training_throughput.py:
# with another process on 2 cores, 2 spinning threads ran several times slower than 1); passive
# waiting costs nothing measurable on an idle machine.  Takes effect only before torch loads,
# and never overrides a user's own setting.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

try:
    from importlib.metadata import PackageNotFoundError, version

    __version__ = version("napari-noise2same")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.1.0.dev0"

__all__ = ["__version__"]
