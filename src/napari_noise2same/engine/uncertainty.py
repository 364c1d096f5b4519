"""An uncertainty map: per pixel, how wrong the denoised value may be, in the image's units.

The spread (standard deviation) of the network's outputs over the 8 rotations and flips of
the YX plane (test-time augmentation): where the network is unsure, the transformed inputs
disagree.  Numpy only; the network runs through the model's runner.
"""

from __future__ import annotations

import numpy as np

from .predict_options import PredictOptions


def transforms(square: bool):
    """(k, flip) of the rotations by k x 90 degrees and flips used (4 where Y and X differ)."""
    return [(k, f) for k in (range(4) if square else (0, 2)) for f in (False, True)]


def tta_spread(model, image, axes: str, options: PredictOptions | None = None) -> np.ndarray:
    """Standard deviation over the transformed predictions, float32 with ``image``'s shape."""
    options = options or PredictOptions()
    plain = PredictOptions(options.tile_size, options.overlap, False, options.device, options.engine)
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


def uncertainty(
    model, image, axes: str, options: PredictOptions | None = None, denoised: np.ndarray | None = None
) -> np.ndarray:
    """The uncertainty map (see the module's docstring), float32 with ``image``'s shape."""
    return tta_spread(model, image, axes, options)
