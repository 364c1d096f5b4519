"""How noisy the training images are: the basis of ``lambda_inv="auto"``.

Noise2Same's bound (Xie et al. 2020, Theorem 1) holds with lambda_inv = 2 sigma,
sigma the noise std in the network's (normalised) units; the paper's default of
2 assumes sigma = 1, the most a standardised image can have.  Estimating sigma
gives a tighter bound.  The estimator is Immerkaer's (1996): the mean absolute
response to a Laplacian-difference kernel that cancels smooth structure, over a
few planes of the training data.
"""

from __future__ import annotations

import numpy as np

PLANES = 16  # YX planes read for the estimate


def plane_noise_std(plane: np.ndarray) -> float:
    """Immerkaer's estimate of white-noise std in one 2D plane (at least 3x3)."""
    x = np.asarray(plane, dtype=np.float64)
    r = (x[:-2, :-2] - 2 * x[:-2, 1:-1] + x[:-2, 2:]
         - 2 * x[1:-1, :-2] + 4 * x[1:-1, 1:-1] - 2 * x[1:-1, 2:]
         + x[2:, :-2] - 2 * x[2:, 1:-1] + x[2:, 2:])
    return float(np.sqrt(np.pi / 2) * np.mean(np.abs(r)) / 6)


def noise_std(data, planes: int = PLANES, seed: int = 0) -> float:
    """Noise std of normalised training data (a :class:`~.data.TrainingData`), from random YX planes."""
    rng = np.random.default_rng(seed)
    estimates = []
    for _ in range(planes):
        i, samples, _ = data.train_regions[rng.integers(len(data.train_regions))]
        source = data.sources[i]
        region = (slice(z := int(rng.integers(source.spatial[0])), z + 1),) if data.dims == 3 else ()
        block = source.read(int(rng.integers(samples.start, samples.stop)), region)
        for channel in block.reshape(-1, *block.shape[-2:]):
            estimates.append(plane_noise_std(channel))
    return float(np.mean(estimates))
