"""Shared helpers for the benchmarks: data loading from ../shared/data and scoring."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DATA = Path(os.environ.get("NOISE2SAME_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def load_png(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("L"), dtype=np.float32)


def fmd_pair() -> tuple[np.ndarray, np.ndarray] | None:
    folder = DATA / "fmd_confocal_fish"
    if not (folder / "noisy.png").is_file():
        return None
    return load_png(folder / "noisy.png"), load_png(folder / "clean.png")


def set12(sigma: float = 25.0, seed: int = 0) -> list[tuple[str, np.ndarray, np.ndarray]] | None:
    """(name, noisy, clean) with float Gaussian noise (not clipped or rounded), fixed seed."""
    folder = DATA / "set12"
    files = sorted(folder.glob("*.png")) if folder.is_dir() else []
    if not files:
        return None
    rng = np.random.default_rng(seed)
    out = []
    for f in files:
        clean = load_png(f)
        out.append((f.stem, clean + rng.normal(0, sigma, clean.shape).astype(np.float32), clean))
    return out


def psnr(clean: np.ndarray, image: np.ndarray, data_range: float = 255.0) -> float:
    mse = float(np.mean((clean.astype(np.float64) - image.astype(np.float64)) ** 2))
    return 20 * np.log10(data_range) - 10 * np.log10(mse)


def microscopy_psnr(clean: np.ndarray, image: np.ndarray) -> float:
    """The CARE protocol (docs/benchmarks.md): the clean image normalised by its 0.1 and 99.9
    percentiles, the prediction mapped onto it by least squares (a x + b), PSNR with range 1."""
    c = clean.astype(np.float64)
    lo, hi = np.percentile(c, [0.1, 99.9])
    c = (c - lo) / (hi - lo)
    x = image.astype(np.float64).ravel()
    a, b = np.polyfit(x, c.ravel(), 1)
    mse = float(np.mean((a * x + b - c.ravel()) ** 2))
    return -10 * np.log10(mse)


def ssim(clean: np.ndarray, image: np.ndarray, data_range: float = 255.0) -> float:
    from skimage.metrics import structural_similarity

    return float(structural_similarity(clean, image.astype(np.float32), data_range=data_range))


# -- the benchmark datasets: name -> training images, test images and their clean versions ------
#: FMD's clean frame with Poisson noise at this many photons for its brightest value (255):
#: input PSNR 17.1 dB, as noisy as the noisiest real low-SNR images Noise2Same lost on
VERY_NOISY_PHOTONS = 4.0


def crops(images, size: int = 256) -> list[np.ndarray]:
    """Non-overlapping size x size crops of each image (the Set12 training protocol)."""
    out = []
    for im in images:
        for y in range(0, im.shape[0] - size + 1, size):
            for x in range(0, im.shape[1] - size + 1, size):
                out.append(im[y : y + size, x : x + size])
    return out


def poisson_fmd(photons: float = VERY_NOISY_PHOTONS, seed: int = 0) -> tuple[np.ndarray, np.ndarray] | None:
    """(noisy, clean): FMD's 50-frame mean with Poisson noise at ``photons`` for 255, in its units."""
    pair = fmd_pair()
    if pair is None:
        return None
    clean = pair[1]
    rng = np.random.default_rng(seed)
    return (rng.poisson(clean / 255.0 * photons) * (255.0 / photons)).astype(np.float32), clean


def correlated_fmd(photons: float = 8.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray] | None:
    """(noisy, clean): FMD's 50-frame mean with Poisson noise (``photons`` for 255) that is then
    blurred along X by [1, 2, 1] / 4: spatially correlated noise, as after demosaicing or a
    line-scanning detector's filter."""
    made = poisson_fmd(photons, seed)
    if made is None:
        return None
    noisy, clean = made
    noise = noisy - clean
    blurred = 0.5 * noise + 0.25 * (np.roll(noise, 1, axis=1) + np.roll(noise, -1, axis=1))
    return (clean + blurred).astype(np.float32), clean


def synthetic_volume(
    shape=(48, 160, 160), photons: float = 10.0, seed: int = 0, noise_seed: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(noisy, clean) 3D blobs and filaments with Poisson-Gaussian noise, scaled to 0-255
    (the noise drawn with ``noise_seed``, ``seed`` by default)."""
    from napari_noise2same.examples import poisson_gaussian, synthetic_cells

    clean = synthetic_cells(shape, seed=seed)
    noise_seed = seed if noise_seed is None else noise_seed
    return poisson_gaussian(clean, photons=photons, seed=noise_seed) * 255.0, clean * 255.0


@dataclass
class Dataset:
    name: str
    train: list  # training images
    axes: str
    dims: int
    test: list  # noisy test images
    clean: list  # their clean versions (same units)
    #: "microscopy" (the CARE protocol, microscopy_psnr) or "plain" (peak 255, natural images)
    metric: str = "plain"
    #: the test images' clean content under another draw of the same noise, never trained on
    #: (empty for real noise): a model that fits its training noise scores lower here
    unseen: list = field(default_factory=list)

    def score(self, clean: np.ndarray, image: np.ndarray) -> float:
        return microscopy_psnr(clean, image) if self.metric == "microscopy" else psnr(clean, image)


#: offset of the noise seed of a dataset's ``unseen`` images
UNSEEN = 1000

DATASETS = ("fmd", "set12", "fmd-photons4", "set12-sigma50", "fmd-correlated", "volume")


def dataset(key: str, seed: int = 0) -> Dataset | None:
    """One of ``DATASETS``, or None (with the reason printed) when its files are absent."""
    if key == "fmd":
        pair = fmd_pair()
        if pair is None:
            return None
        return Dataset("FMD confocal FISH", [pair[0]], "YX", 2, [pair[0]], [pair[1]], "microscopy")
    if key == "fmd-photons4":
        pair = poisson_fmd(VERY_NOISY_PHOTONS, seed)
        unseen = [poisson_fmd(VERY_NOISY_PHOTONS, seed + UNSEEN)[0]] if pair is not None else []
        return (
            None
            if pair is None
            else Dataset("FMD clean, Poisson 4 photons", [pair[0]], "YX", 2, [pair[0]], [pair[1]], "microscopy", unseen)
        )
    if key == "fmd-correlated":
        pair = correlated_fmd(seed=seed)
        return (
            None
            if pair is None
            else Dataset("FMD clean, correlated noise", [pair[0]], "YX", 2, [pair[0]], [pair[1]], "microscopy")
        )
    if key in ("set12", "set12-sigma50"):
        sigma = 25.0 if key == "set12" else 50.0
        images = set12(sigma, seed=seed)
        if images is None:
            return None
        noisy = [n for _, n, _ in images]
        unseen = [n for _, n, _ in set12(sigma, seed=seed + UNSEEN)]
        return Dataset(f"Set12 sigma {sigma:g}", crops(noisy), "YX", 2, noisy, [c for _, _, c in images], unseen=unseen)
    if key == "volume":
        noisy, clean = synthetic_volume(seed=seed)
        unseen = [synthetic_volume(seed=seed, noise_seed=seed + UNSEEN)[0]]
        return Dataset("synthetic 3D volume", [noisy], "ZYX", 3, [noisy], [clean], "microscopy", unseen)
    raise ValueError(f"unknown dataset {key!r}; one of {', '.join(DATASETS)}")
