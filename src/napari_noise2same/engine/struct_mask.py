"""Structured masking for noise that is correlated between neighbouring pixels.

Noise2Same (like Noise2Void) takes the noise to be independent from pixel to pixel: a masked
pixel's own noise cannot be predicted from its neighbours.  Where the noise is correlated (a
detector's filter along the scan line, demosaicing, a blur after acquisition, stripes), the
neighbours do carry part of it, the network learns to read it from them, and the correlated
noise survives denoising.  structN2V (Broaddus et al., ISBI 2020) masks, with each masked
pixel, its neighbours along the correlation; here the same is done for Noise2Same: every pixel
of J is replaced together with a footprint of ``H x W`` pixels centred on it (in the YX plane,
also for 3D data), while the invariance term is still taken over J itself.

The footprint comes from the noise's autocorrelation along Y and X, measured on the training
data without a model (:func:`noise_autocorrelation`): the residual of each plane against a
Gaussian smoothing of 3 px, in the flattest tenth of its 16 x 16 blocks (so that structure does
not pass for correlation), at lags 1 to ``MAX_HALF``, the median over random planes.  Over
three noise draws (benchmarks/struct_mask_autocorrelation.py, docs/training.md), white noise
gives -0.05 to +0.04 at lag 1 (FMD's real noise, FMD at 4 photons, Set12 at sigma 25 and 50, two
volumes); noise blurred by [1, 2, 1] / 4 along X 0.62-0.63 along X, by a 3 x 3 box 0.52-0.57
along both axes; column stripes 0.30-0.38 (FMD) and 0.13-0.15 (Set12) along Y at every lag.
Noise counts as correlated along an axis where lag 1 exceeds ``CORRELATED_LAG1``, or every lag
exceeds ``PERSISTENT`` (a pattern such as stripes, constant along the axis); the footprint then
reaches as many pixels along it as the consecutive lags whose autocorrelation is at least
``EXTENT_SHARE`` of lag 1's.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import torch

#: lag-1 autocorrelation above which the noise counts as correlated along an axis (white noise
#: measured at most 0.04, the weakest blur 0.52)
CORRELATED_LAG1 = 0.2
#: ... or an autocorrelation above this at every lag measured: a pattern constant along the axis
#: (column stripes half as strong as the white noise: 0.13-0.15 on Set12; white noise's lowest
#: lag is below 0.05)
PERSISTENT = 0.08
#: an axis's footprint reaches every consecutive lag whose autocorrelation is at least this share
#: of lag 1's: the strongly correlated neighbours (a share, not a level, so that the choice does
#: not flip with the estimate's scatter: [1, 2, 1] / 4 along X gives 0.16-0.21 at lag 2, a 3 x 3
#: box 0.23-0.38, stripes 0.98-1.0)
EXTENT_SHARE = 0.5
#: the farthest lag measured, and so the largest half-extent of an automatic footprint
MAX_HALF = 8
#: the largest footprint side a user may give
MAX_SIDE = 33
SMOOTH = 3.0  # px: the Gaussian whose residual is correlated
FLAT_SHARE = 0.1  # of the 16 x 16 blocks: the flattest, where the residual is the noise
SETTING_HELP = "auto, off, or a footprint HxW of odd sides in pixels (e.g. 1x5: five pixels along X)"


def parse(value: str) -> tuple[int, int] | str:
    """``"auto"``, ``"off"`` or ``(H, W)`` for a setting; ValueError naming the forms otherwise."""
    text = str(value).strip().lower()
    if text in ("auto", "off"):
        return text
    match = re.fullmatch(r"(\d+)\s*x\s*(\d+)", text)
    if match:
        h, w = int(match.group(1)), int(match.group(2))
        if h % 2 and w % 2 and 1 <= h <= MAX_SIDE and 1 <= w <= MAX_SIDE:
            return h, w
    raise ValueError(f"structured mask must be {SETTING_HELP}, with sides at most {MAX_SIDE}, not {value!r}")


def shape_text(shape: tuple[int, int] | None) -> str:
    return "off" if shape is None or tuple(shape) == (1, 1) else f"{shape[0]}x{shape[1]}"


def resolve(setting: str, replacement: str, planes) -> tuple[tuple[int, int] | None, dict]:
    """The footprint a run uses for ``setting`` (None: none) and a record of it for the model's
    summary; ``planes()`` gives the training planes that "auto" measures."""
    parsed = parse(setting)
    if parsed == "off":
        return None, {"struct_mask": "off", "reason": "off, as set"}
    if isinstance(parsed, tuple):
        shape = None if parsed == (1, 1) else parsed
        return shape, {"struct_mask": shape_text(shape), "reason": f"{shape_text(shape)}, as set"}
    if replacement != "gaussian":
        return None, {
            "struct_mask": "off",
            "reason": "off: the donut replacement reads the neighbours a mask would hide",
        }
    acf = noise_autocorrelation(planes())
    shape, why = choose(acf)
    return shape, {"struct_mask": shape_text(shape), "reason": why, "autocorrelation": acf}


def noise_autocorrelation(planes, lags: int = MAX_HALF) -> dict[str, list[float]]:
    """The noise's autocorrelation at lags 1..``lags`` along Y and X: the median over ``planes``
    (2D arrays, e.g. normalised training planes) of :func:`plane_autocorrelation`."""
    import numpy as np  # here, as torch in extend: the settings and the command line's help need neither

    found = [f for f in (plane_autocorrelation(p, lags) for p in planes) if f is not None]
    if not found:
        return {"Y": [0.0] * lags, "X": [0.0] * lags}
    return {a: [round(float(np.median([f[a][k] for f in found])), 4) for k in range(lags)] for a in ("Y", "X")}


def plane_autocorrelation(plane: np.ndarray, lags: int = MAX_HALF, block: int = 16) -> dict[str, list[float]] | None:
    """The autocorrelation of ``plane``'s residual against a Gaussian smoothing of ``SMOOTH`` px,
    in the flattest ``FLAT_SHARE`` of its blocks; None where the plane has no whole block."""
    import numpy as np
    from scipy.ndimage import gaussian_filter

    p = np.asarray(plane, np.float64)
    h, w = p.shape[0] // block * block, p.shape[1] // block * block
    if h < block or w < block or lags >= block:
        return None
    residual = p - gaussian_filter(p, SMOOTH)
    structure = np.hypot(*np.gradient(gaussian_filter(p, 2.0)))

    def blocks(a):  # (n, block, block)
        return a[:h, :w].reshape(h // block, block, w // block, block).transpose(0, 2, 1, 3).reshape(-1, block, block)

    flat = np.argsort(blocks(structure).mean(axis=(1, 2)))[: max(1, int(FLAT_SHARE * (h // block) * (w // block)))]
    r = blocks(residual)[flat]
    r = r - r.mean(axis=(1, 2), keepdims=True)
    power = float(np.sum(r * r)) / r[0].size
    if power <= 0:
        return None
    out = {}
    for axis, name in ((1, "Y"), (2, "X")):
        values = []
        for lag in range(1, lags + 1):
            a = r[:, lag:, :] if axis == 1 else r[:, :, lag:]
            b = r[:, :-lag, :] if axis == 1 else r[:, :, :-lag]
            values.append(float(np.sum(a * b)) / (a[0].size * power))
        out[name] = values
    return out


def choose(acf: dict[str, list[float]]) -> tuple[tuple[int, int] | None, str]:
    """(footprint H x W or None, reason) for the measured autocorrelation."""

    def half(values: list[float]) -> int:
        if not values or (values[0] <= CORRELATED_LAG1 and min(values) <= PERSISTENT):
            return 0
        n = 1
        while n < len(values) and values[n] >= EXTENT_SHARE * values[0]:
            n += 1
        return n

    hy, hx = half(acf.get("Y", [])), half(acf.get("X", []))
    lag1 = ", ".join(f"{a} {v[0]:.2f}" for a, v in acf.items() if v)
    if not hy and not hx:
        return None, f"off: the noise looks independent between pixels (lag-1 autocorrelation {lag1})"
    shape = (2 * hy + 1, 2 * hx + 1)
    return shape, (
        f"{shape_text(shape)}: the noise is correlated between neighbouring pixels (lag-1 autocorrelation "
        f"{lag1}), so each masked pixel is masked with its correlated neighbours"
    )


def extend(mask: torch.Tensor, shape: tuple[int, int] | None) -> torch.Tensor:
    """``mask`` (N, C, [Z,] Y, X of 0 and 1) with the footprint ``shape`` around every masked
    pixel (cut at the patch's edges); ``mask`` itself where ``shape`` is None or 1 x 1."""
    if shape is None or tuple(shape) == (1, 1):
        return mask
    import torch
    import torch.nn.functional as F

    dims = mask.ndim - 2
    kernel = torch.ones((mask.shape[1], 1) + (1,) * (dims - 2) + tuple(shape), device=mask.device, dtype=mask.dtype)
    pad = ((0,) if dims == 3 else ()) + (shape[0] // 2, shape[1] // 2)
    conv = F.conv2d if dims == 2 else F.conv3d
    return conv(mask, kernel, padding=pad, groups=mask.shape[1]).clamp_(max=1.0)
