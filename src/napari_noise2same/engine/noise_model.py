"""What the noise of an image looks like: its level per channel, how it grows with intensity
(a Poisson gain and a Gaussian floor where that model fits), and its spatial correlation.

All of it is measured on YX planes, without a model, from a high-pass residual that cancels
smooth structure (Immerkaer's Laplacian difference, as in :mod:`.noise`), or, where a
denoised image is given, from the residual ``noisy - denoised``.  Numpy only.

* Level: the RMS of the residual's local noise estimate over 16 x 16 blocks.
* Intensity: the blocks' noise variance against their mean intensity (of the denoised image
  where given, else of the noisy one smoothed), binned; ``variance = gain * I + floor**2``
  fitted by least squares.  The fit is reported where it explains at least half of the
  variance across bins and the gain is positive (Poisson-Gaussian noise), else not.  Its
  fit as a Poisson-Gaussian model is :func:`camera_model` (the line; a negative intercept,
  a camera offset, read as the line from the darkest bin up and its variance there below).
  Its verdict: "good" where no bin is further (relative) from that model than
  :func:`tolerance`, "poor" otherwise, "no fit" where there is no fit.
* Correlation: the autocorrelation of the residual at lags 1 to 4 along Y and X, in the
  flattest quarter of the blocks (so structure left in the residual does not count).  White
  noise gives about 0 at every lag; noise blurred by a detector, demosaicing or an
  interpolation gives 0.3 and more at lag 1.  Blind-spot methods and Noise2Same take the
  noise to be independent between pixels: correlated noise survives denoising.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from .noise import BLOCK, CORRELATED, lag_ratio, laplacian_residual, plane_noise_std

LAGS = 4
#: lag-1 autocorrelation of the residual above which the noise counts as correlated
#: (benchmarks/quality_checks.py, docs/quality.md): white noise on FMD and Set12 gives -0.05 to
#: 0.01 against the clean image and -0.15 to 0.01 against a trained model's output (a denoiser
#: leaves neighbours slightly anti-correlated); blurred by [1, 2, 1] / 4 along X, 0.66-0.68;
#: by a Gaussian of 0.5 px, 0.25-0.30
CORRELATED_LAG1 = 0.15
BINS = 12
#: a Poisson-Gaussian fit counts as good where no bin is further from it (relative) than
#: ``GOOD_WORST`` plus the bins' sampling error, ``SAMPLING / sqrt(blocks per bin)``: for exact
#: Poisson-Gaussian noise the worst bin read up to 0.32, 0.14 and 0.07 on 128, 256 and 512 px
#: images (limits 0.45, 0.29, 0.22); FMD's real noise 0.21 against its 50-frame mean (limit
#: 0.22), noise of std proportional to intensity 1.7-3.0 on 256 and 512 px (docs/quality.md).
#: R2 itself counts only as for the fit (0.5): on 128 px exact Poisson-Gaussian noise gave 0.70
GOOD_R2, GOOD_WORST, SAMPLING = 0.5, 0.15, 0.6


@dataclass
class ChannelNoise:
    sigma: float  # noise std in the image's units (RMS over blocks)
    gain: float | None = None  # Poisson-Gaussian fit: variance = gain * intensity + floor**2
    floor: float | None = None
    fit_r2: float | None = None
    autocorrelation: dict = field(default_factory=dict)  # of the residual: {"Y": [lag 1..LAGS], "X": [...]}
    lag_ratio: dict = field(default_factory=dict)  # noise.lag_ratio along Y and X (without a denoised image)
    #: the fitted line's variance at intensity 0 (floor**2 where >= 0; below 0: a camera offset)
    intercept: float | None = None
    #: the Poisson-Gaussian fit's largest relative error over the intensity bins (None: no fit)
    fit_worst: float | None = None
    #: the measured noise by intensity: {"intensity": [per bin], "variance": [per bin], "blocks": n}
    bins: dict = field(default_factory=dict)

    @property
    def fit_verdict(self) -> str:
        """How well the Poisson-Gaussian fit explains the bins: "good", "poor" or "no fit"."""
        return verdict(self.fit_r2, self.fit_worst, self.fit_tolerance) if self.gain is not None else "no fit"

    @property
    def camera(self) -> tuple[float, float, float] | None:
        """The fit as ``(gain, offset, read_noise)`` (:func:`camera_model`); None without a fit."""
        if self.gain is None:
            return None
        intercept = self.intercept if self.intercept is not None else (self.floor or 0.0) ** 2
        return camera_model(self.gain, intercept, darkest_bin(self.bins))

    @property
    def fit_tolerance(self) -> float | None:
        """The largest relative bin error of a good fit here (see :func:`tolerance`)."""
        return tolerance(self.bins["blocks"], len(self.bins["intensity"])) if self.bins.get("blocks") else None

    @property
    def correlated(self) -> bool:
        if self.autocorrelation:
            return any(v[0] > CORRELATED_LAG1 for v in self.autocorrelation.values() if v)
        return any(v > CORRELATED for v in self.lag_ratio.values())

    def to_dict(self) -> dict:
        extra = {"fit_verdict": self.fit_verdict, "fit_tolerance": self.fit_tolerance}
        return {**asdict(self), "correlated": self.correlated, **extra}


def _blocks(a: np.ndarray, block: int = BLOCK) -> np.ndarray:
    h, w = a.shape[0] // block * block, a.shape[1] // block * block
    return a[:h, :w].reshape(h // block, block, w // block, block)


def block_statistics(noisy: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean intensity of ``reference``, noise variance of ``noisy``) per 16 x 16 block, ravelled."""
    r = laplacian_residual(noisy)
    ref = np.asarray(reference, np.float64)[1:-1, 1:-1]
    return _blocks(ref).mean(axis=(1, 3)).ravel(), (_blocks(r) ** 2).mean(axis=(1, 3)).ravel()


