"""One predictor: whole image when it fits, else overlapping tiles blended without seams.

Any axes order goes in and the same comes out, as float32 in the input's
intensity scale.  Each frame (sample) is standardised by its own per-channel mean
and std, as in training, and de-standardised afterwards (models from before
0.2 were trained on whole-image statistics and are predicted with them).

The network runs through the model's runner: PyTorch on any device, or ONNX Runtime on
the CPU (engine/torch_runner.py, engine/onnx_runner.py); this module imports neither.

The input may be a numpy array or a lazy one (dask, zarr, memory map): samples
(time points, planes of a 2D model) are read one at a time, and within a sample
the tiles are processed in slabs along the first spatial axis (Z for 3D models),
so :func:`iter_denoised` holds only a slab of input and output in memory.
:func:`predict` collects its output into one array.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Protocol

import numpy as np

from ..errors import ConfigError, ImageError
from .arrays import (
    block_index,
    channel_stats,
    frame_stats,
    read_normalised,
    sample_shape,
    spatial_shape,
    to_input_order,
)
from .axes import Layout, make_layout
from .predict_options import WHOLE_IMAGES_ONLY, PredictOptions, resolve_estimate
from .tiling import MIN_INPUT, blend_window, padded_shape, tile_overlap, tile_shape, tile_starts


class Predictable(Protocol):
    """What the predictor needs of a model: a :class:`.model.Noise2SameModel`, or an
    :class:`.onnx_model.OnnxModel` (ONNX Runtime, no torch)."""

    @property
    def dims(self) -> int: ...

    @property
    def channels(self) -> int: ...

    @property
    def per_frame(self) -> bool: ...

    @property
    def base_width(self) -> int: ...

    def runner(self, options: PredictOptions) -> Callable[[np.ndarray, bool], np.ndarray]: ...


Hook = Callable[[int, int], None]


def predict(
    model: Predictable,
    image,
    axes: str,
    options: PredictOptions | None = None,
    *,
    stats: tuple | None = None,
    on_progress: Hook | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> np.ndarray:
    """Denoise ``image`` whose axes are ``axes``; returns float32 of the same shape.

    The arguments are those of :func:`iter_denoised`.
    """
    layout = model_layout(model, image, axes)
    out = np.empty(layout.shape, dtype=np.float32)
    for index, block in iter_denoised(
        model, image, axes, options, stats=stats, on_progress=on_progress, should_stop=should_stop
    ):
        out[index] = block
    return out


def iter_denoised(
    model: Predictable,
    image,
    axes: str,
    options: PredictOptions | None = None,
    *,
    stats: tuple | None = None,
    on_progress: Hook | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Iterator[tuple[tuple, np.ndarray]]:
    """Yield ``(index, block)``: ``out[index] = block`` fills the denoised image piece by piece.

    Blocks come in the input's order of samples, each sample in slabs along its
    first spatial axis, with the axes of ``image`` (float32, input intensity scale).
    ``options``: tiles, overlap, test-time augmentation and device (:class:`PredictOptions`).
    ``stats`` (per-channel mean, std) standardise every sample instead of its own statistics:
    the whole frame's, when ``image`` is a piece of it (out-of-core chunks).
    ``on_progress(done, total)`` is called per tile; ``should_stop()`` returning True aborts
    with InterruptedError.
    """
    options = options or PredictOptions()
    if resolve_estimate(options, model) == "posterior":
        yield from _posterior_blocks(model, image, axes, options, stats, on_progress, should_stop)
        return
    tile_size, overlap, tta = options.tile_size, options.overlap, options.tta
    layout = model_layout(model, image, axes)
    run = model.runner(options)
    samples = list(np.ndindex(*sample_shape(layout)))
    if stats is not None:
        per_sample = [stats] * len(samples)
    elif model.per_frame:
        means, stds, _ = frame_stats(image, layout)
        per_sample = list(zip(means, stds, strict=True))
    else:
        per_sample = [channel_stats(image, layout)] * len(samples)
    spatial = spatial_shape(layout)
    tiles = tile_shape(tile_size, spatial, model.base_width, model.dims)
    spans = zip(padded_shape(spatial), tiles, tile_overlap(overlap, tiles), strict=True)
    plan = [tile_starts(s, t, o) for s, t, o in spans]
    total, done = len(samples) * int(np.prod([len(p) for p in plan])), 0

    def tick():
        nonlocal done
        if should_stop is not None and should_stop():
            raise InterruptedError("prediction stopped")
        done += 1
        if on_progress is not None:
            on_progress(done, total)

    for sample, sample_stats in zip(samples, per_sample, strict=True):
        mean, std = (np.asarray(v, np.float32).reshape((-1,) + (1,) * model.dims) for v in sample_stats)

        def read(lo, hi, sample=sample, mean=mean, std=std):
            return read_normalised(image, layout, sample, (slice(lo, hi),), mean, std)

        for lo, hi, block in _denoise_sample(run, read, spatial, tiles, plan, tta, tick):
            yield block_index(layout, sample, (slice(lo, hi),)), to_input_order(block * std + mean, layout)


def _posterior_blocks(model, image, axes, options, stats, on_progress, should_stop):
    """:func:`iter_denoised`'s blocks from the posterior estimate (engine/posterior.py), a sample at a time."""
    from .posterior import iter_posterior, recorded_noise_model

    if stats is not None:
        raise ConfigError(WHOLE_IMAGES_ONLY)

    def tick(done: int, total: int) -> None:
        if on_progress is not None:
            on_progress(done, total)
        if should_stop is not None and should_stop():
            raise InterruptedError("prediction stopped")

    noise = options.noise_model or recorded_noise_model(model)
    variance = getattr(noise, "variance", None)
    for index, block in iter_posterior(model, image, axes, variance, on_sample=tick, precision=options.precision):
        yield index, block.mean


