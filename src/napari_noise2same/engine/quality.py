"""Can this result be trusted?  A report on one denoised image, without a clean reference.

* The noise of the input (:mod:`.noise_model`): its level per channel, a Poisson-Gaussian fit
  where it holds, and whether it is correlated between neighbouring pixels (which no
  self-supervised denoiser removes).
* The residual check: ``noisy - denoised`` should be noise, with zero mean in every 8 x 8
  window and no likeness to the image's structure.  A window fails where the residual's mean
  is more than ``Z_LIMIT`` standard errors from 0 (the noise level there from the noise model),
  or where it correlates with the denoised image's Laplacian (its edges and spots) by more
  than ``Z_LIMIT`` standard errors: there the denoiser took structure away.  The map marks the
  failing windows; the fraction is theirs.
* D(f), the J-invariance measure, on crops of the image itself (:mod:`.diagnostics`).

Numpy only; the network runs through the model's runner (PyTorch or ONNX Runtime).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .arrays import frame_stats, read_normalised, sample_shape, spatial_shape
from .axes import make_layout
from .diagnostics import invariance_statistics
from .noise_model import ChannelNoise, analyse_plane, camera_variance, sigma_at, worst_bin_error
from .predict_options import PredictOptions

WINDOW = 8
Z_LIMIT = 4.0
#: above this share of flagged windows the report warns (benchmarks/quality_checks.py: an ideal
#: denoiser 0-0.5 %; a 3-minute model on FMD 6 %; on Set12's textured natural images 31-53 %)
WARN_FRACTION = 0.10
NOISE_PLANES = 8  # YX planes analysed for the noise (evenly spread over samples and Z)
D_CROP = 96  # side of the crops D(f) is measured on


@dataclass
class QualityReport:
    noise: list[ChannelNoise]  # per channel
    residual_structure_fraction: float
    d_f: float | None = None
    d_f_se: float | None = None
    d_f_pixels: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def noise_sigma(self) -> float:
        """The noise level (RMS over the channels), in the image's units."""
        return float(np.sqrt(np.mean([c.sigma**2 for c in self.noise])))

    @property
    def noise_correlated(self) -> bool:
        return any(c.correlated for c in self.noise)

    def to_dict(self) -> dict:
        return {
            "noise_sigma": self.noise_sigma,
            "noise_correlated": self.noise_correlated,
            "residual_structure_fraction": self.residual_structure_fraction,
            "d_f": self.d_f,
            "d_f_se": self.d_f_se,
            "d_f_pixels": self.d_f_pixels,
            "noise_per_channel": [c.to_dict() for c in self.noise],
            "warnings": list(self.warnings),
        }