def intensity_bins(mean: np.ndarray, var: np.ndarray, bins: int = BINS) -> tuple[np.ndarray, np.ndarray] | None:
    """Blocks binned by intensity (equal counts): per bin the mean intensity and the median block
    variance (robust to blocks with structure); None where there are too few blocks or bins."""
    if var.size < 2 * bins:
        return None
    edges = np.quantile(mean, np.linspace(0, 1, bins + 1))
    which = np.clip(np.searchsorted(edges, mean, side="right") - 1, 0, bins - 1)
    xs = np.array([mean[which == b].mean() for b in range(bins) if np.any(which == b)])
    ys = np.array([np.median(var[which == b]) for b in range(bins) if np.any(which == b)])
    if len(xs) < 4 or np.ptp(xs) <= 0:
        return None
    return xs, ys


def line_fit(xs: np.ndarray, ys: np.ndarray) -> tuple[float, float, float]:
    """(slope, intercept, r2) of the least-squares line through the bins."""
    gain, offset = np.polyfit(xs, ys, 1)
    fitted = gain * xs + offset
    r2 = 1 - float(np.sum((ys - fitted) ** 2)) / max(float(np.sum((ys - ys.mean()) ** 2)), 1e-30)
    return float(gain), float(offset), float(r2)


def camera_model(gain: float, intercept: float, darkest: tuple[float, float]) -> tuple[float, float, float]:
    """``(gain, offset, read_noise)`` of ``variance = gain * max(I - offset, 0) + read_noise**2``
    for the fitted line ``gain * I + intercept``: offset 0 and read noise ``sqrt(intercept)``
    where the intercept is 0 or more.  Below 0 (an image with a camera offset, which the image
    alone does not tell apart from read noise): the line from the darkest bin up, and below it
    the line's variance there (where that is not above 0, the variance measured there), so the
    noise of the darkest pixels is never taken for 0.  ``darkest``: that bin's (intensity,
    measured variance)."""
    if intercept >= 0:
        return float(gain), 0.0, float(np.sqrt(intercept))
    floor = gain * darkest[0] + intercept
    if floor <= 0:
        floor = max(float(darkest[1]), 0.0)
    return float(gain), float((floor - intercept) / gain), float(np.sqrt(floor))


def darkest_bin(bins: dict) -> tuple[float, float]:
    """(intensity, variance) of the darkest of ``bins`` ((0, 0) without any)."""
    xs = bins.get("intensity") or []
    if not xs:
        return 0.0, 0.0
    k = int(np.argmin(xs))
    return float(xs[k]), float(bins["variance"][k])


def camera_variance(model: tuple[float, float, float], intensity) -> np.ndarray:
    gain, offset, read_noise = model
    return gain * np.maximum(np.asarray(intensity, np.float64) - offset, 0.0) + read_noise**2


def worst_bin_error(ys: np.ndarray, predicted: np.ndarray) -> float:
    """The largest |measured - predicted| / predicted over the bins (at most 10: a tenth of the
    measured is the least scale): how far a noise model is from the noise measured at its
    worst intensity."""
    ys, predicted = np.asarray(ys, np.float64), np.asarray(predicted, np.float64)
    scale = np.maximum(predicted, np.maximum(0.1 * np.abs(ys), 1e-30))
    return float(np.max(np.abs(ys - predicted) / scale))


def tolerance(blocks: int, bins: int = BINS) -> float:
    """The largest relative bin error a good noise model may show where ``blocks`` blocks were
    binned into ``bins``: ``GOOD_WORST`` plus the bins' own sampling error."""
    return GOOD_WORST + SAMPLING * float(np.sqrt(bins / max(blocks, 1)))


def verdict(r2: float | None, worst: float | None, limit: float | None) -> str:
    """A fit's verdict, "good", "poor" or "no fit" (``limit``: :func:`tolerance`)."""
    if r2 is None or worst is None or limit is None:
        return "no fit"
    return "good" if r2 >= GOOD_R2 and worst <= limit else "poor"


