"""A noise model given rather than fitted: a camera's calibration, or the engine's own fit kept.

The model is Poisson-Gaussian per channel, ``variance = gain * max(I - offset, 0) + read_noise**2``
(``offset``: the dark level, the camera's baseline, in the image's units).  It comes from dark
frames and flat fields (:func:`calibrate`), from the engine's fit of the image
(:func:`from_fit`, :mod:`.noise_model`), or from a JSON file (docs/quality.md, "The
noise-model file")::

    {"format": "noise2same-noise-model", "version": 1,
     "channels": [{"gain": 2.0, "offset": 100.0, "read_noise": 3.0}],
     "units": "ADU", "notes": "sCMOS, 10 ms, 2024-05-01"}

One channel applies to all the image's channels; otherwise one entry per channel.  Reading a
file only parses JSON and checks numbers: nothing in it is run.  Numpy only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import NoiseModelError
from .noise_model import ChannelNoise, tolerance, worst_bin_error

FORMAT, VERSION = "noise2same-noise-model", 1
KEYS = ("gain", "offset", "read_noise")
FIX = 'correct it as docs/quality.md describes ("The noise-model file"), or save the fitted model and edit that'
MAX_BYTES = 1 << 20  # a noise model is a few hundred bytes


@dataclass(frozen=True)
class PoissonGaussian:
    gain: float  # variance per unit of intensity above the offset (image units)
    offset: float = 0.0  # the dark level (camera baseline)
    read_noise: float = 0.0  # std of the noise at the dark level

    def variance(self, intensity) -> np.ndarray:
        above = np.maximum(np.asarray(intensity, np.float64) - self.offset, 0.0)
        return self.gain * above + self.read_noise**2

    def std(self, intensity) -> np.ndarray:
        return np.sqrt(self.variance(intensity))

    def to_dict(self) -> dict:
        return {"gain": float(self.gain), "offset": float(self.offset), "read_noise": float(self.read_noise)}


@dataclass
class NoiseModel:
    channels: list[PoissonGaussian]
    source: str = "fit"  # "fit" or "calibration: <file name>"
    units: str | None = None
    notes: str | None = None

    def variance(self, channel: int, intensity: np.ndarray) -> np.ndarray:
        """The noise variance of ``channel`` at ``intensity`` (the posterior's noise model)."""
        return self.channels[min(max(int(channel), 0), len(self.channels) - 1)].variance(intensity)

    def check_channels(self, channels: int) -> None:
        n = len(self.channels)
        if n != 1 and n != channels:
            raise NoiseModelError(
                f"the noise model ({self.source}) has {n} channels and the image {channels}: give one "
                f"channel (used for all) or one per channel ({channels})"
            )

    def to_dict(self) -> dict:
        out: dict = {"format": FORMAT, "version": VERSION}
        out["variance"] = "gain * max(intensity - offset, 0) + read_noise^2"
        out["channels"] = [c.to_dict() for c in self.channels]
        out.update({k: v for k, v in (("units", self.units), ("notes", self.notes)) if v is not None})
        return out

    @classmethod
    def from_dict(cls, data, source: str = "calibration", where: str | None = None) -> NoiseModel:
        """The model in ``data`` (parsed JSON), checked; NoiseModelError naming the fix otherwise
        (``where``: the model's name in the message)."""
        where = where or f"the noise model ({source})"
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise NoiseModelError(f'{where} is not a noise model: it needs "format": "{FORMAT}"; {FIX}')
        version = data.get("version")
        if isinstance(version, int) and not isinstance(version, bool) and version > VERSION:
            raise NoiseModelError(f"{where} is of version {version}, newer than this one reads ({VERSION}); upgrade")
        if isinstance(version, bool) or version != VERSION:
            raise NoiseModelError(f'{where} has "version": {_short(version)}; version {VERSION} is read; {FIX}')
        channels = data.get("channels")
        if not isinstance(channels, list) or not channels:
            raise NoiseModelError(f'{where} has no "channels" list (one {{gain, offset, read_noise}} each); {FIX}')
        found = [_channel(entry, i, where) for i, entry in enumerate(channels)]
        texts = {k: data[k] for k in ("units", "notes") if isinstance(data.get(k), str)}
        return cls(found, source, **texts)


def _channel(entry, i: int, where: str) -> PoissonGaussian:
    if not isinstance(entry, dict):
        raise NoiseModelError(f"{where}: channel {i} is {_short(entry)}, not {{gain, offset, read_noise}}; {FIX}")
    unknown = sorted(set(entry) - set(KEYS))
    if unknown:
        names = ", ".join(map(str, unknown))
        raise NoiseModelError(f"{where}: channel {i} has {names}; the keys are {', '.join(KEYS)}; {FIX}")
    values = []
    for key in KEYS:
        if key not in entry:
            raise NoiseModelError(f"{where}: channel {i} has no {key}; each channel needs {', '.join(KEYS)}; {FIX}")
        v = entry[key]
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)
        if not ok or (key != "offset" and v < 0):
            need = "a finite number" if key == "offset" else "a finite number of 0 or more"
            raise NoiseModelError(f"{where}: channel {i}'s {key} is {_short(v)}; give {need}; {FIX}")
        values.append(float(v))
    if values[0] == 0 and values[2] == 0:
        raise NoiseModelError(f"{where}: channel {i} has gain and read_noise 0 (no noise at all); {FIX}")
    return PoissonGaussian(*values)


def _short(value) -> str:
    text = json.dumps(value) if isinstance(value, (str, int, float, bool, type(None))) else type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."


