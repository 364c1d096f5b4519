"""The tile plan of the predictor: tile shapes, overlaps, starts and blending weights.

Tiles start on multiples of the network's size multiple (so every tile sees the
same downsampling grid as the whole image) and overlap by twice the halo
(``unet.HALO``: the receptive radius of 22 px rounded up to 24); each output pixel is taken
from the tile whose centre is nearest, the switch falling in the middle of the overlap, so
every output pixel comes from a tile that saw at least half the overlap of context on every
side.  With that much context two tiles compute the same value, so the result equals the
whole-image prediction and there is nothing to cross-fade (no blending weights but 0 and 1).
Default tiles: 512 x 512 in 2D, 64 x 256 x 256 in 3D (``DEFAULT_TILE``).
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ImageError
from .geometry import SIZE_MULTIPLE
from .predict_options import DEFAULT_TILE, OVERLAP

#: activations budget (bytes) above which an image is predicted in tiles
WHOLE_IMAGE_BYTES = 1.5 * 2**30
#: smallest spatial size fed to the network
MIN_INPUT = 8


def padded_shape(spatial) -> tuple[int, ...]:
    return tuple(-(-s // SIZE_MULTIPLE) * SIZE_MULTIPLE for s in spatial)


def tile_shape(tile_size, spatial, base_width, dims) -> tuple[int, ...]:
    padded = [max(MIN_INPUT, p) for p in padded_shape(spatial)]
    if tile_size is None:
        # activations of the first level dominate: ~8 tensors of base_width channels
        if np.prod(padded) * base_width * 8 * 4 <= WHOLE_IMAGE_BYTES:
            return tuple(padded)
        tile_size = DEFAULT_TILE[dims]
    if isinstance(tile_size, int):
        tile_size = (tile_size,) * dims
    if len(tile_size) != dims:
        raise ImageError(f"tile size {tile_size} does not fit a {dims}D model")
    tiles = []
    for t, p in zip(tile_size, padded, strict=False):
        t = max(SIZE_MULTIPLE * 4, int(t) // SIZE_MULTIPLE * SIZE_MULTIPLE)
        tiles.append(min(t, p))
    return tuple(tiles)


def tile_overlap(overlap, tiles) -> tuple[int, ...]:
    """Per-axis overlap (default ``OVERLAP``), leaving tiles at least 4 x SIZE_MULTIPLE apart."""
    if overlap is None:
        overlap = OVERLAP
    if isinstance(overlap, int):
        overlap = (overlap,) * len(tiles)
    return tuple(
        max(0, min(int(o), t - 4 * SIZE_MULTIPLE)) // SIZE_MULTIPLE * SIZE_MULTIPLE
        for o, t in zip(overlap, tiles, strict=True)
    )


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Evenly spread tile starts, on multiples of SIZE_MULTIPLE, overlapping by about ``overlap``."""
    length = max(MIN_INPUT, length)
    if tile >= length:
        return [0]
    n = math.ceil((length - tile) / max(SIZE_MULTIPLE, tile - overlap)) + 1
    span = length - tile  # a multiple of SIZE_MULTIPLE, as both are
    return sorted({int(i * span / (n - 1)) // SIZE_MULTIPLE * SIZE_MULTIPLE for i in range(n)} | {span})


def blend_window(starts, tiles, plan, shape) -> np.ndarray:
    """Separable 0/1 weights: this tile's share of the output, up to the middle of each overlap."""
    w = np.ones((), dtype=np.float32)
    for axis, (a, t) in enumerate(zip(starts, tiles, strict=False)):
        b = a + t
        coords = np.arange(a, b, dtype=np.float32) + 0.5
        keep = np.ones(t, dtype=bool)
        i = plan[axis].index(a)
        if i > 0:  # overlap with the previous tile: [a, prev_end)
            keep &= coords >= (a + plan[axis][i - 1] + t) / 2
        if i < len(plan[axis]) - 1:  # overlap with the next tile: [next_start, b)
            keep &= coords < (plan[axis][i + 1] + b) / 2
        ramp = keep.astype(np.float32)
        w = np.multiply.outer(w, ramp) if w.ndim else ramp
    return w
