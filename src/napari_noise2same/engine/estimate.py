"""Which estimate a trained model gives by default: the network's output (Noise2Same's) or the
noise-model posterior mean (engine/posterior.py), chosen at the end of training.

``auto`` runs both on a crop of the first training image and compares their mean squared
errors as Stein's unbiased risk estimate (SURE) tells them, without a clean image, under the
noise model (its Gaussian approximation, the variance of each pixel ``sigma_p^2``)::

    SURE(g) = mean((g - y)^2 - sigma_p^2 + 2 sigma_p^2 dg_p/dy_p)

The posterior mean's derivative is its weight ``s^2 / (s^2 + sigma_n^2)`` (the context
prediction does not see the pixel); the network's is estimated by one more prediction on the
input nudged along random noise (Monte Carlo SURE, Ramani et al. 2008).  The posterior is
taken where SURE puts it at least ``MIN_GAIN_DB`` ahead.  SURE holds for Gaussian noise whose
variance does not depend on the clean image: where the fitted variance varies across the crop
(Poisson noise: ``MAX_NOISE_SPREAD``), or where its estimates come out below 0 (the noise model
off, e.g. a real low-count frame), it does not apply and the network's output is kept: on
such data the posterior gained at most 0.16 dB, and SURE's figures went astray (-14 to +6.5 dB).
Measured (benchmarks/posterior_estimate.py, docs/quality.md): on Gaussian noise SURE's gain
within 0.1-0.2 dB of the true one, where the posterior's own account of its error (``std``)
overstated it by 0.4-0.9 dB.  The choice is recorded in the model file (``summary["estimate"]``)
and shown by ``noise2same info``.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from .arrays import read_block, sample_shape, spatial_shape
from .predict_options import ESTIMATES

#: SURE's gain (dB) from which auto takes the posterior: it costs about 9x the time
MIN_GAIN_DB = 0.3
#: SURE is used where the noise variance varies across the crop by at most this share of its
#: mean (standard deviation / mean): Gaussian noise gives 0 (Set12), Poisson-Gaussian microscopy
#: 0.68-1.07 (FMD, FMD at 4 photons, the FMD volume), where SURE went astray (-14 to +6.5 dB)
MAX_NOISE_SPREAD = 0.25
#: the crop of the first training image on which auto decides (3D: as many voxels as 2D has pixels)
CROP = {2: (512, 512), 3: (16, 128, 128)}


def choose_estimate(model, source, requested: str = "auto", noise_variance=None) -> dict:
    """What the model records as its estimate (``requested``: auto, n2s or posterior)."""
    if requested not in ESTIMATES:
        raise ConfigError(f"the estimate must be one of {', '.join(ESTIMATES)}, not {requested!r}")
    if requested == "n2s":
        return {"estimate": "n2s", "chosen_by": "hand"}
    from .posterior import PASSES

    crop = training_crop(source, model.dims)
    gain, why = sure_gain_db(model, crop, "C" + source.layout.spatial_axes, noise_variance)
    record: dict = {"sure_gain_db": None if gain is None else round(gain, 3), "passes": PASSES}
    record["crop"] = list(crop.shape[1:])
    if why:
        record["sure_not_used"] = why
    if requested == "posterior":
        return {"estimate": "posterior", "chosen_by": "hand", **record}
    chosen = "posterior" if gain is not None and gain >= MIN_GAIN_DB else "n2s"
    return {"estimate": chosen, "chosen_by": "auto", "min_gain_db": MIN_GAIN_DB, **record}


def sure_gain_db(model, image: np.ndarray, axes: str, noise_variance=None, seed: int = 0) -> tuple[float | None, str]:
    """How much lower (dB) SURE puts the posterior mean's error than the network's output's on
    ``image`` (see the module's docstring), or None and the reason where SURE does not apply."""
    from .posterior import posterior
    from .predict_options import PredictOptions

    plain = PredictOptions(engine="torch", estimate="n2s")
    y = np.asarray(image, np.float64)
    post = posterior(model, image, axes, noise_variance, seed=seed)
    var = post.noise.astype(np.float64) ** 2
    if not var.mean() > 0:
        return None, "no noise measured"
    spread = float(var.std() / var.mean())
    if spread > MAX_NOISE_SPREAD:
        return None, f"the noise depends on the signal (its variance varies by {spread:.2f} of its mean)"
    out = model.predict(image, axes, plain).astype(np.float64)
    probe = np.random.default_rng(seed).standard_normal(y.shape)
    step = 0.01 * float(np.sqrt(var.mean()))
    nudged = model.predict((y + step * probe).astype(np.float32), axes, plain).astype(np.float64)
    sure_out = np.mean((out - y) ** 2 - var + 2 * var * probe * (nudged - out) / step)
    sure_post = np.mean((post.mean - y) ** 2 - var + 2 * var * post.weight)
    if not (sure_out > 0 and sure_post > 0):
        return None, "its estimates came out below 0 (the noise model does not fit well enough)"
    return float(10 * np.log10(sure_out / sure_post)), ""


def training_crop(source, dims: int) -> np.ndarray:
    """The centre of the first sample of a training image (``CROP`` at most), (C, *spatial), image units."""
    sides = [(s, min(s, c)) for s, c in zip(spatial_shape(source.layout), CROP[dims], strict=True)]
    region = tuple(slice((s - n) // 2, (s - n) // 2 + n) for s, n in sides)
    first = next(np.ndindex(*sample_shape(source.layout)))
    return read_block(source.array, source.layout, first, region)


def describe(record: dict | None) -> str:
    """The recorded choice in words, for ``noise2same info`` and the Denoise widget."""
    if not record:
        return "the network's output (a model from before the posterior)"
    what = "the network's output"
    if record.get("estimate") == "posterior":
        what = f"the posterior mean ({record.get('passes')} masked passes)"
    if record.get("chosen_by") == "hand":
        return f"{what}, chosen by hand"
    gain = record.get("sure_gain_db")
    if gain is None:
        why = record.get("sure_not_used") or "it could not compare them"  # (older records had no reason)
        return f"{what}, chosen by auto: SURE does not apply here, {why}"
    ahead = "it" if record.get("estimate") == "posterior" else "the posterior"
    return f"{what}, chosen by auto: SURE puts {ahead} {gain:+.2f} dB ahead (from +{record.get('min_gain_db')} dB)"
