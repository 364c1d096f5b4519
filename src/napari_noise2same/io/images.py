"""TIFF (ImageJ, OME, plain) and PNG in; TIFF with axes and pixel sizes out.

Axes come back in this package's letters (S T C Z Y X): tifffile's RGB sample
axis 'S' becomes C, and axes it cannot name (I, Q, ...) become S (samples)
unless the caller says otherwise.  TIFFs larger than ``LAZY_MEMORY_FRACTION``
of the available memory open lazily, as dask arrays over tifffile's Zarr store.
"""

from __future__ import annotations

import glob
import os
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tifffile

from ..atomic import atomic_write
from ..errors import ImageError
from .image_file import ImageFile
from .tiff_metadata import (
    LENGTH_IN_UM,
    MICRO,
    TiffWarnings,
    check_complete,
    normalise_unit,
    pick_series,
    read_metadata,
)
from .zarr_images import is_zarr, read_zarr

TIFF_SUFFIXES = (".tif", ".tiff")
IMAGE_SUFFIXES = TIFF_SUFFIXES + (".png",)
LAZY_MEMORY_FRACTION = 0.25  # open lazily when the image needs more than this share of free memory
IMAGEJ_DTYPES = (np.uint8, np.uint16, np.int16, np.float32)

#: what tifffile and Pillow raise on a damaged or foreign file
DAMAGED = (OSError, ValueError, EOFError, KeyError, IndexError, SyntaxError, struct.error, zlib.error)


@dataclass
class PlaneStream:
    """Image data given as its YX planes in storage order (C order over the other axes), so a
    writer can save it without the whole image in memory."""

    shape: tuple[int, ...]
    dtype: np.dtype
    planes: Iterable[np.ndarray]


def find_inputs(inputs: list[str]) -> list[Path]:
    """Expand files, folders and globs into image paths, in a stable order."""
    found: list[Path] = []
    for item in inputs:
        p = Path(item)
        if is_zarr(p):
            found.append(p)
        elif p.is_dir():
            hits = sorted(q for q in p.iterdir() if (q.suffix.lower() in IMAGE_SUFFIXES and q.is_file()) or is_zarr(q))
            if not hits:
                raise ImageError(f"folder {p} holds no .tif, .tiff, .png or .zarr image")
            found += hits
        elif p.is_file():
            found.append(p)
        elif any(c in item for c in "*?["):
            hits = sorted(Path(h) for h in glob.glob(item) if Path(h).suffix.lower() in IMAGE_SUFFIXES or is_zarr(h))
            if not hits:
                raise ImageError(f"no image matches {item!r}")
            found += hits
        else:
            raise ImageError(f"input {item} does not exist; check the path", path=item)
    return found


def read_image(
    path: str | os.PathLike, lazy: bool | None = None, *, dask: bool = True, room: int | None = None
) -> ImageFile:
    """Read a TIFF, PNG, zarr array or OME-Zarr image. ``lazy``: True gives a dask array, None only
    for TIFFs larger than ``room`` bytes (default: a share of the free memory); zarr is always lazy.
    ``dask=False``: a lazy TIFF is tifffile's zarr view itself (:class:`TiffPages`), which reads a
    region without dask's overhead (a batch of 16 patches of 64 x 64: 15-24 ms against 55-66 ms
    through dask on this project's CPU), for training that reads small patches."""
    path = Path(path)
    if is_zarr(path):
        return read_zarr(path)
    if not path.is_file():
        raise ImageError(f"{path} does not exist; check the path", path=path)
    suffix = path.suffix.lower()
    try:
        if suffix in TIFF_SUFFIXES:
            return _read_tiff(path, lazy, dask, room)
        if suffix == ".png":
            return _read_png(path)
    except ImageError as e:
        if e.path is not None:
            raise
        raise ImageError(f"cannot read {path}: {e.message}", path=path, fixes=e.fixes) from None
    except DAMAGED as e:  # what the TIFF and PNG decoders raise on a broken file (not our bugs)
        kind = "TIFF" if suffix in TIFF_SUFFIXES else "PNG"
        raise ImageError(
            f"cannot read {path}: it is not a valid {kind} file or it is damaged ({type(e).__name__}: {e}); "
            f"copy or export it again as {kind}",
            path=path,
        ) from None
    raise ImageError(f"{path}: unsupported file type {suffix!r}; use TIFF or PNG", path=path)


