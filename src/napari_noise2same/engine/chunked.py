"""Out-of-core prediction: the image as a dask graph of overlapping chunks.

Each chunk is read with a halo of ``HALO`` pixels (more than the network's
receptive radius, and a multiple of its size multiple so every chunk sees the
same downsampling grid as the whole image), denoised by the ordinary predictor
with the whole image's statistics, and cropped back: chunk borders are seamless.
Nothing is computed until the result is stored, so an image larger than memory
goes through one chunk at a time, on this machine or on a dask.distributed
cluster, whose workers each load the model file once.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ..errors import ImageError
from .arrays import checked_stats
from .axes import Layout
from .predict import model_layout, predict
from .unet import SIZE_MULTIPLE

#: halo around each chunk, in pixels of every spatial axis
HALO = 32
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
    from .model_file import load_model

    return load_model(path, device=resolve_device(device or "auto"))


def denoise_dask(model, image, axes: str, *, model_path=None, chunk_size=None, tile_size=None, tta: bool = False,
                 device=None):
    """The denoised image as a lazy float32 dask array with the axes and shape of ``image``.

    ``image`` is a dask array (or anything dask can wrap).  With ``model_path`` the chunks
    load the model from that file (needed for a dask.distributed cluster), else they use
    ``model`` itself.  ``chunk_size``: chunk side over the spatial axes (default 2048 in
    2D, 64 x 512 x 512 in 3D); ``tile_size``, ``tta`` and ``device`` are the predictor's.
    """
    import dask.array as da

    layout = model_layout(model, image, axes)
    x = image if isinstance(image, da.Array) else da.from_array(image, chunks=-1)
    mean, std = _stats(x, layout)
    x = x.rechunk(_chunks(layout, chunk_size, model.dims))
    depth = {i: HALO if a in layout.spatial_axes else 0 for i, a in enumerate(layout.axes)}
    source = ModelFile(str(model_path)) if model_path is not None else model
    job = functools.partial(_denoise_chunk, source, layout.axes, (mean, std), tile_size, tta, device)
    return x.map_overlap(job, depth=depth, boundary="none", trim=True, dtype=np.float32,
                         meta=np.empty((0,) * x.ndim, np.float32))


def _denoise_chunk(source, axes, stats, tile_size, tta, device, block):
    model = source.load(device) if isinstance(source, ModelFile) else source
    return predict(model, block, axes, stats=stats, tile_size=tile_size, tta=tta, device=device)


def _stats(x, layout: Layout) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std of the whole image, computed chunk by chunk (on the cluster if any)."""
    import dask

    others = tuple(i for i, a in enumerate(layout.axes) if a != "C")
    pixels = x.astype(np.float64)
    return checked_stats(*dask.compute(pixels.mean(axis=others), pixels.var(axis=others)))


def _chunks(layout: Layout, chunk_size, dims: int) -> tuple:
    """One sample and all channels per chunk; spatial chunks of whole multiples of the network's
    size multiple, none smaller than the halo (a short remainder joins its neighbour)."""
    if chunk_size is None:
        sides = CHUNK_3D if dims == 3 else (CHUNK_2D,) * 2
    else:
        sides = (chunk_size,) * dims if isinstance(chunk_size, int) else tuple(chunk_size)
    if len(sides) != dims:
        raise ImageError(f"chunk size {chunk_size} does not fit a {dims}D model")
    spatial = dict(zip(layout.spatial_axes, sides))
    chunks = []
    for a, n in zip(layout.axes, layout.shape):
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
