"""How noisy the training images are: the basis of ``lambda_inv="auto"``.

In Noise2Same's bound on the supervised loss (Xie, Wang, Ji 2020, Theorem 2) the
invariance term is weighted by ``2 sigma``, sigma the noise std in the network's
(standardised) units, and the paper's Sec. 5.2 trains with this 2-sigma form; the default
``lambda_inv = 2`` takes sigma = 1, the most a standardised image can have.  Estimating
sigma gives a tighter bound.  The bound pools the noise of all pixels, so the sigma it needs
is the noise's root mean square, also where the noise depends on the signal (Poisson).  The
estimate is built on Immerkaer's (1996) Laplacian-difference kernel, which cancels smooth
structure and, applied to white noise of std s, responds with std 6 s: the root mean square
of that response over 16 x 16 blocks (so their noise levels can be read one by one) and a
few planes of the training data, over 6.  Immerkaer's own statistic, the mean absolute
response times sqrt(pi / 2) / 6, takes the response to be Gaussian; photon-limited noise is
skewed and, in dark regions, mostly zero, and there that statistic read 0.72-0.94x the RMS
(sparse cells at 1-4 photons; FMD at 4 photons 0.94x, real FMD noise 0.94x), which put
lambda_inv below the bound's 2 sigma.  Measured (benchmarks/noise_estimate.py, docs/quality.md),
the RMS reads 0.99-1.04x on 13 images with Poisson noise at 4 and 30 photons and Gaussian
sigma 25-50, and 1.00x for FMD's real noise against its 50-frame mean.  Too small a
lambda_inv lets the network learn a little of the identity, more the longer it trains:
at 0.94x, a 30-minute run on FMD at 4 photons fell from 26.5 to 26.1 dB; at the RMS it rose to
26.8 (docs/training.md, "Very noisy inputs").

Immerkaer's estimator assumes white noise.  Noise correlated between neighbouring pixels
(a detector's filter, demosaicing, a blur after acquisition) has little power at the highest
frequencies, and the estimate falls far below the true level (0.43-0.56x for noise blurred by
[1, 2, 1] / 4 along X, 0.28-0.36x for a Gaussian blur of 0.7 px).  :func:`correlation` detects it:
for white noise, differences between pixels two apart spread as much as differences between
neighbours; correlated noise makes the first larger.
"""

from __future__ import annotations

import numpy as np

PLANES = 16  # YX planes read for the estimate
BLOCK = 16  # side of the blocks whose noise levels are combined as a root mean square
#: lag-2 / lag-1 spread of pixel differences above which noise counts as correlated. Over FMD
#: and the 12 Set12 images (benchmarks/noise_estimate.py, docs/quality.md): white Gaussian or
#: Poisson noise 0.98-1.10 (medians 1.00-1.02; one textured Set12 image at sigma 10 of 255
#: reaches 1.24), noise blurred by a Gaussian of 0.5 px 1.13-1.22, of 0.7 px 1.36-1.47, by
#: [1, 2, 1] / 4 along X up to 1.58 along X
CORRELATED = 1.12


def laplacian_residual(plane: np.ndarray) -> np.ndarray:
    """Immerkaer's Laplacian-difference response over 6 (the kernel's norm,
    sqrt(1+4+1+4+16+4+1+4+1)): for white noise of std s, its std is s."""
    x = np.asarray(plane, dtype=np.float64)
    return (
        x[:-2, :-2]
        - 2 * x[:-2, 1:-1]
        + x[:-2, 2:]
        - 2 * x[1:-1, :-2]
        + 4 * x[1:-1, 1:-1]
        - 2 * x[1:-1, 2:]
        + x[2:, :-2]
        - 2 * x[2:, 1:-1]
        + x[2:, 2:]
    ) / 6


def block_noise_std(plane: np.ndarray, block: int = BLOCK) -> np.ndarray | None:
    """The white-noise std (the response's RMS) in each ``block`` x ``block`` block of the
    plane without its one-pixel border, as a 2D array; None where the plane is smaller than a block."""
    r = laplacian_residual(plane)
    h, w = r.shape[0] // block * block, r.shape[1] // block * block
    if not h or not w:
        return None
    return np.sqrt((r[:h, :w] ** 2).reshape(h // block, block, w // block, block).mean(axis=(1, 3)))


def plane_noise_std(plane: np.ndarray, block: int = BLOCK) -> float:
    """The RMS over ``block`` x ``block`` blocks of their white-noise std (the whole plane where
    it is smaller than a block; at least 3 x 3)."""
    blocks = block_noise_std(plane, block)
    if blocks is None:
        return float(np.sqrt(np.mean(laplacian_residual(plane) ** 2)))
    return float(np.sqrt(np.mean(blocks**2)))


def lag_ratio(plane: np.ndarray, axis: int, block: int = BLOCK) -> float:
    """Spread of differences between pixels two apart over that of neighbours, along ``axis``,
    in the flattest quarter of the ``block`` x ``block`` blocks (least structure in the plane
    smoothed by a Gaussian of 2 px, so edges and texture do not pass for correlation; chosen
    without looking at the differences, so the choice does not bias the ratio)."""
    from scipy.ndimage import gaussian_filter

    x = np.asarray(plane, dtype=np.float64)
    n = x.shape[axis]
    if n < 4:
        return 1.0
    d1 = np.abs(np.diff(x, axis=axis))
    d2 = np.abs(x.take(range(2, n), axis=axis) - x.take(range(n - 2), axis=axis))
    h, w = (x.shape[0] - 2) // block * block, (x.shape[1] - 2) // block * block
    if h < block or w < block:
        return float(d2.mean() / d1.mean()) if d1.mean() > 0 else 1.0
    structure = np.hypot(*np.gradient(gaussian_filter(x, 2.0)))

    def blocks(a):
        return a[:h, :w].reshape(h // block, block, w // block, block).mean(axis=(1, 3)).ravel()

    b1, b2 = blocks(d1), blocks(d2)
    flat = np.argsort(blocks(structure))[: max(1, b1.size // 4)]
    total = b1[flat].sum()
    return float(b2[flat].sum() / total) if total > 0 else 1.0


def training_planes(data, planes: int = PLANES, seed: int = 0):
    """Random normalised YX planes (one per channel) of a :class:`~.data.TrainingData`."""
    rng = np.random.default_rng(seed)
    for _ in range(planes):
        i, samples, _ = data.train_regions[rng.integers(len(data.train_regions))]
        source = data.sources[i]
        region = (slice(z := int(rng.integers(source.spatial[0])), z + 1),) if data.dims == 3 else ()
        block = source.read(int(rng.integers(samples.start, samples.stop)), region)
        yield from block.reshape(-1, *block.shape[-2:])


def noise_std(data, planes: int = PLANES, seed: int = 0) -> float:
    """Noise std (RMS) of normalised training data (a :class:`~.data.TrainingData`), from random YX planes."""
    return float(np.sqrt(np.mean([plane_noise_std(p) ** 2 for p in training_planes(data, planes, seed)])))


def correlation(data, planes: int = PLANES, seed: int = 0) -> dict[str, float]:
    """The lag-2 / lag-1 ratio along Y and X (median over random planes); above
    ``CORRELATED`` the noise is correlated (or the image nearly noise-free)."""
    ratios = np.array([[lag_ratio(p, 0), lag_ratio(p, 1)] for p in training_planes(data, planes, seed)])
    return {"Y": float(np.median(ratios[:, 0])), "X": float(np.median(ratios[:, 1]))}
