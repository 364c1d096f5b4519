"""The posterior estimate: each pixel's prediction from its context, combined with its own
observed value through the noise model.

Noise2Same's network, given x_J (the pixels of J replaced), predicts each pixel of J from its
context alone: ``mu``, with the spread head's (engine/spread.py) variance ``v`` of the observed
value around it.  In the Gaussian approximation, ``v = s^2 + sigma_n^2``: the prior's spread of
the clean value given the context plus the noise's at that intensity (the noise model: a
calibration, engine/noise_calibration.py, or the Poisson-Gaussian fit of each YX plane against
``mu``, engine/noise_model.py).  The posterior of the clean value given context and
observation y is then Gaussian with

    mean = mu + s^2 / (s^2 + sigma_n^2) * (y - mu),   var = s^2 sigma_n^2 / (s^2 + sigma_n^2)

(Laine et al. 2019 for blind-spot networks; the paper's Sec. 6 names it as Noise2Same's future
work).  To have ``mu`` at every pixel, the image is masked ``k`` times, each time one of ``k``
interleaved lattices (``(a . p) mod k``, its coefficients chosen so that the masked pixels of a
pass lie as far apart as ``k`` allows), replaced as in training: ``k`` passes of the network.
PyTorch only (the spread head is not in the ONNX graph).

The variances are calibrated on the image itself: the spread head ranks the pixels, and in
each of ``BINS`` quantiles of its variance the total ``v`` is the mean of ``(y - mu)^2``
there (observed, no clean image needed) and the noise's the mean of the noise model's; the
prior's is their difference.  Taken pixel by pixel, ``v - sigma_n^2`` is the small difference
of two large, noisy numbers (at 4 photons per pixel the prior's share of ``v`` is about 5 %)
and the posterior mean came out 0.2-1.1 dB below the Noise2Same output; calibrated per bin it
is within 0.1 dB of the bound that the clean image's true variances give
(benchmarks/posterior_estimate.py, docs/quality.md).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..errors import ConfigError
from .arrays import block_index, frame_stats, read_normalised, sample_shape, spatial_shape, to_input_order
from .geometry import HALO, SIZE_MULTIPLE
from .noise_model import plane_level, sigma_at

#: masked passes per image (the lattices): measured in benchmarks/posterior_estimate.py
PASSES = 9
#: quantiles of the spread head's variance over which the variances are calibrated
BINS = 20
#: the largest side of a piece run at once (YX; Z 64), beyond it the image is cut into overlapping pieces
PIECE = {2: 1024, 3: 128}

#: per channel: intensity (image units) -> noise variance there; None: fitted per YX plane
NoiseVariance = Callable[[int, np.ndarray], np.ndarray]


@dataclass
class Posterior:
    mean: np.ndarray  # the posterior mean, the image's shape and units, float32
    std: np.ndarray  # the posterior standard deviation
    context: np.ndarray  # mu: each pixel predicted from its context alone
    weight: np.ndarray  # the share of the pixel's own value in the mean: s^2 / (s^2 + sigma_n^2)
    noise: np.ndarray  # the noise model's standard deviation at the pixel (at mu)


@lru_cache(maxsize=16)
def lattice(k: int, dims: int) -> tuple[int, ...]:
    """Coefficients ``a`` (``a[0] = 1``) of the lattice ``(a . p) mod k`` whose pixels of one
    group lie farthest apart (the smallest distance between two of them, over offsets within 4 px)."""
    offsets = np.array([o for o in itertools.product(range(-4, 5), repeat=dims) if any(o)])
    d2 = (offsets**2).sum(axis=1)
    best, best_d = (1,) * dims, -1
    for rest in itertools.product(range(k), repeat=dims - 1):
        a = (1, *rest)
        same = (offsets @ np.array(a)) % k == 0
        d = int(d2[same].min()) if same.any() else 10**6
        if d > best_d:
            best, best_d = a, d
    return tuple(int(v) for v in best)


def groups(shape: tuple[int, ...], k: int) -> np.ndarray:
    """The lattice group (0 .. k-1) of every pixel of ``shape``."""
    a = lattice(k, len(shape))
    total = np.zeros(shape, np.int64)
    for c, g in zip(a, np.meshgrid(*[np.arange(s) for s in shape], indexing="ij"), strict=True):
        total += c * g
    return (total % k).astype(np.int32)


def context_prediction(
    model, x: np.ndarray, passes: int = PASSES, seed: int = 0, precision: str = "float32"
) -> tuple[np.ndarray, np.ndarray]:
    """``(mu, v)`` of normalised ``x`` (C, *spatial): every pixel predicted from its context,
    and the spread head's variance of the observed value around it (normalised units);
    ``precision`` "bfloat16": the network under bfloat16 autocast, as the predictor does."""
    spatial = x.shape[1:]
    piece = PIECE[model.dims]
    if any(s > piece + 2 * HALO for s in (spatial[-2:] if model.dims == 2 else spatial)):
        return _by_pieces(model, x, passes, seed, piece, precision)
    return _context_whole(model, x, passes, seed, precision)


def _context_whole(model, x: np.ndarray, passes: int, seed: int, precision: str) -> tuple[np.ndarray, np.ndarray]:
    import torch

    from .masking import apply_mask
    from .struct_mask import extend, parse

    spatial = x.shape[1:]
    padded = tuple(-(-s // SIZE_MULTIPLE) * SIZE_MULTIPLE for s in spatial)
    xp = np.pad(x, [(0, 0)] + [(0, p - s) for s, p in zip(spatial, padded, strict=True)], mode="symmetric")
    net, spread = model.net, model.spread
    device = next(net.parameters()).device
    config = model.train_config
    struct = parse((model.summary.get("struct_mask") or {}).get("struct_mask", "off"))
    footprint = struct if isinstance(struct, tuple) else None
    which = torch.from_numpy(groups(padded, passes)).to(device)
    t = torch.from_numpy(np.ascontiguousarray(xp, np.float32))[None].to(device)
    mu, log_v = torch.zeros_like(t), torch.zeros_like(t)
    gen = torch.Generator(device=device).manual_seed(seed)
    bf16 = precision == "bfloat16"
    with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
        for g in range(passes):
            mask = (which == g).to(t.dtype).expand_as(t).contiguous()
            masked = apply_mask(t, extend(mask, footprint), config.replacement, config.mask_sigma, generator=gen)
            features = net.features(masked)
            mu = torch.where(mask > 0, net.head(features).float(), mu)
            log_v = torch.where(mask > 0, spread(features), log_v)
    crop = (0, slice(None)) + tuple(slice(0, s) for s in spatial)
    return mu[crop].cpu().numpy(), torch.exp(log_v[crop]).cpu().numpy()


def _by_pieces(model, x: np.ndarray, passes: int, seed: int, piece: int, precision: str):
    """:func:`_context_whole` on overlapping pieces (each with ``HALO`` of context), cropped and joined."""
    spatial = x.shape[1:]
    cut = [piece if (model.dims == 3 or axis >= len(spatial) - 2) else s for axis, s in enumerate(spatial)]
    mu, v = np.empty_like(x), np.empty_like(x)
    starts = [range(0, s, c) for s, c in zip(spatial, cut, strict=True)]
    for i, corner in enumerate(itertools.product(*starts)):
        inner = tuple(slice(c, min(c + n, s)) for c, n, s in zip(corner, cut, spatial, strict=True))
        outer = tuple(
            slice(max(0, sl.start - HALO), min(s, sl.stop + HALO)) for sl, s in zip(inner, spatial, strict=True)
        )
        m, var = _context_whole(model, x[(slice(None),) + outer], passes, seed + i, precision)
        local = (slice(None),) + tuple(
            slice(a.start - b.start, a.stop - b.start) for a, b in zip(inner, outer, strict=True)
        )
        mu[(slice(None),) + inner], v[(slice(None),) + inner] = m[local], var[local]
    return mu, v


def calibrate(y: np.ndarray, mu: np.ndarray, v: np.ndarray, noise: np.ndarray, bins: int = BINS):
    """``(mu, total, noise)`` with the total and the noise variance of every pixel replaced by
    their means over its channel's quantile bin of ``v`` (the total: of ``(y - mu)^2``)."""
    total, noise_b = np.empty_like(v, np.float64), np.empty_like(v, np.float64)
    for c in range(v.shape[0]):
        vc = v[c].ravel()
        edges = np.quantile(vc, np.linspace(0, 1, bins + 1)[1:-1])
        which = np.searchsorted(edges, vc)
        count = np.maximum(np.bincount(which, minlength=bins), 1)
        err2 = ((y[c] - mu[c]) ** 2).ravel()
        total[c] = (np.bincount(which, err2, minlength=bins) / count)[which].reshape(v[c].shape)
        noise_b[c] = (np.bincount(which, noise[c].ravel(), minlength=bins) / count)[which].reshape(v[c].shape)
    return mu, total, noise_b