def model_layout(model, image, axes: str) -> Layout:
    layout = make_layout(tuple(np.shape(image)), axes, model.dims)
    if layout.channels != model.channels:
        raise ImageError(
            f"the model expects {model.channels} channel(s) but the image has {layout.channels} "
            f"(axes {layout.axes}, shape {tuple(np.shape(image))}); check the axes or use a matching model"
        )
    return layout


# -- the tile loop ---------------------------------------------------------------------------
def _denoise_sample(run, read, spatial, tiles, plan, tta, tick):
    """Yield (lo, hi, block) slabs of one sample's output along its first spatial axis.

    ``read(lo, hi)`` gives normalised (C, hi - lo, *rest) rows of the sample.  Tiles are
    processed row of tiles by row of tiles; rows of output that no later tile touches are
    final and leave the accumulators, so memory holds about one tile-deep slab.
    """
    padded = tuple(max(MIN_INPUT, p) for p in padded_shape(spatial))
    first, depth = spatial[0], tiles[0]
    acc = None  # the tiles' shares (blend_window partitions the output: no normalising weights)
    acc_lo = 0  # first row held in the accumulators
    for i, z0 in enumerate(plan[0]):
        z1 = z0 + depth
        slab = _padded_rows(read, z0, z1, spatial, padded)
        grow = z1 - acc_lo - (0 if acc is None else acc.shape[1])
        if acc is None:
            acc = np.zeros((slab.shape[0], z1 - acc_lo, *padded[1:]), np.float32)
        elif grow > 0:
            acc = np.concatenate([acc, np.zeros((acc.shape[0], grow, *padded[1:]), np.float32)], axis=1)
        for rest in itertools.product(*plan[1:]):
            starts = (z0, *rest)
            inner = tuple(slice(s, s + t) for s, t in zip(rest, tiles[1:], strict=False))
            w = blend_window(starts, tiles, plan, padded)
            out = run(slab[(slice(None), slice(None)) + inner], tta)
            rows = slice(z0 - acc_lo, z1 - acc_lo)
            acc[(slice(None), rows) + inner] += out * w
            tick()
        final = plan[0][i + 1] if i + 1 < len(plan[0]) else z1
        n = final - acc_lo
        if n > 0 and acc_lo < first:
            crop = (slice(None), slice(0, min(n, first - acc_lo))) + tuple(slice(0, s) for s in spatial[1:])
            yield acc_lo, min(final, first), acc[crop]
        acc, acc_lo = acc[:, n:], final


def _padded_rows(read, lo: int, hi: int, spatial, padded) -> np.ndarray:
    """Rows [lo, hi) of the sample padded by mirror symmetry to ``padded`` (as numpy's 'symmetric')."""
    first = spatial[0]
    rows = [_mirror(r, first) for r in range(lo, hi)]
    a, b = min(rows), max(rows) + 1
    block = read(a, b)[:, [r - a for r in rows]]
    pads = [(0, 0), (0, 0)] + [(0, p - s) for s, p in zip(spatial[1:], padded[1:], strict=False)]
    return np.pad(block, pads, mode="symmetric") if any(p[1] for p in pads) else block


def _mirror(i: int, n: int) -> int:
    i %= 2 * n
    return i if i < n else 2 * n - 1 - i


def planes_in_order(layout: Layout) -> bool:
    """Whether :func:`iter_denoised` produces an image's YX planes in their storage order
    (C order over the other axes), so they can be written as they come."""
    others = [a for a in layout.axes if a not in "YX"]
    kept = [a for a in others if a not in layout.sample_axes]
    return (
        layout.axes.endswith("YX")
        and others == list(layout.sample_axes) + kept
        and (kept.index("Z") < kept.index("C") if {"Z", "C"} <= set(kept) else True)
    )


def iter_planes(
    model: Predictable,
    image,
    axes: str,
    options: PredictOptions | None = None,
    *,
    on_progress: Hook | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Iterator[np.ndarray]:
    """The denoised image as float32 YX planes in storage order (TIFF pages), one slab in memory.

    Needs :func:`planes_in_order`; the arguments are those of :func:`iter_denoised`.
    """
    layout = model_layout(model, image, axes)
    if not planes_in_order(layout):
        raise ValueError(f"axes {layout.axes} do not give planes in storage order; use predict()")
    height, width = layout.shape[-2:]
    pending = []  # row slabs of the current 2D sample
    for _, block in iter_denoised(model, image, axes, options, on_progress=on_progress, should_stop=should_stop):
        if model.dims == 3:  # complete Z planes
            yield from block.reshape(-1, height, width)
            continue
        pending.append(block)
        if sum(b.shape[-2] for b in pending) == height:
            yield from np.concatenate(pending, axis=-2).reshape(-1, height, width)
            pending = []
