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


def correlated_noise_fmd(kind: str, photons: float = 8.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray] | None:
    """(noisy, clean): FMD's 50-frame mean with Poisson noise (``photons`` for 255) made correlated
    between pixels; the clean image is unchanged (only the noise is correlated):

    * ``blur-x``: the noise blurred along X by [1, 2, 1] / 4 (a line detector's filter), as
      :func:`correlated_fmd`;
    * ``box3``: the noise blurred by a 3 x 3 box and scaled to the std of ``blur-x`` (a blur of
      the raw image, demosaicing);
    * ``stripes``: the white noise plus an offset per column (std half the white noise's):
      a camera's column pattern."""
    from scipy.ndimage import uniform_filter

    if kind == "blur-x":
        return correlated_fmd(photons, seed)
    made = poisson_fmd(photons, seed)
    if made is None:
        return None
    noisy, clean = made
    noise = (noisy - clean).astype(np.float64)
    if kind == "box3":
        blurred = uniform_filter(noise, 3, mode="wrap")
        out = clean + blurred * (np.sqrt(6) / 4 * noise.std() / blurred.std())
    elif kind == "stripes":
        columns = np.random.default_rng(seed + 500).normal(0, 0.5 * noise.std(), clean.shape[1])
        out = noisy + columns[None, :]
    else:
        raise ValueError(f"unknown correlated noise {kind!r}")
    return out.astype(np.float32), clean


def synthetic_volume(
    shape=(48, 160, 160), photons: float = 10.0, seed: int = 0, noise_seed: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(noisy, clean) 3D blobs and filaments with Poisson-Gaussian noise, scaled to 0-255
    (the noise drawn with ``noise_seed``, ``seed`` by default)."""
    from napari_noise2same.examples import poisson_gaussian, synthetic_cells

    clean = synthetic_cells(shape, seed=seed)
    noise_seed = seed if noise_seed is None else noise_seed
    return poisson_gaussian(clean, photons=photons, seed=noise_seed) * 255.0, clean * 255.0


#: the FMD volume's noise: Poisson at this many photons for its brightest voxel, Gaussian read
#: noise of this share of it (input 19.6 dB, as the real confocal volume of issue 34: 19.5 dB)
VOLUME_PHOTONS, VOLUME_READ = 6.0, 0.02


def fmd_volume_clean(shape=(48, 256, 256), seed: int = 0) -> np.ndarray | None:
    """A clean focal series in [0, 1] made from FMD's 50-frame mean (real cells and their
    texture): plane z is a crop of the frame that drifts with depth (z/2 px in Y, z/3 in X),
    in focus around a smooth random depth per pixel (Gaussian envelope of Z/4 planes), on a
    3 % background, then blurred by an anisotropic PSF (1.5 planes in Z, 0.6 px in YX)."""
    from scipy import ndimage as ndi

    pair = fmd_pair()
    if pair is None:
        return None
    frame = pair[1] / 255.0
    z_n, y_n, x_n = shape
    rng = np.random.default_rng(seed)
    depth = ndi.gaussian_filter(rng.normal(size=(y_n, x_n)), 40)
    depth = z_n * (0.2 + 0.6 * (depth - depth.min()) / (depth.max() - depth.min()))
    planes = np.stack([frame[z // 2 : z // 2 + y_n, 64 + z // 3 : 64 + z // 3 + x_n] for z in range(z_n)])
    z = np.arange(z_n, dtype=np.float32)[:, None, None]
    volume = ndi.gaussian_filter(planes * np.exp(-((z - depth) ** 2) / (2 * (z_n / 4) ** 2)), (1.5, 0.6, 0.6))
    volume = volume / volume.max() + 0.03
    return (volume / volume.max()).astype(np.float32)


def fmd_volume(seed: int = 0, noise_seed: int | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """(noisy, clean) of ``fmd_volume_clean`` with Poisson-Gaussian noise, scaled to 0-255."""
    from napari_noise2same.examples import poisson_gaussian

    clean = fmd_volume_clean()
    if clean is None:
        return None
    noise_seed = seed if noise_seed is None else noise_seed
    noisy = poisson_gaussian(clean, photons=VOLUME_PHOTONS, read_sigma=VOLUME_READ, seed=noise_seed)
    return noisy * 255.0, clean * 255.0


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

DATASETS = (
    "fmd",
    "set12",
    "fmd-photons4",
    "set12-sigma50",
    "fmd-correlated",
    "fmd-box3",
    "fmd-stripes",
    "volume",
    "fmd-volume",
)


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
    if key in ("fmd-correlated", "fmd-box3", "fmd-stripes"):
        kind = {"fmd-correlated": "blur-x", "fmd-box3": "box3", "fmd-stripes": "stripes"}[key]
        pair = correlated_noise_fmd(kind, seed=seed)
        if pair is None:
            return None
        unseen = [correlated_noise_fmd(kind, seed=seed + UNSEEN)[0]]
        name = f"FMD clean, correlated noise ({kind})"
        return Dataset(name, [pair[0]], "YX", 2, [pair[0]], [pair[1]], "microscopy", unseen)
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
    if key == "fmd-volume":
        made = fmd_volume(seed=seed)
        if made is None:
            return None
        unseen = [fmd_volume(seed=seed, noise_seed=seed + UNSEEN)[0]]
        return Dataset("FMD focal series", [made[0]], "ZYX", 3, [made[0]], [made[1]], "microscopy", unseen)
    raise ValueError(f"unknown dataset {key!r}; one of {', '.join(DATASETS)}")


#: the side of the windows over which uncertainty maps are scored against the real error
WINDOW = 8


def windows(a: np.ndarray, w: int = WINDOW) -> np.ndarray:
    h, x = a.shape[0] // w * w, a.shape[1] // w * w
    return a[:h, :x].reshape(h // w, w, x // w, w).mean(axis=(1, 3)).ravel()


def ranks(a: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(a)


def partial_spearman(u: np.ndarray, err: np.ndarray, given: np.ndarray) -> float:
    """Spearman correlation of u and err with the ranks of ``given`` regressed out of both."""
    ru, re, rg = ranks(u), ranks(err), ranks(given)
    design = np.stack([np.ones_like(rg), rg], axis=1)

    def resid(v):
        coef, *_ = np.linalg.lstsq(design, v, rcond=None)
        return v - design @ coef

    a, b = resid(ru), resid(re)
    return float(np.sum(a * b) / np.sqrt(np.sum(a * a) * np.sum(b * b)))


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(ranks(a), ranks(b))[0, 1])
