"""The paper's J-invariance measure D(f) (Xie et al. 2020, eq. 5), with its standard error.

D(f) is the mean squared change of the normalised output at a pixel when that pixel's input
is replaced by Gaussian noise (sigma 0.5).  A blind-spot network has D = 0; a Noise2Same
network is allowed some dependence on its own pixel, and D shows how much it took.

The replaced pixels lie on a grid of spacing ``SPACING`` (more than twice the receptive
radius) at a random offset per draw, so no replaced pixel reaches another's output and each
one is an independent sample: ``repeats`` draws over the validation patches (32 of 64 x 64)
give about 1,000 pixels, and the standard error is their spread over the square root of
their number (the earlier estimate took about 100 pixels and had none).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .geometry import HALO

#: distance between replaced pixels: an output pixel sees at most RECEPTIVE_RADIUS (22) away
SPACING = 2 * HALO


@dataclass(frozen=True)
class Invariance:
    d: float  # D(f)
    se: float  # its standard error
    pixels: int  # how many replaced pixels it is the mean of


def invariance_statistics(
    run: Callable[[np.ndarray], np.ndarray],
    patches: np.ndarray,
    sigma: float = 0.5,
    repeats: int = 16,
    seed: int = 0,
) -> Invariance:
    """D(f) of ``run`` (normalised (N, C, *spatial) in, the same out) on ``patches``."""
    x = np.asarray(patches, np.float32)
    rng = np.random.default_rng(seed)
    reference = run(x)
    spatial = x.shape[2:]
    changes = []
    for _ in range(repeats):
        masked = x.copy()
        points: list[tuple[Any, ...]] = []
        for n in range(x.shape[0]):
            offsets = [int(rng.integers(min(SPACING, s))) for s in spatial]
            grid = np.meshgrid(
                *[np.arange(o, s, SPACING) for o, s in zip(offsets, spatial, strict=True)], indexing="ij"
            )
            where = tuple(g.ravel() for g in grid)
            index: tuple[Any, ...] = (n, slice(None), *where)
            masked[index] = rng.normal(0.0, sigma, masked[index].shape)
            points.append(index)
        changed = run(masked)
        for index in points:  # (sample, :, grid...) indexes as (points, channels): mean over the channels
            changes.append(((changed[index] - reference[index]) ** 2).mean(axis=-1).ravel())
    values = np.concatenate(changes).astype(np.float64)
    se = float(values.std(ddof=1) / np.sqrt(values.size)) if values.size > 1 else float("nan")
    return Invariance(float(values.mean()), se, int(values.size))


def torch_run(net, device="cpu") -> Callable[[np.ndarray], np.ndarray]:
    """``run`` for :func:`invariance_statistics` from a torch network (eval mode, no gradients)."""
    import torch

    def run(batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return net(torch.from_numpy(batch).to(device)).float().cpu().numpy()

    return run


def invariance_measure(
    net, patches: np.ndarray, device="cpu", sigma: float = 0.5, repeats: int = 16, seed: int = 0
) -> float:
    """D(f) of a torch network (see :func:`invariance_statistics` for the standard error too)."""
    was_training = net.training
    net.eval()
    try:
        return invariance_statistics(torch_run(net, device), patches, sigma, repeats, seed).d
    finally:
        net.train(was_training)
