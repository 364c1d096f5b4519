"""Does a histogram noise model (as in Probabilistic Noise2Void) explain real noise better than
the Poisson-Gaussian model the engine fits?

Each dataset gives pairs per pixel: a signal ``s`` (a clean or averaged image) and an observed
noisy value ``y``.  The pixels are split at random (seed 0) into a fit half and a held-out half.
On the fit half:

* Poisson-Gaussian (pairs): ``y ~ Normal(s, gain max(s - offset, 0) + read_noise^2)``, fitted by
  least squares (relative) over 64 equal-count signal bins of the variance of ``y - s``;
* Poisson-Gaussian (engine): the engine's own fit of the noisy image against the signal
  (``analyse_plane``, as a model through ``noise_calibration.from_fit``): no pairs needed, two
  numbers; it sees every pixel's noise, not only the fit half's;
* Gaussian, binned: per signal bin (64, equal counts) the mean and variance of ``y`` in the fit
  half, no parametric form: the most a Gaussian, variance-only noise model could explain;
* histogram: ``p(y | s)`` from a 2D histogram of the fit pairs, signal in equal-count bins,
  observation in bins of 1 (integer data) or 1/256 of the range (float data), each count plus
  ``alpha``.  The signal bins (16, 32, 64, 128) and ``alpha`` (0.01, 0.1, 1) are chosen on a
  split of the fit half, then the histogram is built on the whole fit half.

Scored on the held-out half: the mean negative log-likelihood per pixel in nats.  For integer
data (FMD's uint8, the TIRF camera's counts) it is the probability of the observed integer: for
the Gaussians the mass over ``[y - 0.5, y + 0.5]`` (at uint8's 0 and 255, the clipped tail), for
the histogram its bin's mass over its width; for float data, densities.  Lower is better; a
difference of 0.01 nats per pixel is a likelihood ratio of e^0.01 per pixel.

    OMP_NUM_THREADS=1 python benchmarks/noise_model_fit.py [--json out.json]

Datasets (../shared/data, skipped where absent): FMD confocal (one real frame against the
50-frame mean), TIRF 200 Hz (each of 20 real sCMOS frames against the mean of the other 19),
and a control whose noise is Poisson-Gaussian by construction (FMD's mean, 20 photons for 255,
read noise 0.05 of 255, float).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.special import log_ndtr, ndtr

sys.path.insert(0, str(Path(__file__).parent))
from shared_data import DATA, fmd_pair

from napari_noise2same.engine.noise_calibration import from_fit
from napari_noise2same.engine.noise_model import analyse_plane
from napari_noise2same.engine.quality import combine_noise

SIGNAL_BINS, ALPHAS = (16, 32, 64, 128), (0.01, 0.1, 1.0)


@dataclass
class Pairs:
    name: str
    signal: np.ndarray  # flat, float64
    observed: np.ndarray
    integer: bool
    clip: tuple[float, float] | None  # the data's clipping limits, where it has them
    engine_variance: np.ndarray  # the engine's fit's variance at each pixel's signal
    engine: dict  # the engine's fit: gain, offset, read_noise, its verdict and worst bin error


def engine_fit(noise) -> tuple:
    """The engine's fit as a model, and what the report says of it."""
    model = from_fit(noise)
    return model, {**model.to_dict(), "verdict": noise.fit_verdict, "worst": noise.fit_worst, "r2": noise.fit_r2}


def fmd() -> Pairs | None:
    pair = fmd_pair()
    if pair is None:
        return None
    noisy, clean = (a.astype(np.float64) for a in pair)
    model, said = engine_fit(analyse_plane(noisy, clean))
    variance = model.variance(clean).ravel()
    return Pairs("FMD confocal (real)", clean.ravel(), noisy.ravel(), True, (0.0, 255.0), variance, said)


def tirf() -> Pairs | None:
    path = DATA / "tirf_microtubules" / "TIRF_200Hz.tif"
    if not path.is_file():
        return None
    import tifffile

    frames = tifffile.imread(path).astype(np.float64)
    signal = (frames.sum(axis=0, keepdims=True) - frames) / (len(frames) - 1)  # the other frames' mean
    model, said = engine_fit(combine_noise([analyse_plane(f, s) for f, s in zip(frames, signal, strict=True)]))
    variance = model.variance(signal).ravel()
    return Pairs("TIRF 200 Hz (real sCMOS)", signal.ravel(), frames.ravel(), True, None, variance, said)


