"""Example images with known noise, made offline: for the demo, the tests and napari's samples."""

from __future__ import annotations

import numpy as np


def poisson_gaussian(clean: np.ndarray, photons: float = 20.0, read_sigma: float = 0.05, seed: int = 0) -> np.ndarray:
    """Noisy copy of ``clean`` (values in [0, 1]): Poisson shot noise at ``photons`` for 1.0,
    plus Gaussian read noise of ``read_sigma``, in the same [0, 1] units, as float32."""
    rng = np.random.default_rng(seed)
    shot = rng.poisson(np.clip(clean, 0, None) * photons) / photons
    return (shot + rng.normal(0, read_sigma, clean.shape)).astype(np.float32)


def synthetic_cells(shape: tuple[int, ...] = (128, 128), n_blobs: int | None = None, seed: int = 0) -> np.ndarray:
    """A clean fluorescence-like image in [0, 1]: smooth blobs and thin filaments, 2D or 3D."""
    rng = np.random.default_rng(seed)
    grids = np.meshgrid(*[np.arange(s, dtype=np.float32) for s in shape], indexing="ij")
    image = np.zeros(shape, np.float32)
    n_blobs = n_blobs or max(4, int(np.prod(shape) / 600 ** (len(shape) / 2)))
    for _ in range(n_blobs):
        centre = [rng.uniform(0, s) for s in shape]
        radius = rng.uniform(2.5, 7.0)
        d2 = sum((g - c) ** 2 for g, c in zip(grids, centre, strict=False))
        image += rng.uniform(0.3, 1.0) * np.exp(-d2 / (2 * radius**2))
    y, x = grids[-2], grids[-1]
    for _ in range(max(2, n_blobs // 8)):  # filaments: thin sinusoidal ridges in YX
        phase, freq, y0 = rng.uniform(0, 6.3), rng.uniform(0.01, 0.04), rng.uniform(0, shape[-2])
        path = y0 + 0.15 * shape[-2] * np.sin(freq * x + phase)
        image += 0.5 * np.exp(-((y - path) ** 2) / 2.0)
    return (image / image.max()).astype(np.float32)


def noisy_cell(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(noisy, clean): scikit-image's bundled ``cell.png`` with Poisson-Gaussian noise.

    Falls back to a synthetic image when scikit-image is not installed.
    """
    try:
        from skimage.data import cell

        clean = cell().astype(np.float32)
        clean = (clean - clean.min()) / (clean.max() - clean.min())
    except ImportError:
        clean = synthetic_cells((512, 512), seed=seed)
    return poisson_gaussian(clean, photons=10.0, read_sigma=0.05, seed=seed), clean


def psnr(reference: np.ndarray, image: np.ndarray, data_range: float | None = None) -> float:
    """Peak signal-to-noise ratio in dB; ``data_range`` defaults to the reference's max - min."""
    reference = np.asarray(reference, np.float64)
    if data_range is None:
        data_range = float(reference.max() - reference.min())
    mse = float(np.mean((reference - np.asarray(image, np.float64)) ** 2))
    return float(20 * np.log10(data_range) - 10 * np.log10(mse)) if mse > 0 else float("inf")
