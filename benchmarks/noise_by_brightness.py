"""The noise level of the brightest blocks against all blocks, per benchmark dataset.

For each training image of ``shared_data.DATASETS`` (every 8th plane of the volume),
standardised by its own mean and std as training does, the estimator of ``engine/noise.py``
(Immerkaer's residual in 16 x 16 blocks) is read block by block, and two combinations are
printed: the RMS over all blocks (what ``--lambda-inv auto`` uses: lambda_inv = 2 sigma, at most
2) and the RMS over the blocks in the brightest tenth by mean (a signal-dependent sigma, which
docs/training.md, "Very noisy inputs", considered and did not adopt).

    python benchmarks/noise_by_brightness.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from shared_data import DATASETS, dataset

from napari_noise2same.engine.noise import BLOCK, block_noise_std


def block_sigma_and_mean(plane: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each block's noise std (the estimator's own blocks) and mean, flattened alike."""
    sigma = block_noise_std(plane, BLOCK)
    h, w = sigma.shape[0] * BLOCK, sigma.shape[1] * BLOCK
    inner = np.asarray(plane, dtype=np.float64)[1 : 1 + h, 1 : 1 + w]
    return sigma.ravel(), inner.reshape(sigma.shape[0], BLOCK, sigma.shape[1], BLOCK).mean(axis=(1, 3)).ravel()


def main() -> int:
    for key in DATASETS:
        data = dataset(key)
        if data is None:
            continue
        sigmas, means = [], []
        for image in data.train:
            planes = [image] if image.ndim == 2 else list(image[::8])
            for plane in planes:
                s, m = block_sigma_and_mean((plane - plane.mean()) / plane.std())
                sigmas.append(s)
                means.append(m)
        s, m = np.concatenate(sigmas), np.concatenate(means)
        rms = float(np.sqrt(np.mean(s**2)))
        bright = float(np.sqrt(np.mean(s[m >= np.percentile(m, 90)] ** 2)))
        print(f"{key:15s} sigma, all blocks {rms:.3f} (2 sigma {2 * rms:.2f}); brightest tenth {bright:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
