"""Out-of-core prediction: the image as a dask graph of overlapping chunks.

Each chunk is read with a halo of ``unet.HALO`` pixels (the network's receptive radius
rounded up to its size multiple, so every chunk sees the same downsampling grid as the
whole image), denoised by the ordinary predictor
with its whole frame's statistics (the whole image's for models from before
0.2), and cropped back: chunk borders are seamless.
Nothing is computed until the result is stored, so an image larger than memory
goes through one chunk at a time, on this machine or on a dask.distributed
cluster, whose workers each load the model file once.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

import numpy as np

from ..errors import ConfigError, ImageError
from .arrays import checked_stats
from .axes import Layout
from .geometry import HALO, SIZE_MULTIPLE
from .predict import model_layout, predict
from .predict_options import WHOLE_IMAGES_ONLY, PredictOptions

#: default chunk sides over the spatial axes (Z for 3D models first)
CHUNK_2D, CHUNK_3D = 2048, (64, 512, 512)


@dataclass(frozen=True)
class ModelFile:
    """A model by its path: what a cluster worker gets instead of the network itself."""

    path: str

    def load(self, device):
        return _load(self.path, device)


@functools.lru_cache(maxsize=4)
def _load(path: str, device):
    from .devices import resolve_device
    from .model import load_model

    return load_model(path, device=resolve_device(device or "auto"))


def denoise_dask(model, image, axes: str, options: PredictOptions | None = None, *, model_path=None, chunk_size=None):
    """The denoised image as a lazy float32 dask array with the axes and shape of ``image``.

    ``image`` is a dask array (or anything dask can wrap).  With ``model_path`` the chunks
    load the model from that file (needed for a dask.distributed cluster), else they use
    ``model`` itself.  ``chunk_size``: chunk side over the spatial axes (default 2048 in
    2D, 64 x 512 x 512 in 3D); ``options`` are the predictor's, for each chunk (its overlap
    applies between tiles inside a chunk; chunks overlap by the halo).  The chunks take the
    Noise2Same estimate: the posterior (engine/posterior.py) needs whole images.
    """
    import dask.array as da

    options = options or PredictOptions()
    if options.estimate == "posterior":
        raise ConfigError(WHOLE_IMAGES_ONLY)
    options = replace(options, estimate="n2s")

    layout = model_layout(model, image, axes)
    x = image if isinstance(image, da.Array) else da.from_array(image, chunks=-1)
    stats = _frame_stats(x, layout) if model.per_frame else _stats(x, layout)
    x = x.rechunk(_chunks(layout, chunk_size, model.dims))
    depth = {i: HALO if a in layout.spatial_axes else 0 for i, a in enumerate(layout.axes)}
    source = ModelFile(str(model_path)) if model_path is not None else model
    job = functools.partial(_denoise_chunk, source, layout, stats, options)
    return x.map_overlap(
        job, depth=depth, boundary="none", trim=True, dtype=np.float32, meta=np.empty((0,) * x.ndim, np.float32)
    )


def _denoise_chunk(source, layout, stats, options: PredictOptions, block, block_info=None):
    model = source.load(options.device) if isinstance(source, ModelFile) else source
    if isinstance(stats, dict):  # per frame: a chunk holds one frame (depth 0 along the sample axes)
        location = block_info[0]["chunk-location"]
        frame = tuple(location[layout.axes.index(a)] for a in layout.sample_axes)
        stats = stats[frame]
    return predict(model, block, layout.axes, options, stats=stats)


def _stats(x, layout: Layout) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std of the whole image, computed chunk by chunk (on the cluster if any)."""
    import dask

    others = tuple(i for i, a in enumerate(layout.axes) if a != "C")
    pixels = x.astype(np.float64)
    return checked_stats(*dask.compute(pixels.mean(axis=others), pixels.var(axis=others)))


def _frame_stats(x, layout: Layout) -> dict:
    """{frame index over the sample axes: (mean, std) per channel}, computed chunk by chunk; a
    constant frame takes the whole image's std (as in training)."""
    import dask

    spatial = tuple(layout.axes.index(a) for a in layout.spatial_axes)
    pixels = x.astype(np.float64)
    mean, var = dask.compute(pixels.mean(axis=spatial), pixels.var(axis=spatial))
    kept = [a for a in layout.axes if a not in layout.spatial_axes]  # the sample axes and C, in order
    order = [kept.index(a) for a in layout.sample_axes] + ([kept.index("C")] if "C" in kept else [])
    frames = len(layout.sample_axes)
    mean, var = (
        np.transpose(v, order).reshape(tuple(np.shape(v)[i] for i in order[:frames]) + (-1,)) for v in (mean, var)
    )
    # frames are all the same size, so the whole image's moments are their averages
    flat_mean, flat_var = mean.reshape(-1, mean.shape[-1]), var.reshape(-1, var.shape[-1])
    _, image_std = checked_stats(flat_mean.mean(axis=0), flat_var.mean(axis=0) + flat_mean.var(axis=0))
    std = np.sqrt(np.maximum(var, 0))
    std = np.where(std > 1e-6 * image_std, std, image_std)
    return {
        frame: (mean[frame].astype(np.float32), std[frame].astype(np.float32)) for frame in np.ndindex(*mean.shape[:-1])
    }


def _chunks(layout: Layout, chunk_size, dims: int) -> tuple:
    """One sample and all channels per chunk; spatial chunks of whole multiples of the network's
    size multiple, none smaller than the halo (a short remainder joins its neighbour)."""
    sides: tuple[int, ...]
    if chunk_size is None:
        sides = CHUNK_3D if dims == 3 else (CHUNK_2D,) * 2
    else:
        sides = (chunk_size,) * dims if isinstance(chunk_size, int) else tuple(chunk_size)
    if len(sides) != dims:
        raise ImageError(f"chunk size {chunk_size} does not fit a {dims}D model")
    spatial = dict(zip(layout.spatial_axes, sides, strict=False))
    chunks = []
    for a, n in zip(layout.axes, layout.shape, strict=False):
        if a in spatial:
            chunks.append(_split(n, max(2 * HALO, int(spatial[a]) // SIZE_MULTIPLE * SIZE_MULTIPLE)))
        elif a == "C":
            chunks.append((n,))
        else:
            chunks.append((1,) * n)
    return tuple(chunks)


def _split(n: int, side: int) -> tuple[int, ...]:
    parts = [side] * (n // side) + ([n % side] if n % side else [])
    if len(parts) > 1 and parts[-1] < HALO:
        parts[-2:] = [parts[-2] + parts[-1]]
    return tuple(parts)
