"""Training data: normalised images, on-the-fly patches, augmentation, validation split.

Each image is standardised per channel by its own mean and std (kept, to be
stored with the model).  Patches are cut at random from the training region of
a random image each step, so memory holds the images, never all patches.  A
strip at the end of the Y axis (or whole samples, where there are several) is
kept out for validation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import ImageError
from .axes import make_layout, to_canonical
from .unet import SIZE_MULTIPLE

MIN_VAL_ROWS = 32  # a held-out strip is at least this many rows
MIN_SIZE = 8  # smallest spatial size the network takes (two 2x downsamplings, then a 3x3 conv)


def standardise(image: np.ndarray, name: str = "image") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N, C, *spatial) -> normalised float32, per-channel mean and std."""
    image = np.asarray(image, dtype=np.float32)
    if not np.isfinite(image).all():
        raise ImageError(f"{name} contains NaN or infinite values; replace them (e.g. by 0) before denoising")
    axes = (0,) + tuple(range(2, image.ndim))
    mean = image.mean(axis=axes, dtype=np.float64)
    std = image.std(axis=axes, dtype=np.float64)
    if np.any(std == 0):
        raise ImageError(f"{name} is constant (zero standard deviation); there is no noise to remove")
    shape = (1, -1) + (1,) * (image.ndim - 2)
    normalised = (image - mean.reshape(shape).astype(np.float32)) / std.reshape(shape).astype(np.float32)
    return normalised, mean.astype(np.float32), std.astype(np.float32)


def pad_to_min(image: np.ndarray, minimum: int) -> np.ndarray:
    pads = [(0, 0), (0, 0)] + [(0, max(0, minimum - s)) for s in image.shape[2:]]
    return np.pad(image, pads, mode="symmetric") if any(p[1] for p in pads) else image


@dataclass
class TrainingData:
    """Normalised training images in (N, C, *spatial) and a sampler of patches."""

    images: list[np.ndarray]
    means: list[np.ndarray]
    stds: list[np.ndarray]
    dims: int
    patch_size: tuple[int, ...]
    train_regions: list[tuple[int, slice, slice]]
    val_regions: list[tuple[int, slice, slice]] = field(default_factory=list)

    @property
    def channels(self) -> int:
        return self.images[0].shape[1]

    @classmethod
    def from_arrays(
        cls,
        arrays: list[np.ndarray],
        axes: list[str] | str,
        dims: int = 2,
        patch_size: int | tuple[int, ...] = 64,
        val_fraction: float = 0.05,
        names: list[str] | None = None,
    ) -> "TrainingData":
        if not arrays:
            raise ImageError("no training images given")
        axes_list = [axes] * len(arrays) if isinstance(axes, str) else list(axes)
        names = names or [f"image {i + 1}" for i in range(len(arrays))]
        images, means, stds = [], [], []
        for array, ax, name in zip(arrays, axes_list, names):
            layout = make_layout(np.shape(array), ax, dims)
            canon = to_canonical(np.asarray(array), layout)
            normalised, mean, std = standardise(canon, name)
            images.append(pad_to_min(normalised, MIN_SIZE))
            means.append(mean)
            stds.append(std)
        channels = {im.shape[1] for im in images}
        if len(channels) > 1:
            raise ImageError(f"training images have different channel counts {sorted(channels)}; train one model per channel layout")
        patch = _fit_patch(patch_size, dims, images, val_fraction)
        train, val = _split(images, patch, val_fraction)
        return cls(images, means, stds, dims, patch, train, val)

    # -- sampling ---------------------------------------------------------------------------
    def sample(self, batch_size: int, rng: np.random.Generator, augment: bool = True) -> np.ndarray:
        weights = np.array([_region_pixels(self.images[i], s, y) for i, s, y in self.train_regions], float)
        picks = rng.choice(len(self.train_regions), size=batch_size, p=weights / weights.sum())
        batch = np.empty((batch_size, self.channels, *self.patch_size), dtype=np.float32)
        for b, r in enumerate(picks):
            i, samples, rows = self.train_regions[r]
            patch = self._crop(i, samples, rows, self.patch_size, rng)
            batch[b] = _augment(patch, rng) if augment else patch
        return batch

    def validation_patches(self, limit: int = 32, seed: int = 0) -> np.ndarray | None:
        """A fixed set of validation patches (the same every call), or None without a split."""
        if not self.val_regions:
            return None
        rng = np.random.default_rng(seed)
        size = list(self.patch_size)
        out = []
        for _ in range(limit):
            i, samples, rows = self.val_regions[rng.integers(len(self.val_regions))]
            size[-2] = min(self.patch_size[-2], _floor_multiple(rows.stop - rows.start))
            out.append(self._crop(i, samples, rows, tuple(size), rng))
        return np.stack(out)

    def _crop(self, i, samples, rows, size, rng) -> np.ndarray:
        image = self.images[i]
        n = rng.integers(samples.start, samples.stop)
        spatial = image.shape[2:]
        starts = [rng.integers(0, s - p + 1) for s, p in zip(spatial, size)]
        starts[-2] = rng.integers(rows.start, rows.stop - size[-2] + 1)
        index = (n, slice(None)) + tuple(slice(s, s + p) for s, p in zip(starts, size))
        return image[index]


def _floor_multiple(n: int) -> int:
    return max(SIZE_MULTIPLE, n // SIZE_MULTIPLE * SIZE_MULTIPLE)


def _fit_patch(patch_size, dims, images, val_fraction) -> tuple[int, ...]:
    if isinstance(patch_size, int):
        patch_size = (16, patch_size, patch_size) if dims == 3 else (patch_size, patch_size)
    patch_size = tuple(int(p) for p in patch_size)
    if len(patch_size) != dims:
        raise ImageError(f"patch size {patch_size} does not match a {dims}D model")
    smallest = np.min([im.shape[2:] for im in images], axis=0)
    return tuple(min(_floor_multiple(p), _floor_multiple(int(s))) for p, s in zip(patch_size, smallest))


def _split(images, patch, val_fraction):
    train, val = [], []
    for i, im in enumerate(images):
        n, rows = im.shape[0], im.shape[-2]
        all_samples, all_rows = slice(0, n), slice(0, rows)
        if val_fraction <= 0:
            train.append((i, all_samples, all_rows))
            continue
        n_val = int(round(n * val_fraction))
        if n_val >= 1 and n - n_val >= 1:  # whole samples held out
            train.append((i, slice(0, n - n_val), all_rows))
            val.append((i, slice(n - n_val, n), all_rows))
            continue
        strip = max(int(round(rows * val_fraction)), MIN_VAL_ROWS)
        if rows - strip >= patch[-2]:  # a strip of rows held out
            train.append((i, all_samples, slice(0, rows - strip)))
            val.append((i, all_samples, slice(rows - strip, rows)))
        else:  # too small to spare anything
            train.append((i, all_samples, all_rows))
    return train, val


def _region_pixels(image, samples, rows) -> int:
    return (samples.stop - samples.start) * (rows.stop - rows.start) * int(np.prod(image.shape[2:])) // image.shape[-2]


def _augment(patch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random rot90 (square YX) and flip in the YX plane; (C, *spatial) in and out."""
    if patch.shape[-1] == patch.shape[-2]:
        patch = np.rot90(patch, k=int(rng.integers(4)), axes=(-2, -1))
    if rng.integers(2):
        patch = patch[..., ::-1]
    return patch