def lazy_threshold_bytes() -> int:
    """Images larger than this open lazily."""
    import psutil

    return int(LAZY_MEMORY_FRACTION * psutil.virtual_memory().available)


def _read_png(path: Path) -> ImageFile:
    from PIL import Image

    with Image.open(path) as im:
        data = np.asarray(im)
    axes = "YXC" if data.ndim == 3 else "YX"
    if data.ndim == 3 and data.shape[-1] == 4:
        data = data[..., :3]  # drop alpha
    return ImageFile(data, axes, path=path, rgb=data.ndim == 3 and data.dtype == np.uint8)


def _read_tiff(path: Path, lazy: bool | None, dask: bool = True, room: int | None = None) -> ImageFile:
    with TiffWarnings() as warnings, tifffile.TiffFile(path) as tif:
        index = pick_series(tif)
        check_complete(tif, index, path.stat().st_size, warnings.messages)
        series = tif.series[index]
        meta = read_metadata(tif, index)
        if lazy is None:
            lazy = series.nbytes > (lazy_threshold_bytes() if room is None else room)
        if lazy:
            data = _lazy_array(tif, index) if dask else TiffPages(tif.filehandle.path, index)
        else:
            data = series.asarray(level=0)
    return ImageFile(
        data,
        meta.axes,
        meta.pixel_size,
        meta.unit,
        path,
        time_interval=meta.time_interval,
        channel_names=meta.channel_names,
        rgb=meta.rgb,
    )


def _lazy_array(tif: tifffile.TiffFile, index: int):
    """A dask array over the full-resolution level; planes are read when computed."""
    import dask.array as da

    pages = TiffPages(tif.filehandle.path, index)
    return da.from_array(pages, chunks=pages.chunks, asarray=True, fancy=False)


class TiffPages:
    """tifffile's Zarr view of one series, opened on first use in each process: it pickles as its
    path, so a lazily opened TIFF can be read by dask.distributed workers."""

    def __init__(self, path, series: int):
        self.path, self.series, self._array = str(path), series, None
        array = self._open()
        self.shape, self.dtype, self.ndim, self.chunks = array.shape, array.dtype, array.ndim, array.chunks

    def _open(self):
        if self._array is None:
            import zarr

            self._array = zarr.open(tifffile.imread(self.path, aszarr=True, series=self.series, level=0), mode="r")
        return self._array

    def __getitem__(self, key):
        return self._open()[key]

    def __getstate__(self):
        return {**self.__dict__, "_array": None}


