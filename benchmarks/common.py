"""Shared helpers for the benchmarks: data loading from ../shared/data and scoring."""

from __future__ import annotations

import os
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


def ssim(clean: np.ndarray, image: np.ndarray, data_range: float = 255.0) -> float:
    from skimage.metrics import structural_similarity

    return float(structural_similarity(clean, image.astype(np.float32), data_range=data_range))
