"""The tile plan of the predictor: tile shapes, overlaps, starts and blending weights.

Tiles start on multiples of the network's size multiple (so every tile sees the
same downsampling grid as the whole image) and overlap by at least twice the
receptive radius; within each overlap two tiles are cross-faded linearly over
the middle half, so every output pixel comes from a tile that saw enough context.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ImageError
from .unet import SIZE_MULTIPLE

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
        tile_size = (32, 256, 256) if dims == 3 else (512, 512)
    if isinstance(tile_size, int):
        tile_size = (tile_size,) * dims
    if len(tile_size) != dims:
        raise ImageError(f"tile size {tile_size} does not fit a {dims}D model")
    tiles = []
    for t, p in zip(tile_size, padded):
        t = max(SIZE_MULTIPLE * 4, int(t) // SIZE_MULTIPLE * SIZE_MULTIPLE)
        tiles.append(min(t, p))
    return tuple(tiles)


def tile_overlap(overlap, tiles) -> tuple[int, ...]:
    """Per-axis overlap: 96 px by default (2 x the receptive radius of ~24 on either side
    of the cross-fade), never more than half a tile."""
    if overlap is None:
        overlap = 96
    if isinstance(overlap, int):
        overlap = (overlap,) * len(tiles)
    return tuple(min(int(o), t // 2) // SIZE_MULTIPLE * SIZE_MULTIPLE for o, t in zip(overlap, tiles))


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Evenly spread tile starts, on multiples of SIZE_MULTIPLE, overlapping by about ``overlap``."""
    length = max(MIN_INPUT, length)
    if tile >= length:
        return [0]
    n = math.ceil((length - tile) / max(SIZE_MULTIPLE, tile - overlap)) + 1
    span = length - tile  # a multiple of SIZE_MULTIPLE, as both are
    return sorted({int(i * span / (n - 1)) // SIZE_MULTIPLE * SIZE_MULTIPLE for i in range(n)} | {span})


def blend_window(starts, tiles, plan, shape) -> np.ndarray:
    """Separable weights: 1 inside, linear cross-fade over the middle half of each overlap."""
    w = np.ones((), dtype=np.float32)
    for axis, (a, t) in enumerate(zip(starts, tiles)):
        b = a + t
        ramp = np.ones(t, dtype=np.float32)
        i = plan[axis].index(a)
        coords = np.arange(a, b, dtype=np.float32) + 0.5
        if i > 0:  # overlap with the previous tile: [a, prev_end)
            prev_end = plan[axis][i - 1] + t
            lo, hi = a + (prev_end - a) / 4, a + 3 * (prev_end - a) / 4
            ramp = np.minimum(ramp, np.clip((coords - lo) / max(hi - lo, 1e-6), 0, 1))
        if i < len(plan[axis]) - 1:  # overlap with the next tile: [next_start, b)
            nxt = plan[axis][i + 1]
            lo, hi = nxt + (b - nxt) / 4, nxt + 3 * (b - nxt) / 4
            ramp = np.minimum(ramp, np.clip((hi - coords) / max(hi - lo, 1e-6), 0, 1))
        w = np.multiply.outer(w, ramp) if w.ndim else ramp
    return w.astype(np.float32)