def control() -> Pairs | None:
    pair = fmd_pair()
    if pair is None:
        return None
    from napari_noise2same.examples import poisson_gaussian

    clean = pair[1].astype(np.float64)
    noisy = poisson_gaussian(clean / 255.0, photons=20.0, read_sigma=0.05, seed=0).astype(np.float64) * 255.0
    model, said = engine_fit(analyse_plane(noisy, clean))
    variance = model.variance(clean).ravel()
    return Pairs("FMD mean + Poisson-Gaussian (control)", clean.ravel(), noisy.ravel(), False, None, variance, said)


def gaussian_nll(y, mu, var, integer: bool, clip) -> np.ndarray:
    sd = np.sqrt(np.maximum(var, 1e-6))
    if not integer:
        return 0.5 * np.log(2 * np.pi * sd**2) + 0.5 * ((y - mu) / sd) ** 2
    hi, lo = (y + 0.5 - mu) / sd, (y - 0.5 - mu) / sd
    mass = ndtr(hi) - ndtr(lo)
    if clip is not None:
        mass = np.where(y <= clip[0], ndtr(hi), mass)
        mass = np.where(y >= clip[1], 1 - ndtr(lo), mass)
    # far in a tail the difference of two ndtr underflows: the log of the upper end's density there
    tail = log_ndtr(-np.abs(np.where(np.abs(lo) < np.abs(hi), lo, hi))) - np.log(np.abs(hi - lo) + 1e-300)
    return -np.where(mass > 1e-300, np.log(np.maximum(mass, 1e-300)), tail)


def pg_pairs(s, y, bins: int = 64) -> tuple[float, float, float]:
    """(gain, offset, read_noise) of ``gain * max(s - offset, 0) + read_noise**2`` over equal-count
    signal bins of the variance of ``y - s``: for each bin's signal as the offset, gain and read
    noise by least squares relative to the variance (nonnegative); the offset of the least error."""
    edges = np.unique(np.quantile(s, np.linspace(0, 1, bins + 1)))
    which = np.clip(np.searchsorted(edges, s, side="right") - 1, 0, len(edges) - 2)
    xs = np.array([s[which == b].mean() for b in range(len(edges) - 1) if np.any(which == b)])
    vs = np.array([np.var(y[which == b] - s[which == b]) for b in range(len(edges) - 1) if np.any(which == b)])
    best = (np.inf, 0.0, 0.0, 0.0)
    for offset in [xs.min() - 1.0, *xs]:
        design = np.stack([np.maximum(xs - offset, 0.0), np.ones_like(xs)], axis=1) / vs[:, None]
        (gain, read_var), *_ = np.linalg.lstsq(design, np.ones_like(xs), rcond=None)
        gain, read_var = max(gain, 0.0), max(read_var, 1e-6)
        error = float(np.sum((design @ [gain, read_var] - 1) ** 2))
        if error < best[0]:
            best = (error, float(gain), float(offset), float(np.sqrt(read_var)))
    return best[1:]