def combine(y, mu, v_total, noise_var) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Gaussian posterior's (mean, std, weight of ``y``) of each pixel (all arrays in the same
    units): prior ``N(mu, v_total - noise_var)`` (its spread at least 0), likelihood ``N(y; x, noise_var)``."""
    noise_var = np.maximum(noise_var, 1e-12)
    prior = np.maximum(v_total - noise_var, 0.0)
    weight = prior / (prior + noise_var)
    return mu + weight * (y - mu), np.sqrt(prior * noise_var / (prior + noise_var)), weight


def posterior(
    model,
    image,
    axes: str,
    noise_variance: NoiseVariance | None = None,
    passes: int = PASSES,
    seed: int = 0,
    on_sample: Callable[[int, int], None] | None = None,
) -> Posterior:
    """The posterior estimate of ``image`` (see the module's docstring), in its axes and units.

    ``noise_variance(channel, intensity)`` is the noise model (a calibration); None fits the
    Poisson-Gaussian model on every YX plane against the context prediction.
    """
    layout = model_layout_checked(model, image, axes, passes)
    out = Posterior(*(np.empty(layout.shape, np.float32) for _ in range(5)))
    for index, block in iter_posterior(model, image, axes, noise_variance, passes, seed, on_sample):
        for name in ("mean", "std", "context", "weight", "noise"):
            getattr(out, name)[index] = getattr(block, name)
    return out


def model_layout_checked(model, image, axes: str, passes: int = PASSES):
    """The image's layout for ``model``, or the one-line reason the posterior cannot be had."""
    from .predict import model_layout

    if getattr(model, "spread", None) is None:
        raise ConfigError(
            "this model has no spread head (saved before the posterior estimate, or ONNX-only): the posterior "
            "estimate needs the model trained again with this version, or choose the Noise2Same estimate (n2s)"
        )
    if not 2 <= passes <= 64:
        raise ConfigError(f"the posterior's passes must be 2 to 64, not {passes}")
    return model_layout(model, image, axes)


def iter_posterior(
    model,
    image,
    axes: str,
    noise_variance: NoiseVariance | None = None,
    passes: int = PASSES,
    seed: int = 0,
    on_sample: Callable[[int, int], None] | None = None,
    precision: str = "float32",
) -> Iterator[tuple[tuple, Posterior]]:
    """Yield ``(index, block)`` per sample: ``out[index] = block.mean`` (and ``.std``, ``.context``)
    fill the image's posterior, in its axes and units."""
    layout = model_layout_checked(model, image, axes, passes)
    means, stds, _ = frame_stats(image, layout)
    spatial = spatial_shape(layout)
    samples = list(np.ndindex(*sample_shape(layout)))
    for n, (sample, mean, std) in enumerate(zip(samples, means, stds, strict=True)):
        shape = (-1,) + (1,) * model.dims
        m, s = np.reshape(mean, shape).astype(np.float64), np.reshape(std, shape).astype(np.float64)
        x = read_normalised(image, layout, sample, (slice(0, spatial[0]),), mean, std)
        mu_n, v_n = context_prediction(model, x, passes, seed + n, precision)
        y, mu, v = x * s + m, mu_n * s + m, v_n * s * s
        noise = _noise_variance(y, mu, noise_variance)
        _, total, binned = calibrate(y, mu, v, noise)
        post_mean, post_std, weight = combine(y, mu, total, binned)
        arrays = (post_mean, post_std, mu, weight, np.sqrt(noise))
        blocks = (to_input_order(b.astype(np.float32), layout) for b in arrays)
        yield block_index(layout, sample, (slice(0, spatial[0]),)), Posterior(*blocks)
        if on_sample is not None:
            on_sample(n + 1, len(samples))


def recorded_noise_model(model):
    """The calibration a model file records (``train --noise-model``), or None: fit on each image."""
    record = (getattr(model, "summary", None) or {}).get("noise_model")
    if not record:
        return None
    from .noise_calibration import NoiseModel

    return NoiseModel.from_dict(record, record.get("source", "calibration recorded in the model"))


def _noise_variance(y: np.ndarray, mu: np.ndarray, given: NoiseVariance | None) -> np.ndarray:
    """The noise variance at every pixel of one sample (C, *spatial): ``given``'s at ``mu``, or
    each YX plane's own Poisson-Gaussian fit (the plane's one level where the model does not fit)."""
    if given is not None:
        return np.stack([np.asarray(given(c, mu[c]), np.float64) for c in range(mu.shape[0])])
    planes_y = y.reshape(-1, *y.shape[-2:])
    planes_mu = mu.reshape(-1, *mu.shape[-2:])
    fitted = [sigma_at(plane_level(a, b), np.clip(b, 0, None)) ** 2 for a, b in zip(planes_y, planes_mu, strict=True)]
    return np.stack(fitted).reshape(y.shape)
