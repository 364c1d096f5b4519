"""napari-noise2same: self-supervised denoising of microscopy images with Noise2Same."""

import os

from ._version import __version__

# OpenMP threads that spin while they wait keep the cores busy between torch operations, taking
# them from napari's GUI thread and from other processes (benchmarks/training_throughput.py:
# with another process on 2 cores, 2 spinning threads ran several times slower than 1); passive
# waiting costs nothing measurable on an idle machine.  Takes effect only before torch loads,
# and never overrides a user's own setting.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__all__ = ["__version__"]