def write_tiff(
    path: str | os.PathLike,
    data,
    axes: str,
    pixel_size=None,
    unit=None,
    *,
    time_interval: float | None = None,
    channel_names=None,
    rgb: bool = False,
) -> Path:
    """Write ``data`` atomically: ImageJ hyperstack when the axes allow, else OME-TIFF.

    ``pixel_size`` maps X/Y/Z to sizes in ``unit``; ``time_interval`` is seconds per T step;
    ``channel_names`` label the C axis; ``rgb`` keeps a trailing C of 3 or 4 uint8 samples as RGB(A).
    float64 is stored as float32.
    """
    path = Path(path)
    if isinstance(data, PlaneStream):
        if not axes.upper().endswith("YX") or len(axes) != len(data.shape):
            raise ValueError(f"a plane stream must have axes ending in YX, not {axes!r}")
        axes = axes.upper()
    else:
        data = np.asarray(data)
        if data.dtype == np.float64:
            data = data.astype(np.float32)
        elif data.dtype == bool:
            data = data.astype(np.uint8)
        data, axes = _yx_last(data, axes.upper())
    pixel_size = {a: float(s) for a, s in (pixel_size or {}).items() if a in axes}
    unit = normalise_unit(unit)
    rgb = rgb and axes.endswith("YXC") and data.shape[-1] in (3, 4) and data.dtype == np.uint8
    samples = axes.endswith("YXC")  # a trailing C is stored as samples of each pixel
    names = [str(n) for n in channel_names or []]
    if "C" not in axes or len(names) != data.shape[axes.index("C")]:
        names = []
    kwargs: dict = {"photometric": "rgb" if rgb else "minisblack"}
    if samples:
        kwargs["planarconfig"] = "contig"
    if "X" in pixel_size and "Y" in pixel_size:
        kwargs["resolution"] = (1.0 / pixel_size["X"], 1.0 / pixel_size["Y"])
    ij_axes = axes.replace("S", "T") if "T" not in axes else axes
    ij_axes = ij_axes[:-1] + "S" if rgb else ij_axes
    if _imagej_order(ij_axes) and data.dtype in IMAGEJ_DTYPES and (rgb or not samples):
        meta: dict[str, object] = {"axes": ij_axes}
        if unit:
            meta["unit"] = "micron" if unit == MICRO else unit
        if "Z" in pixel_size:
            meta["spacing"] = pixel_size["Z"]
        if time_interval and "T" in ij_axes:
            meta["finterval"] = float(time_interval)
        if names:
            planes = int(np.prod([n for a, n in zip(ij_axes, data.shape, strict=False) if a in "TZC"], dtype=np.int64))
            meta["Labels"] = [names[i % len(names)] for i in range(planes)]  # C varies fastest
        kwargs.update(imagej=True, metadata=meta)
    else:
        ome_axes = axes.replace("S", "Q")
        meta = {"axes": ome_axes[:-1] + "S" if samples else ome_axes}  # (a dict[str, object] as above)
        if unit is None or unit in LENGTH_IN_UM:
            for a, size in pixel_size.items():
                meta[f"PhysicalSize{a}"] = size
                if unit:
                    meta[f"PhysicalSize{a}Unit"] = unit
        if time_interval and "T" in axes:
            meta.update(TimeIncrement=float(time_interval), TimeIncrementUnit="s")
        if names and not samples:
            meta["Channel"] = {"Name": names}
        kwargs.update(ome=True, metadata=meta)
    if path.exists() and not os.access(path, os.W_OK):
        raise ImageError(f"cannot overwrite {path}; choose another output folder", path=path)
    try:
        if isinstance(data, PlaneStream):
            kwargs.update(shape=tuple(data.shape), dtype=data.dtype)
            stream = data.planes
            atomic_write(path, lambda f: _discard(tifffile.imwrite(f, iter(stream), **kwargs)))
        else:
            atomic_write(path, lambda f: _discard(tifffile.imwrite(f, data, **kwargs)))
    except PermissionError:
        raise ImageError(f"cannot write to {path.parent}; choose a writable output folder", path=path) from None
    return path


def _discard(_result) -> None:
    """A writer's return value (tifffile's offsets) is not ours to keep."""


def _yx_last(data: np.ndarray, axes: str) -> tuple[np.ndarray, str]:
    """Move Y and X next to each other at the end (before a trailing C): TIFF stores YX planes."""
    if len(axes) != data.ndim or len(set(axes)) != len(axes) or not {"Y", "X"} <= set(axes):
        raise ImageError(f"cannot save a {data.ndim}-D image with axes {axes!r}: name each axis once, with Y and X")
    if axes.endswith(("YX", "YXC")):
        return data, axes
    order = [a for a in axes if a not in "YX"] + ["Y", "X"]
    return np.transpose(data, [axes.index(a) for a in order]), "".join(order)


def _imagej_order(axes: str) -> bool:
    """ImageJ hyperstacks are a subset of T Z C Y X in this order, with RGB samples S last."""
    core = axes[:-1] if axes.endswith("S") else axes
    return core.endswith("YX") and all(a in "TZCYX" for a in core) and list(core) == sorted(core, key="TZCYX".index)
