"""Training data: per-frame normalisation, on-the-fly patches, augmentation, validation split.

Each frame (each sample: a time point, a position, a plane of a 2D model) is standardised
per channel by its own mean and std, as the official Noise2Same code does for every image:
on bleaching time-lapses (12 frames falling to 10 % brightness, benchmarks/stack_normalisation.py)
it gave +0.57 dB on average over one mean and std for the whole stack on FMD (+0.29 to +0.99
per frame, the dimmest gaining most) and +2.08 dB on Set12 (+0.04 to +5.20; docs/training.md).
Patches are read from the images as they are given (numpy, or lazy dask/zarr arrays that never
load whole) and normalised when cut, one random patch of a random image each time, so memory
holds the images at most, never all patches, never a float copy.  A strip at the end of the Y
axis (or whole samples, where there are several) is kept out for validation, unless separate
validation images are given: then every training pixel trains and validation patches come
from those images only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import ImageError
from .arrays import frame_stats, read_normalised, sample_shape, spatial_shape
from .axes import Layout, make_layout, to_canonical
from .geometry import SIZE_MULTIPLE

MIN_VAL_ROWS = 32  # a held-out strip is at least this many rows
MIN_SIZE = 8  # smallest spatial size the network takes (two 2x downsamplings, then a 3x3 conv)


@dataclass
class Source:
    """One training image as given, with its layout and per-channel statistics."""

    array: object  # numpy array, or a lazy array (dask, zarr) read patch by patch
    layout: Layout
    mean: np.ndarray  # (S, C): each frame's
    std: np.ndarray  # (S, C)
    image_mean: np.ndarray  # (C,): the whole image's, recorded with the model
    image_std: np.ndarray  # (C,)

    @property
    def samples(self) -> int:
        return int(np.prod(sample_shape(self.layout), dtype=np.int64))

    @property
    def spatial(self) -> tuple[int, ...]:
        return spatial_shape(self.layout)

    @property
    def shape(self) -> tuple[int, ...]:
        """Canonical (samples, channels, *spatial) shape."""
        return (self.samples, self.layout.channels, *self.spatial)

    def read(self, sample: int, region: tuple[slice, ...]) -> np.ndarray:
        """Normalised float32 (C, *region) of one sample."""
        return read_normalised(self.array, self.layout, sample, region, self.mean[sample], self.std[sample])

    @classmethod
    def from_array(cls, array, axes: str, dims: int, name: str) -> Source:
        layout = make_layout(tuple(np.shape(array)), axes, dims)
        if min(spatial_shape(layout)) < MIN_SIZE:  # tiny: take it whole and pad it (cheap)
            canon = pad_to_min(to_canonical(np.asarray(array, dtype=np.float32), layout), MIN_SIZE)
            layout = make_layout(canon.shape, "SC" + layout.spatial_axes, dims)
            array = canon
        mean, std, (image_mean, image_std) = frame_stats(array, layout, name)
        return cls(array, layout, mean, std, image_mean, image_std)


def _axes_list(arrays, axes) -> list[str]:
    return [axes] * len(arrays) if isinstance(axes, str) else list(axes)


def _check_channels(arrays, axes: list[str], dims: int, names: list[str]) -> None:
    """One channel count for all training and validation images (from their shapes and axes,
    before any pixel is read), or one message naming each image's count."""
    counts = [make_layout(tuple(np.shape(a)), ax, dims).channels for a, ax in zip(arrays, axes, strict=True)]
    if len(set(counts)) > 1:
        named = ", ".join(f"{n} {c}" for n, c in zip(names, counts, strict=True))
        raise ImageError(
            f"the images have different channel counts ({named}); train one model per channel layout, "
            "or check the axes (a C axis read as Z or T changes the count)"
        )


def pad_to_min(image: np.ndarray, minimum: int) -> np.ndarray:
    pads = [(0, 0), (0, 0)] + [(0, max(0, minimum - s)) for s in image.shape[2:]]
    return np.pad(image, pads, mode="symmetric") if any(p[1] for p in pads) else image


