"""An uncertainty map: per pixel, how wrong the denoised value may be, in the image's units.

Two spreads, combined as sqrt(tta^2 + renoise^2):

* ``tta``: the standard deviation of the network's outputs over the 8 rotations and flips of
  the YX plane (test-time augmentation): where the network is unsure, the transformed inputs
  disagree.  Alone it ranks the error well but is 4-5x too small (docs/quality.md).
* ``renoise``: fresh noise, drawn from the input's own noise model (its level as a function
  of intensity, noise_model.py, fitted per YX plane), is added to the denoised image, which is
  denoised again; the RMS change over ``draws`` draws is how far the denoiser moves a
  plausible clean image under this noise, its own error where the truth is near the denoised
  image.  This is what makes the map calibrated.

Measured on FMD, FMD with 4 photons per pixel and Set12 at sigma 25 and 50 (8x8 windows,
benchmarks/uncertainty_maps.py): mean map / mean |error| 0.89-1.03; Spearman correlation with
|error| 0.59-0.95.  Costs 1 + 8 + ``draws`` predictions.  Numpy only; the network runs
through the model's runner.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .noise_model import analyse_plane, sigma_at
from .predict_options import PredictOptions

DRAWS = 8


def transforms(square: bool):
    """(k, flip) of the rotations by k x 90 degrees and flips used (4 where Y and X differ)."""
    return [(k, f) for k in (range(4) if square else (0, 2)) for f in (False, True)]


def _plain(options: PredictOptions | None) -> PredictOptions:
    return replace(options or PredictOptions(), tta=False, estimate="n2s")


def tta_spread(model, image, axes: str, options: PredictOptions | None = None) -> np.ndarray:
    """Standard deviation over the transformed predictions, float32 with ``image``'s shape."""
    plain = _plain(options)
    image = np.asarray(image, np.float32)
    iy, ix = axes.index("Y"), axes.index("X")
    square = image.shape[iy] == image.shape[ix]
    total = np.zeros(image.shape, np.float64)
    squares = np.zeros(image.shape, np.float64)
    count = 0
    for k, flip in transforms(square):
        t = np.rot90(image, k, axes=(iy, ix))
        t = np.flip(t, axis=ix) if flip else t
        out = model.predict(np.ascontiguousarray(t), axes, plain)
        out = np.flip(out, axis=ix) if flip else out
        out = np.rot90(out, -k, axes=(iy, ix)).astype(np.float64)
        total += out
        squares += out * out
        count += 1
    mean = total / count
    return np.sqrt(np.maximum(squares / count - mean * mean, 0.0)).astype(np.float32)


def noise_std_map(noisy: np.ndarray, denoised: np.ndarray, axes: str) -> np.ndarray:
    """The noise std expected at each denoised pixel, from each YX plane's own noise model."""
    yx = (axes.index("Y"), axes.index("X"))
    noisy = np.moveaxis(np.asarray(noisy, np.float64), yx, (-2, -1))
    denoised = np.moveaxis(np.asarray(denoised, np.float64), yx, (-2, -1))
    planes = [
        sigma_at(analyse_plane(n, d), np.clip(d, 0, None))
        for n, d in zip(noisy.reshape(-1, *noisy.shape[-2:]), denoised.reshape(-1, *noisy.shape[-2:]), strict=True)
    ]
    return np.moveaxis(np.stack(planes).reshape(noisy.shape), (-2, -1), yx)


def renoise_spread(
    model,
    image,
    axes: str,
    denoised: np.ndarray,
    options: PredictOptions | None = None,
    draws: int = DRAWS,
    seed: int = 0,
) -> np.ndarray:
    """RMS change of the denoised image denoised again after fresh noise of the input's model."""
    plain = _plain(options)
    denoised = np.asarray(denoised, np.float64)
    sd = noise_std_map(image, denoised, axes)
    rng = np.random.default_rng(seed)
    changes = np.zeros(denoised.shape, np.float64)
    for _ in range(draws):
        again = model.predict((denoised + rng.standard_normal(denoised.shape) * sd).astype(np.float32), axes, plain)
        changes += (np.asarray(again, np.float64) - denoised) ** 2
    return np.sqrt(changes / max(draws, 1)).astype(np.float32)


def uncertainty(
    model,
    image,
    axes: str,
    options: PredictOptions | None = None,
    denoised: np.ndarray | None = None,
    draws: int = DRAWS,
    seed: int = 0,
) -> np.ndarray:
    """The uncertainty map (see the module's docstring), float32 with ``image``'s shape.

    ``denoised`` is the plain prediction (no test-time augmentation) where the caller has it.
    """
    image = np.asarray(image, np.float32)
    if denoised is None:
        denoised = model.predict(image, axes, _plain(options))
    tta = tta_spread(model, image, axes, options).astype(np.float64)
    again = renoise_spread(model, image, axes, denoised, options, draws, seed).astype(np.float64)
    return np.hypot(tta, again).astype(np.float32)