def residual_structure(
    noisy: np.ndarray, denoised: np.ndarray, noise: ChannelNoise, window: int = WINDOW
) -> np.ndarray:
    """Boolean map (the plane's shape) of the windows where the residual is not noise."""
    from scipy.ndimage import laplace

    x, f = np.asarray(noisy, np.float64), np.asarray(denoised, np.float64)
    r = x - f
    h, w = x.shape[0] // window * window, x.shape[1] // window * window
    out = np.zeros(x.shape, bool)
    if not h or not w:
        return out

    def blocks(a):
        return a[:h, :w].reshape(h // window, window, w // window, window)

    n = window * window
    rb, fb = blocks(r), blocks(f)
    sigma = sigma_at(noise, fb.mean(axis=(1, 3)))
    z_mean = rb.mean(axis=(1, 3)) / (np.maximum(sigma, 1e-12) / np.sqrt(n))
    lap = blocks(laplace(f))
    lc = lap - lap.mean(axis=(1, 3), keepdims=True)
    rc = rb - rb.mean(axis=(1, 3), keepdims=True)
    denom = np.sqrt((lc**2).sum(axis=(1, 3)) * (rc**2).sum(axis=(1, 3)))
    corr = np.where(denom > 0, (lc * rc).sum(axis=(1, 3)) / np.maximum(denom, 1e-30), 0.0)
    z_corr = corr * np.sqrt(n)  # about N(0, 1) for a residual of independent noise
    failed = (np.abs(z_mean) > Z_LIMIT) | (np.abs(z_corr) > Z_LIMIT)
    out[:h, :w] = np.kron(failed, np.ones((window, window), bool))
    return out


def _planes(layout, count: int):
    """(sample, z) positions of up to ``count`` YX planes spread evenly over the image."""
    samples = int(np.prod(sample_shape(layout), dtype=np.int64))
    depth = spatial_shape(layout)[0] if layout.dims == 3 else 1
    total = samples * depth
    picks = np.unique(np.linspace(0, total - 1, min(count, total)).round().astype(int))
    return [divmod(int(p), depth) for p in picks]


def report(
    model, image, axes: str, denoised: np.ndarray | None = None, options: PredictOptions | None = None
) -> tuple[QualityReport, np.ndarray]:
    """The report on ``image`` denoised by ``model`` (``denoised``: the result, if already
    computed) and the residual-structure map (float32 0/1, the image's shape and axes)."""
    options = options or PredictOptions()
    if denoised is None:
        denoised = model.predict(image, axes, options)
    layout = make_layout(tuple(np.shape(image)), axes, model.dims)
    noisy_c, denoised_c = _canonical(image, layout), _canonical(denoised, layout)  # (S, C, [Z,] Y, X)
    channels = noisy_c.shape[1]
    picks = _planes(layout, NOISE_PLANES)
    noise = []
    for c in range(channels):
        found = [analyse_plane(_plane(noisy_c, s, c, z), _plane(denoised_c, s, c, z)) for s, z in picks]
        noise.append(combine_noise(found))
    structure = np.zeros(noisy_c.shape, bool)
    for s in range(noisy_c.shape[0]):
        for c in range(channels):
            for z in range(noisy_c.shape[2] if layout.dims == 3 else 1):
                target = (s, c, z) if layout.dims == 3 else (s, c)
                structure[target] = residual_structure(noisy_c[target], denoised_c[target], noise[c])
    fraction = float(structure.mean())
    inv = _d_f(model, image, layout, options)
    result = QualityReport(noise, fraction, inv.d if inv else None, inv.se if inv else None, inv.pixels if inv else 0)
    result.warnings = _warnings(result)
    return result, _to_input(structure.astype(np.float32), layout, np.shape(image))


def _canonical(image, layout) -> np.ndarray:
    from .axes import to_canonical

    return to_canonical(np.asarray(image, np.float32), layout)


def _to_input(canonical: np.ndarray, layout, shape) -> np.ndarray:
    """Inverse of :func:`_canonical`: back to the image's own axes order and shape."""
    ordered = canonical.reshape(tuple(layout.shape[i] for i in layout.order))
    return np.transpose(ordered, np.argsort(layout.order)).reshape(shape)


def _plane(canonical: np.ndarray, s: int, c: int, z: int) -> np.ndarray:
    return canonical[s, c, z] if canonical.ndim == 5 else canonical[s, c]


def combine_noise(found: list[ChannelNoise]) -> ChannelNoise:
    """One channel's noise over several planes (or images): RMS level, median fit and
    correlations, the planes' intensity bins pooled and the median fit's worst error against them."""
    sigma = float(np.sqrt(np.mean([n.sigma**2 for n in found])))
    fits = [n for n in found if n.gain is not None]
    gain = float(np.median([n.gain for n in fits])) if len(fits) * 2 > len(found) else None
    floor = float(np.median([n.floor for n in fits])) if gain is not None else None
    r2s = [n.fit_r2 for n in found if n.fit_r2 is not None]
    r2 = float(np.median(r2s)) if r2s else None
    acf = {}
    for axis, values in found[0].autocorrelation.items():
        acf[axis] = [float(np.median([n.autocorrelation[axis][k] for n in found])) for k in range(len(values))]
    intercept = float(np.median([n.intercept for n in fits if n.intercept is not None])) if gain is not None else None
    bins = _pool_bins(found)
    combined = ChannelNoise(sigma, gain, floor, r2, acf, intercept=intercept, bins=bins)
    if combined.camera is not None and bins:  # the combined fit against the pooled bins
        combined.fit_worst = worst_bin_error(bins["variance"], camera_variance(combined.camera, bins["intensity"]))
    return combined


def _pool_bins(found: list[ChannelNoise]) -> dict:
    """The planes' intensity bins pooled into as many (by intensity, equal counts): per bin the
    mean intensity and the median variance; one plane's bins unchanged."""
    points = sorted(p for n in found if n.bins for p in zip(n.bins["intensity"], n.bins["variance"], strict=True))
    if not points:
        return {}
    count = max(len(n.bins.get("intensity", [])) for n in found)
    groups = np.array_split(np.array(points, np.float64), count)
    return {
        "intensity": [float(g[:, 0].mean()) for g in groups],
        "variance": [float(np.median(g[:, 1])) for g in groups],
        "blocks": sum(int(n.bins.get("blocks", 0)) for n in found),
    }


def _d_f(model, image, layout, options: PredictOptions):
    """D(f) on up to 8 crops of ``D_CROP`` px (4 planes of ``D_CROP`` in 3D) of the image."""
    spatial = spatial_shape(layout)
    size = [min(D_CROP, s) // 4 * 4 for s in spatial]
    if layout.dims == 3:
        size[0] = min(spatial[0], 16) // 4 * 4
    if min(size) < 8:
        return None
    rng = np.random.default_rng(0)
    means, stds, _ = frame_stats(image, layout)
    samples = int(np.prod(sample_shape(layout), dtype=np.int64))
    crops = []
    for i in range(8):
        s = i % samples
        starts = [int(rng.integers(0, n - k + 1)) for n, k in zip(spatial, size, strict=True)]
        region = tuple(slice(a, a + k) for a, k in zip(starts, size, strict=True))
        crops.append(read_normalised(image, layout, s, region, means[s], stds[s]))
    run_tile = model.runner(options)

    def run(batch: np.ndarray) -> np.ndarray:
        return np.stack([run_tile(tile, False) for tile in batch])

    return invariance_statistics(run, np.stack(crops), repeats=8)


def _warnings(r: QualityReport) -> list[str]:
    out = []
    if r.noise_correlated:
        out.append(
            "the noise is correlated between neighbouring pixels (a detector's filter, demosaicing, "
            "an interpolation or a blur after acquisition): Noise2Same, like every self-supervised "
            "denoiser, takes the noise to be independent between pixels and leaves correlated noise "
            "in; denoise the raw data where there is any, or bin the image 2 x 2 first"
        )
    if r.residual_structure_fraction > WARN_FRACTION:
        out.append(
            f"the residual looks like structure in {r.residual_structure_fraction:.0%} of the image "
            "(see the residual-structure map): there the denoiser removed more than noise; train longer, "
            "or check those places in the noisy image"
        )
    if r.d_f is not None and r.d_f > 0.1:
        out.append(
            f"D(f) = {r.d_f:.3g}: the output follows each pixel's own noise strongly; train longer or "
            "with a larger lambda_inv"
        )
    return out