@dataclass
class TrainingData:
    """Training images and a sampler of normalised (N, C, *spatial) patches."""

    sources: list[Source]
    dims: int
    patch_size: tuple[int, ...]
    train_regions: list[tuple[int, slice, slice]]  # (source, samples, Y rows)
    val_regions: list[tuple[int, slice, slice]] = field(default_factory=list)  # of val_sources when given
    val_sources: list[Source] = field(default_factory=list)  # separate validation images, or none

    @property
    def _val_from(self) -> list[Source]:
        return self.val_sources or self.sources

    @property
    def channels(self) -> int:
        return self.sources[0].layout.channels

    @property
    def means(self) -> list[np.ndarray]:
        """Each image's per-channel mean (its frames are standardised by their own)."""
        return [s.image_mean for s in self.sources]

    @property
    def stds(self) -> list[np.ndarray]:
        return [s.image_std for s in self.sources]

    @property
    def shapes(self) -> list[tuple[int, ...]]:
        """Canonical (samples, channels, *spatial) shape of each image."""
        return [s.shape for s in self.sources]

    @classmethod
    def from_arrays(
        cls,
        arrays: list,
        axes: list[str] | str,
        dims: int = 2,
        patch_size: int | tuple[int, ...] = 64,
        val_fraction: float = 0.05,
        names: list[str] | None = None,
        val_arrays: list | None = None,
        val_axes: list[str] | str | None = None,
        val_names: list[str] | None = None,
    ) -> TrainingData:
        """``arrays``: numpy or lazy arrays with the given ``axes`` (one string, or one per array).
        ``val_arrays`` (with ``val_axes``, the training axes if not given): validation images in
        place of the held-out ``val_fraction``."""
        if not len(arrays):
            raise ImageError("no training images given")
        names = names or [f"image {i + 1}" for i in range(len(arrays))]
        axes_list = _axes_list(arrays, axes)
        val_arrays = list(val_arrays or [])
        val_names = val_names or [f"validation image {i + 1}" for i in range(len(val_arrays))]
        val_axes_list = _axes_list(val_arrays, axes_list[0] if val_axes is None else val_axes)
        _check_channels([*arrays, *val_arrays], [*axes_list, *val_axes_list], dims, [*names, *val_names])
        sources = [Source.from_array(a, ax, dims, n) for a, ax, n in zip(arrays, axes_list, names, strict=True)]
        val_sources = [
            Source.from_array(a, ax, dims, n) for a, ax, n in zip(val_arrays, val_axes_list, val_names, strict=True)
        ]
        return cls.from_sources(sources, dims, patch_size, val_fraction, val_sources)

    @classmethod
    def from_sources(
        cls, sources: list[Source], dims: int, patch_size, val_fraction: float, val_sources: list[Source] | None = None
    ) -> TrainingData:
        patch = fit_patch(patch_size, dims, [s.spatial for s in sources])
        if val_sources:
            train, _ = _split([s.shape for s in sources], patch, 0.0)
            val = [(i, slice(0, s.samples), slice(0, s.spatial[-2])) for i, s in enumerate(val_sources)]
            return cls(sources, dims, patch, train, val, list(val_sources))
        train, val = _split([s.shape for s in sources], patch, val_fraction)
        return cls(sources, dims, patch, train, val)

    def resampled(self, patch_size, val_fraction: float) -> TrainingData:
        """The same images with another patch size or validation split (nothing is read again)."""
        return self.from_sources(self.sources, self.dims, patch_size, val_fraction, self.val_sources)

    # -- sampling ---------------------------------------------------------------------------
    def sample(self, batch_size: int, rng: np.random.Generator, augment: bool = True) -> np.ndarray:
        weights = np.array([_region_pixels(self.sources[i].shape, s, y) for i, s, y in self.train_regions], float)
        picks = rng.choice(len(self.train_regions), size=batch_size, p=weights / weights.sum())
        batch = np.empty((batch_size, self.channels, *self.patch_size), dtype=np.float32)
        for b, r in enumerate(picks):
            i, samples, rows = self.train_regions[r]
            patch = self._crop(self.sources[i], samples, rows, self.patch_size, rng)
            batch[b] = _augment(patch, rng) if augment else patch
        return batch

    def validation_patches(self, limit: int = 32, seed: int = 0) -> np.ndarray | None:
        """A fixed set of validation patches (the same every call), or None without a split."""
        if not self.val_regions:
            return None
        rng = np.random.default_rng(seed)
        size = list(self.patch_size)
        if self.val_sources:  # no larger than the smallest validation image (they are stacked)
            size = list(fit_patch(self.patch_size, self.dims, [s.spatial for s in self.val_sources]))
        out = []
        for _ in range(limit):
            i, samples, rows = self.val_regions[rng.integers(len(self.val_regions))]
            size[-2] = min(size[-2], _floor_multiple(rows.stop - rows.start))
            out.append(self._crop(self._val_from[i], samples, rows, tuple(size), rng))
        return np.stack(out)

    def _crop(self, source: Source, samples, rows, size, rng) -> np.ndarray:
        n = rng.integers(samples.start, samples.stop)
        starts = [rng.integers(0, s - p + 1) for s, p in zip(source.spatial, size, strict=False)]
        starts[-2] = rng.integers(rows.start, rows.stop - size[-2] + 1)
        return source.read(n, tuple(slice(s, s + p) for s, p in zip(starts, size, strict=False)))


def _floor_multiple(n: int) -> int:
    return max(SIZE_MULTIPLE, n // SIZE_MULTIPLE * SIZE_MULTIPLE)


def fit_patch(patch_size, dims, spatial_shapes) -> tuple[int, ...]:
    """The patch used on images of ``spatial_shapes``: ``patch_size`` (an int: YX side, 16 deep
    in 3D) in multiples of the network's size multiple, no larger than the smallest image."""
    if isinstance(patch_size, int):
        patch_size = (16, patch_size, patch_size) if dims == 3 else (patch_size, patch_size)
    patch_size = tuple(int(p) for p in patch_size)
    if len(patch_size) != dims:
        raise ImageError(f"patch size {patch_size} does not match a {dims}D model")
    smallest = np.min(spatial_shapes, axis=0)
    return tuple(min(_floor_multiple(p), _floor_multiple(int(s))) for p, s in zip(patch_size, smallest, strict=False))


def _split(shapes, patch, val_fraction):
    """Train and validation regions (image, samples, Y rows) of images of canonical ``shapes``."""
    train, val = [], []
    for i, shape in enumerate(shapes):
        n, rows = shape[0], shape[-2]
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


def _region_pixels(shape, samples, rows) -> int:
    return (samples.stop - samples.start) * (rows.stop - rows.start) * int(np.prod(shape[2:])) // shape[-2]


def _augment(patch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random rot90 (square YX) and flip in the YX plane; (C, *spatial) in and out."""
    if patch.shape[-1] == patch.shape[-2]:
        patch = np.rot90(patch, k=int(rng.integers(4)), axes=(-2, -1))
    if rng.integers(2):
        patch = patch[..., ::-1]
    return patch