def write_noise_model(path: str | os.PathLike, model: NoiseModel) -> Path:
    """Write ``model`` as JSON: to a temporary name in the same folder, then renamed over ``path``."""
    from ..atomic import atomic_write

    text = (json.dumps(model.to_dict(), indent=2) + "\n").encode("utf-8")

    def write(f) -> None:
        f.write(text)

    return atomic_write(Path(path), write)


def load_noise_model(path: str | os.PathLike, channels: int | None = None) -> NoiseModel:
    """The noise model in the JSON file ``path``, checked (against ``channels``, where given)."""
    path = Path(path)
    if path.is_dir():
        raise NoiseModelError(f"noise model {path} is a folder; give its .json file", path=path)
    if not path.is_file():
        raise NoiseModelError(f"noise model file {path} does not exist; check the path", path=path)
    if path.stat().st_size > MAX_BYTES:
        raise NoiseModelError(f"{path} is too large to be a noise model (over 1 MB); check the path", path=path)
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise NoiseModelError(f"noise model file {path} is not text (not JSON); check the path", path=path) from None
    except json.JSONDecodeError as e:
        raise NoiseModelError(
            f"noise model file {path} is not JSON ({e.msg}, line {e.lineno} column {e.colno}); {FIX}", path=path
        ) from None
    except RecursionError:
        raise NoiseModelError(
            f"noise model file {path} is nested too deeply to be a noise model; {FIX}", path=path
        ) from None
    except OSError as e:
        raise NoiseModelError(f"cannot read noise model file {path} ({e.strerror}); check it", path=path) from None
    try:
        model = NoiseModel.from_dict(data, f"calibration: {path.name}", f"noise model file {path}")
        if channels is not None:
            model.check_channels(channels)
    except NoiseModelError as e:
        raise NoiseModelError(e.message, path=path) from None
    return model


def calibrate(dark_frames, flat_series: Iterable) -> PoissonGaussian:
    """The Poisson-Gaussian model of a camera from a stack of dark frames (frames, Y, X) and flat
    fields at several intensities (each a stack of at least 2 frames, or one 4D array):
    the offset is the dark frames' mean and the read noise their temporal std; the gain is the
    slope of each flat's temporal variance against its mean, through the dark point (weighted
    by relative precision).  Flats must not saturate."""
    dark = np.asarray(dark_frames, np.float64)
    if dark.ndim < 3 or dark.shape[0] < 2:
        raise NoiseModelError(f"the dark frames are of shape {dark.shape}; give a stack of 2 or more (frames, Y, X)")
    offset, read_var = float(dark.mean()), float(dark.var(axis=0, ddof=1).mean())
    means, variances = [], []
    for k, flat in enumerate(flat_series):
        f = np.asarray(flat, np.float64)
        if f.ndim < 3 or f.shape[0] < 2:
            raise NoiseModelError(f"flat field {k} is of shape {f.shape}; give 2 or more frames at one intensity")
        means.append(float(f.mean()) - offset)
        variances.append(float(f.var(axis=0, ddof=1).mean()) - read_var)
        if means[-1] <= 0:
            raise NoiseModelError(f"flat field {k} is not brighter than the dark frames; give flats with more light")
    if not means:
        raise NoiseModelError("no flat fields: give flats at one or more intensities (better several)")
    x, y = np.array(means), np.array(variances)
    w = 1.0 / np.maximum(y + read_var, 1e-30) ** 2
    gain = float(np.sum(w * x * y) / np.sum(w * x * x))
    if not np.isfinite(gain) or gain <= 0:
        raise NoiseModelError("the flats' noise does not grow with their intensity; check the flats and dark frames")
    return PoissonGaussian(gain, offset, float(np.sqrt(read_var)))


def from_fit(noise: ChannelNoise) -> PoissonGaussian:
    """The engine's fit ``variance = gain * I + floor**2`` as a model: offset 0 and read noise
    ``floor``; where the fitted line's intercept is below 0 (a camera offset, which the image
    does not tell apart from read noise), the same line from the darkest intensity bin up and its
    variance there below (noise_model.camera_model).  Without a fit, the plane's one
    level (gain 0, read noise ``sigma``)."""
    found = noise.camera
    return PoissonGaussian(*found) if found is not None else PoissonGaussian(0.0, 0.0, float(noise.sigma))


def model_from_fit(noise: Sequence[ChannelNoise], notes: str | None = None, units: str | None = None) -> NoiseModel:
    return NoiseModel([from_fit(c) for c in noise], "fit", units, notes)


def explain(model: PoissonGaussian, bins: dict) -> dict:
    """How well ``model`` explains the noise measured by intensity bin (a ChannelNoise's ``bins``):
    per bin the measured and modelled variance and their ratio (None where the model has no
    noise), the worst relative error, and
    "good" where it is within the fit's tolerance (noise_model.tolerance), else "poor"."""
    xs, ys = np.asarray(bins.get("intensity", []), np.float64), np.asarray(bins.get("variance", []), np.float64)
    if not xs.size:
        return {"intensity": [], "measured": [], "model": [], "ratio": [], "worst": None, "verdict": "no bins"}
    predicted = model.variance(xs)
    worst = worst_bin_error(ys, predicted)
    limit = tolerance(int(bins.get("blocks", 0)), xs.size)
    out = {"intensity": xs, "measured": ys, "model": predicted}
    return {
        **{k: [float(v) for v in a] for k, a in out.items()},
        "ratio": [float(m / p) if p > 0 else None for m, p in zip(ys, predicted, strict=True)],
        "worst": worst,
        "tolerance": limit,
        "verdict": "good" if worst <= limit else "poor",
    }
