"""What the noise of an image looks like: its level per channel, how it grows with intensity
(a Poisson gain and a Gaussian floor where that model fits), and its spatial correlation.

All of it is measured on YX planes, without a model, from a high-pass residual that cancels
smooth structure (Immerkaer's Laplacian difference, as in :mod:`.noise`), or, where a
denoised image is given, from the residual ``noisy - denoised``.  Numpy only.

* Level: the RMS of the residual's local noise estimate over 16 x 16 blocks.
* Intensity: the blocks' noise variance against their mean intensity (of the denoised image
  where given, else of the noisy one smoothed), binned; ``variance = gain * I + floor**2``
  fitted by least squares.  The fit is reported where it explains at least half of the
  variance across bins and the gain is positive (Poisson-Gaussian noise), else not.
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


@dataclass
class ChannelNoise:
    sigma: float  # noise std in the image's units (RMS over blocks)
    gain: float | None = None  # Poisson-Gaussian fit: variance = gain * intensity + floor**2
    floor: float | None = None
    fit_r2: float | None = None
    autocorrelation: dict = field(default_factory=dict)  # of the residual: {"Y": [lag 1..LAGS], "X": [...]}
    lag_ratio: dict = field(default_factory=dict)  # noise.lag_ratio along Y and X (without a denoised image)

    @property
    def correlated(self) -> bool:
        if self.autocorrelation:
            return any(v[0] > CORRELATED_LAG1 for v in self.autocorrelation.values() if v)
        return any(v > CORRELATED for v in self.lag_ratio.values())

    def to_dict(self) -> dict:
        return {**asdict(self), "correlated": self.correlated}


def _blocks(a: np.ndarray, block: int = BLOCK) -> np.ndarray:
    h, w = a.shape[0] // block * block, a.shape[1] // block * block
    return a[:h, :w].reshape(h // block, block, w // block, block)


def intensity_fit(noisy: np.ndarray, reference: np.ndarray) -> tuple[float | None, float | None, float | None]:
    """(gain, floor, r2) of ``variance = gain * I + floor**2`` over blocks binned by intensity;
    (None, None, None) where the model does not fit (see the module's docstring)."""
    r = laplacian_residual(noisy)
    ref = np.asarray(reference, np.float64)[1:-1, 1:-1]
    var = (_blocks(r) ** 2).mean(axis=(1, 3)).ravel()
    mean = _blocks(ref).mean(axis=(1, 3)).ravel()
    if var.size < 2 * BINS:
        return None, None, None
    edges = np.quantile(mean, np.linspace(0, 1, BINS + 1))
    which = np.clip(np.searchsorted(edges, mean, side="right") - 1, 0, BINS - 1)
    # per bin: the median block variance (robust to blocks with structure), the mean intensity
    xs = np.array([mean[which == b].mean() for b in range(BINS) if np.any(which == b)])
    ys = np.array([np.median(var[which == b]) for b in range(BINS) if np.any(which == b)])
    if len(xs) < 4 or np.ptp(xs) <= 0:
        return None, None, None
    gain, offset = np.polyfit(xs, ys, 1)
    fitted = gain * xs + offset
    r2 = 1 - float(np.sum((ys - fitted) ** 2)) / max(float(np.sum((ys - ys.mean()) ** 2)), 1e-30)
    if gain <= 0 or r2 < 0.5:
        return None, None, float(r2)
    return float(gain), float(np.sqrt(max(offset, 0.0))), float(r2)


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
    sigma = plane_noise_std(noisy)
    reference = denoised if denoised is not None else _smooth(noisy)
    gain, floor, r2 = intensity_fit(noisy, reference)
    if denoised is None:  # no residual to correlate: the lag-2 / lag-1 test of noise.py
        ratios = {"Y": lag_ratio(noisy, 0), "X": lag_ratio(noisy, 1)}
        return ChannelNoise(float(sigma), gain, floor, r2, {}, ratios)
    acf = autocorrelation(noisy - np.asarray(denoised, np.float64), denoised)
    return ChannelNoise(float(sigma), gain, floor, r2, acf)


def sigma_at(noise: ChannelNoise, intensity: np.ndarray) -> np.ndarray:
    """The noise std expected at ``intensity``: the Poisson-Gaussian fit where there is one,
    else the one level for the whole plane."""
    if noise.gain is None or noise.floor is None:
        return np.full(np.shape(intensity), noise.sigma, np.float64)
    return np.sqrt(np.maximum(noise.gain * np.asarray(intensity, np.float64) + noise.floor**2, 0.0))
