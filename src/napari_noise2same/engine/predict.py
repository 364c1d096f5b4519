"""One predictor: whole image when it fits, else overlapping tiles blended without seams.

Any axes order goes in and the same comes out, as float32 in the input's
intensity scale.  Each image is standardised by its own per-channel mean and
std (as in training) and de-standardised afterwards.  Tiles start on multiples
of the network's size multiple and overlap by at least twice its receptive
radius; within each overlap the two tiles are cross-faded linearly over the
middle half, so every output pixel comes from a tile that saw enough context.
"""

from __future__ import annotations

import itertools
import math
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import ImageError
from .axes import from_canonical, make_layout, to_canonical
from .data import standardise
from .devices import resolve_device
from .unet import SIZE_MULTIPLE, channels_last

#: activations budget (float32 elements per network width channel) above which we tile
WHOLE_IMAGE_BYTES = 1.5 * 2**30


def predict(
    model,
    image: np.ndarray,
    axes: str,
    *,
    tile_size: int | tuple[int, ...] | None = None,
    overlap: int | None = None,
    tta: bool = False,
    device: str | torch.device | None = None,
    batch_size: int = 1,
    on_progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> np.ndarray:
    """Denoise ``image`` whose axes are ``axes``; returns float32 of the same shape.

    ``tile_size`` None picks whole-image prediction when the activations fit in
    about 1.5 GB, else tiles of 512 px (2D) or 32x256x256 (3D).  ``tta`` averages
    the 8 rotations and flips of the YX plane.  ``on_progress(done, total)`` is
    called per tile; ``should_stop()`` returning True aborts with InterruptedError.
    """
    layout = make_layout(np.shape(image), axes, model.dims)
    if layout.channels != model.channels:
        raise ImageError(
            f"the model expects {model.channels} channel(s) but the image has {layout.channels} "
            f"(axes {layout.axes}, shape {tuple(np.shape(image))}); check the axes or use a matching model"
        )
    device = resolve_device(device) if device is not None else next(model.net.parameters()).device
    net = model.net.to(device, memory_format=channels_last(model.dims)).eval()
    canon = to_canonical(np.asarray(image), layout)
    normalised, mean, std = standardise(canon, "the image")
    spatial = normalised.shape[2:]
    tiles = _tile_shape(tile_size, spatial, model.unet_config.base_width, model.dims)
    ov = _overlap(overlap, tiles)
    out = np.empty(normalised.shape, dtype=np.float32)
    plan = [_tile_starts(s, t, o) for s, t, o in zip(_padded(spatial), tiles, ov)]
    total = normalised.shape[0] * int(np.prod([len(p) for p in plan]))
    done = 0
    for n in range(normalised.shape[0]):
        padded = _pad_to_multiple(normalised[n])
        result = np.zeros(padded.shape, dtype=np.float32)
        weight = np.zeros(padded.shape[1:], dtype=np.float32)
        for starts in itertools.product(*plan):
            if should_stop is not None and should_stop():
                raise InterruptedError("prediction stopped")
            region = tuple(slice(s, s + t) for s, t in zip(starts, tiles))
            w = _blend_window(starts, tiles, plan, padded.shape[1:])
            tile = _run(net, padded[(slice(None), *region)], device, tta)
            result[(slice(None), *region)] += tile * w
            weight[region] += w
            done += 1
            if on_progress is not None:
                on_progress(done, total)
        crop = tuple(slice(0, s) for s in spatial)
        out[n] = (result / weight)[(slice(None), *crop)]
    shape = (1, -1) + (1,) * len(spatial)
    out = out * std.reshape(shape) + mean.reshape(shape)
    return from_canonical(out, layout).astype(np.float32, copy=False)


@torch.inference_mode()
def _run(net, tile: np.ndarray, device, tta: bool) -> np.ndarray:
    x = torch.from_numpy(np.ascontiguousarray(tile))[None].to(device)
    x = x.contiguous(memory_format=channels_last(x.ndim - 2))
    if not tta:
        return net(x)[0].float().cpu().numpy()
    acc = torch.zeros_like(x)
    square = x.shape[-1] == x.shape[-2]
    for k in range(4) if square else (0, 2):
        for flip in (False, True):
            t = torch.rot90(x, k, dims=(-2, -1))
            t = t.flip(-1) if flip else t
            y = net(t).float()
            y = y.flip(-1) if flip else y
            acc += torch.rot90(y, -k, dims=(-2, -1))
    return (acc / (8 if square else 4))[0].cpu().numpy()


def _padded(spatial) -> tuple[int, ...]:
    return tuple(-(-s // SIZE_MULTIPLE) * SIZE_MULTIPLE for s in spatial)


def _pad_to_multiple(x: np.ndarray) -> np.ndarray:
    """(C, *spatial) padded at the end by reflection to multiples of SIZE_MULTIPLE (min 8)."""
    target = [max(8, p) for p in _padded(x.shape[1:])]
    pads = [(0, 0)] + [(0, t - s) for s, t in zip(x.shape[1:], target)]
    return np.pad(x, pads, mode="symmetric") if any(p[1] for p in pads) else x


def _tile_shape(tile_size, spatial, base_width, dims) -> tuple[int, ...]:
    padded = [max(8, p) for p in _padded(spatial)]
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


def _overlap(overlap, tiles) -> tuple[int, ...]:
    """Per-axis overlap: 96 px by default (2 x the receptive radius of ~24 on either side
    of the cross-fade), never more than half a tile."""
    if overlap is None:
        overlap = 96
    if isinstance(overlap, int):
        overlap = (overlap,) * len(tiles)
    return tuple(min(int(o), t // 2) // SIZE_MULTIPLE * SIZE_MULTIPLE for o, t in zip(overlap, tiles))


def _tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Evenly spread tile starts, on multiples of SIZE_MULTIPLE, overlapping by about ``overlap``."""
    length = max(8, length)
    if tile >= length:
        return [0]
    n = math.ceil((length - tile) / max(SIZE_MULTIPLE, tile - overlap)) + 1
    span = length - tile  # a multiple of SIZE_MULTIPLE, as both are
    return sorted({int(i * span / (n - 1)) // SIZE_MULTIPLE * SIZE_MULTIPLE for i in range(n)} | {span})


def _blend_window(starts, tiles, plan, shape) -> np.ndarray:
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