def intensity_fit(noisy: np.ndarray, reference: np.ndarray) -> tuple[float | None, float | None, float | None]:
    """(gain, floor, r2) of ``variance = gain * I + floor**2`` over blocks binned by intensity;
    (None, None, None) where the model does not fit (see the module's docstring)."""
    found = intensity_bins(*block_statistics(noisy, reference))
    if found is None:
        return None, None, None
    gain, offset, r2 = line_fit(*found)
    if gain <= 0 or r2 < 0.5:
        return None, None, r2
    return gain, float(np.sqrt(max(offset, 0.0))), r2


def autocorrelation(residual: np.ndarray, structure: np.ndarray | None = None, lags: int = LAGS) -> dict:
    """Normalised autocorrelation of ``residual`` at lags 1..``lags`` along Y and X, over the
    flattest quarter of the 16 x 16 blocks of ``structure`` (the residual itself where None)."""
    r = np.asarray(residual, np.float64)
    source = np.asarray(structure if structure is not None else residual, np.float64)
    g = np.hypot(*np.gradient(_smooth(source)))
    blocks_g = _blocks(g).mean(axis=(1, 3)).ravel()
    rb = _blocks(r)
    nby, nbx = rb.shape[0], rb.shape[2]
    if nby * nbx == 0:
        return {"Y": [], "X": []}
    flat = np.argsort(blocks_g)[: max(1, blocks_g.size // 4)]
    out = {}
    for axis, name in ((0, "Y"), (1, "X")):
        values = []
        for lag in range(1, lags + 1):
            num = den = 0.0
            for k in flat:
                by, bx = divmod(int(k), nbx)
                blk = rb[by, :, bx, :]
                blk = blk - blk.mean()
                a = blk[lag:, :] if axis == 0 else blk[:, lag:]
                b = blk[:-lag, :] if axis == 0 else blk[:, :-lag]
                num += float(np.sum(a * b))
                den += float(np.sum(blk * blk)) * a.size / blk.size
            values.append(num / den if den > 0 else 0.0)
        out[name] = [round(v, 4) for v in values]
    return out


def _smooth(x: np.ndarray) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(x, 2.0)


def analyse_plane(noisy: np.ndarray, denoised: np.ndarray | None = None) -> ChannelNoise:
    """The noise of one YX plane (see the module's docstring)."""
    noisy = np.asarray(noisy, np.float64)
    found = plane_level(noisy, denoised if denoised is not None else _smooth(noisy))
    if denoised is None:  # no residual to correlate: the lag-2 / lag-1 test of noise.py
        found.lag_ratio = {"Y": lag_ratio(noisy, 0), "X": lag_ratio(noisy, 1)}
    else:
        found.autocorrelation = autocorrelation(noisy - np.asarray(denoised, np.float64), denoised)
    return found


def plane_level(noisy: np.ndarray, reference: np.ndarray) -> ChannelNoise:
    """The level and the intensity fit of one YX plane's noise against ``reference``, without
    its correlation (what :func:`sigma_at` needs, e.g. for the posterior on every plane)."""
    noisy = np.asarray(noisy, np.float64)
    gain, floor, r2, more = _fit_plane(noisy, reference)
    return ChannelNoise(float(plane_noise_std(noisy)), gain, floor, r2, **more)


def _fit_plane(noisy: np.ndarray, reference: np.ndarray) -> tuple[float | None, float | None, float | None, dict]:
    """(gain, floor, r2) as :func:`intensity_fit` gives them, and the other fields of the fit
    (``intercept``, ``fit_worst``, ``bins``)."""
    mean, var = block_statistics(noisy, reference)
    found = intensity_bins(mean, var)
    if found is None:
        return None, None, None, {}
    xs, ys = found
    bins = {"intensity": [float(v) for v in xs], "variance": [float(v) for v in ys], "blocks": int(var.size)}
    gain, intercept, r2 = line_fit(xs, ys)
    if gain <= 0 or r2 < 0.5:
        return None, None, r2, {"bins": bins}
    model = camera_model(gain, intercept, darkest_bin(bins))
    worst = worst_bin_error(ys, camera_variance(model, xs))
    return gain, float(np.sqrt(max(intercept, 0.0))), r2, {"intercept": intercept, "fit_worst": worst, "bins": bins}


def sigma_at(noise: ChannelNoise, intensity: np.ndarray) -> np.ndarray:
    """The noise std expected at ``intensity``: the Poisson-Gaussian fit where there is one,
    else the one level for the whole plane."""
    if noise.gain is None or noise.floor is None:
        return np.full(np.shape(intensity), noise.sigma, np.float64)
    return np.sqrt(np.maximum(noise.gain * np.asarray(intensity, np.float64) + noise.floor**2, 0.0))