def binned_gaussian(s_f, y_f, s_h, bins: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Per held-out pixel the mean and variance of ``y`` in its signal bin of the fit half: a
    Gaussian with no parametric form, what a variance-only (Gaussian) posterior could use at best."""
    edges = np.unique(np.quantile(s_f, np.linspace(0, 1, bins + 1)))
    n = len(edges) - 1
    which_f = np.clip(np.searchsorted(edges, s_f, side="right") - 1, 0, n - 1)
    which_h = np.clip(np.searchsorted(edges, s_h, side="right") - 1, 0, n - 1)
    bias = np.array([np.mean(y_f[which_f == b] - s_f[which_f == b]) for b in range(n)])
    var = np.array([np.var(y_f[which_f == b] - s_f[which_f == b]) for b in range(n)])
    return s_h + bias[which_h], var[which_h]


class Histogram:
    def __init__(self, s, y, signal_bins: int, alpha: float, integer: bool):
        self.s_edges = np.unique(np.quantile(s, np.linspace(0, 1, signal_bins + 1)))
        lo, hi = float(y.min()), float(y.max())
        self.width = 1.0 if integer else (hi - lo) / 256
        self.y0 = lo - 0.5 if integer else lo
        self.n_y = int(np.ceil((hi - self.y0) / self.width)) + 1
        counts = np.zeros((len(self.s_edges) - 1, self.n_y))
        np.add.at(counts, (self._row(s), self._col(y)), 1.0)
        counts += alpha
        self.log_p = np.log(counts / counts.sum(axis=1, keepdims=True) / self.width)

    def _row(self, s):
        return np.clip(np.searchsorted(self.s_edges, s, side="right") - 1, 0, len(self.s_edges) - 2)

    def _col(self, y):
        return np.clip(((y - self.y0) / self.width).astype(np.int64), 0, self.n_y - 1)

    def nll(self, s, y) -> np.ndarray:
        return -self.log_p[self._row(s), self._col(y)]


def evaluate(p: Pairs, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    fit = rng.random(p.signal.size) < 0.5
    s_f, y_f, s_h, y_h = p.signal[fit], p.observed[fit], p.signal[~fit], p.observed[~fit]
    gain, offset, read = pg_pairs(s_f, y_f)
    pg = gaussian_nll(y_h, s_h, gain * np.maximum(s_h - offset, 0) + read**2, p.integer, p.clip)
    engine = gaussian_nll(y_h, s_h, p.engine_variance[~fit], p.integer, p.clip)
    binned = gaussian_nll(y_h, *binned_gaussian(s_f, y_f, s_h), p.integer, p.clip)
    inner = rng.random(s_f.size) < 0.5  # choose the histogram's settings within the fit half
    scores = {
        (k, al): float(Histogram(s_f[inner], y_f[inner], k, al, p.integer).nll(s_f[~inner], y_f[~inner]).mean())
        for k in SIGNAL_BINS
        for al in ALPHAS
    }
    k, al = min(scores, key=scores.__getitem__)
    hist = Histogram(s_f, y_f, k, al, p.integer).nll(s_h, y_h)
    d = hist - pg
    thirds = np.clip(np.searchsorted(np.quantile(s_h, [1 / 3, 2 / 3]), s_h), 0, 2)
    return {
        "dataset": p.name,
        "held_out_pixels": int(s_h.size),
        "pg_pairs": {"gain": gain, "offset": offset, "read_noise": read, "nll": float(pg.mean())},
        "pg_engine": float(engine.mean()),
        "engine_fit": p.engine,
        "gaussian_binned": float(binned.mean()),
        "histogram": {"signal_bins": k, "alpha": al, "nll": float(hist.mean())},
        "histogram_minus_pg": float(d.mean()),
        "histogram_minus_pg_se": float(d.std() / np.sqrt(d.size)),
        "histogram_minus_pg_by_signal_third": [float(d[thirds == t].mean()) for t in range(3)],
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="also write the results as JSON")
    args = ap.parse_args(argv)
    results = []
    for make in (fmd, tirf, control):
        pairs = make()
        if pairs is None:
            print(f"skipped {make.__name__}: its data is not under {DATA}", file=sys.stderr)
            continue
        results.append(evaluate(pairs))
    if not results:
        print(f"no data under {DATA}: nothing measured (see ../shared/README.md)")
        return 0
    print("held-out negative log-likelihood per pixel (nats; lower is better)")
    heads = ("pixels", "PG pairs", "PG engine", "Gauss bin", "histogram", "hist - PG pairs", "dark/mid/bright thirds")
    widths = (8, 9, 9, 9, 9, 17, 24)
    print(f"{'dataset':38s} " + " ".join(f"{h:>{w}s}" for h, w in zip(heads, widths, strict=True)))
    for r in results:
        h, d, se = r["histogram"], r["histogram_minus_pg"], r["histogram_minus_pg_se"]
        thirds = "/".join(f"{v:+.3f}" for v in r["histogram_minus_pg_by_signal_third"])
        print(
            f"{r['dataset']:38s} {r['held_out_pixels']:8d} {r['pg_pairs']['nll']:9.4f} {r['pg_engine']:9.4f} "
            f"{r['gaussian_binned']:9.4f} {h['nll']:9.4f} {d:+10.4f}±{se:.4f} {thirds:>24s}"
            f"   (histogram: {h['signal_bins']} signal bins, alpha {h['alpha']:g})"
        )
    print("the engine's fit (noise2same report, from the noisy image and the signal alone):")
    for r in results:
        e = r["engine_fit"]
        print(
            f"  {r['dataset']:38s} gain {e['gain']:.4g}, offset {e['offset']:.4g}, read noise {e['read_noise']:.4g};"
            f" R2 {e['r2']:.3f}, worst bin {e['worst']:.0%}: {e['verdict']}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
