"""Reading (channels, *spatial) blocks of one sample from an array of any axes order.

The array may be a numpy array or a lazy one (dask, zarr, memory map): only the
requested block is read, so training and prediction never need the whole image
in memory.  Samples are numbered in C order over the layout's sample axes.
"""

from __future__ import annotations

import numpy as np

from ..errors import ImageError
from .axes import Layout

#: elements per read when computing an image's statistics
STATS_ELEMENTS = 2**24


def sample_shape(layout: Layout) -> tuple[int, ...]:
    return tuple(layout.shape[layout.axes.index(a)] for a in layout.sample_axes)


def spatial_shape(layout: Layout) -> tuple[int, ...]:
    return tuple(layout.shape[layout.axes.index(a)] for a in layout.spatial_axes)


def block_index(layout: Layout, sample: tuple | int, region: tuple[slice, ...] = ()) -> tuple:
    """Index into the array of one sample (a flat number or a tuple over the sample axes),
    restricted to ``region`` (slices over the spatial axes, missing ones whole)."""
    if isinstance(sample, (int, np.integer)):
        sample = np.unravel_index(int(sample), sample_shape(layout)) if layout.sample_axes else ()
    positions = dict(zip(layout.sample_axes, (int(s) for s in sample), strict=False))
    spans = dict(zip(layout.spatial_axes, region, strict=False))
    return tuple(positions.get(a, spans.get(a, slice(None))) for a in layout.axes)


def read_block(array, layout: Layout, sample: tuple | int, region: tuple[slice, ...] = ()) -> np.ndarray:
    """One sample's ``region`` as float32 (C, *spatial), C = 1 where the array has none."""
    block = np.asarray(array[block_index(layout, sample, region)], dtype=np.float32)
    kept = [a for a in layout.axes if a not in layout.sample_axes]
    order = ([kept.index("C")] if "C" in kept else []) + [kept.index(a) for a in layout.spatial_axes]
    block = np.transpose(block, order)
    return block if "C" in kept else block[None]


def read_normalised(array, layout: Layout, sample, region: tuple[slice, ...], mean, std) -> np.ndarray:
    """:func:`read_block` standardised by per-channel ``mean`` and ``std`` (each of C values)."""
    shape = (-1,) + (1,) * len(layout.spatial_axes)
    return (read_block(array, layout, sample, region) - np.reshape(mean, shape)) / np.reshape(std, shape)


def to_input_order(block: np.ndarray, layout: Layout) -> np.ndarray:
    """Inverse of :func:`read_block`'s reordering: (C, *spatial) to the array's own order."""
    kept = [a for a in layout.axes if a not in layout.sample_axes]
    ours = (["C"] if "C" in kept else []) + list(layout.spatial_axes)
    if "C" not in kept:
        block = block[0]
    return np.transpose(block, [ours.index(a) for a in kept])


def channel_stats(array, layout: Layout, name: str = "the image") -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std over all samples and pixels, as float32 of shape (C,)."""
    return frame_stats(array, layout, name)[2]


def frame_stats(array, layout: Layout, name: str = "the image"):
    """``(mean, std, (image_mean, image_std))``: the mean and std of every frame (sample) and
    channel, shape (S, C), and of the whole image per channel, shape (C,), in one pass.

    Read slab by slab (a lazy image is never loaded whole, a large array never copied whole),
    accumulated in float64 around each frame's first slab, so a constant image gives exactly 0.
    A constant frame (a blank frame in a time-lapse) takes the whole image's std; a constant
    image, or one with NaN or infinite values, is refused.
    """
    moments = [sample_moments(array, layout, sample) for sample in np.ndindex(*sample_shape(layout))]
    mean = np.stack([m for m, _, _ in moments])
    var = np.stack([v for _, v, _ in moments])
    counts = np.array([n for _, _, n in moments], np.float64)[:, None]
    pooled_mean = (counts * mean).sum(axis=0) / counts.sum()
    pooled_var = (counts * (var + (mean - pooled_mean) ** 2)).sum(axis=0) / counts.sum()
    image_mean, image_std = checked_stats(pooled_mean, pooled_var, name)
    std = np.sqrt(np.maximum(var, 0))
    std = np.where(std > 1e-6 * image_std, std, image_std)
    return mean.astype(np.float32), std.astype(np.float32), (image_mean, image_std)


def sample_moments(array, layout: Layout, sample) -> tuple[np.ndarray, np.ndarray, int]:
    """(mean, variance, pixel count) per channel of one sample, in float64."""
    spatial = spatial_shape(layout)
    rows = max(1, min(spatial[0], STATS_ELEMENTS // max(1, int(np.prod(spatial[1:])) * layout.channels)))
    # sums around the first slab's mean (shift), so a large offset costs no precision
    first = read_block(array, layout, sample, (slice(0, rows),)).reshape(layout.channels, -1).astype(np.float64)
    shift = first.mean(axis=1, keepdims=True)
    total, squares = np.zeros(layout.channels), np.zeros(layout.channels)
    count = 0
    for lo in range(0, spatial[0], rows):
        block = first if lo == 0 else read_block(array, layout, sample, (slice(lo, lo + rows),))
        pixels = block.reshape(block.shape[0], -1).astype(np.float64) - shift
        total += pixels.sum(axis=1)
        squares += np.square(pixels).sum(axis=1)
        count += pixels.shape[1]
    mean_shifted = total / count
    return shift[:, 0] + mean_shifted, squares / count - mean_shifted**2, count


def checked_stats(mean, var, name: str = "the image") -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (mean, std) as float32 from float64 mean and variance, refusing images a
    network cannot be standardised on: NaN or infinite values, or a constant channel."""
    mean, var = np.atleast_1d(mean), np.atleast_1d(var)
    if not (np.isfinite(mean).all() and np.isfinite(var).all()):
        raise ImageError(f"{name} contains NaN or infinite values; replace them (e.g. by 0) before denoising")
    if np.any(var <= 0):
        raise ImageError(f"{name} is constant (zero standard deviation); there is no noise to remove")
    return mean.astype(np.float32), np.sqrt(var).astype(np.float32)
