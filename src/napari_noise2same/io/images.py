"""TIFF (ImageJ, OME, plain) and PNG in; TIFF with axes and pixel sizes out.

Axes come back in this package's letters (S T C Z Y X): tifffile's RGB sample
axis 'S' becomes C, and axes it cannot name (I, Q, ...) become S (samples)
unless the caller says otherwise.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tifffile

from ..engine.atomic import atomic_write
from ..errors import ImageError

TIFF_SUFFIXES = (".tif", ".tiff")
IMAGE_SUFFIXES = TIFF_SUFFIXES + (".png",)


@dataclass
class ImageFile:
    data: np.ndarray
    axes: str
    pixel_size: dict[str, float] = field(default_factory=dict)  # axis letter -> size in `unit`
    unit: str | None = None
    path: Path | None = None


def find_inputs(inputs: list[str]) -> list[Path]:
    """Expand files, folders and globs into image paths, in a stable order."""
    found: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            hits = sorted(q for q in p.iterdir() if q.suffix.lower() in IMAGE_SUFFIXES and q.is_file())
            if not hits:
                raise ImageError(f"folder {p} holds no .tif, .tiff or .png image")
            found += hits
        elif p.is_file():
            found.append(p)
        elif any(c in item for c in "*?["):
            hits = sorted(Path(h) for h in glob.glob(item) if Path(h).suffix.lower() in IMAGE_SUFFIXES)
            if not hits:
                raise ImageError(f"no image matches {item!r}")
            found += hits
        else:
            raise ImageError(f"input {item} does not exist; check the path")
    return found


def read_image(path: str | os.PathLike) -> ImageFile:
    path = Path(path)
    if not path.is_file():
        raise ImageError(f"{path} does not exist; check the path")
    suffix = path.suffix.lower()
    try:
        if suffix in TIFF_SUFFIXES:
            return _read_tiff(path)
        if suffix == ".png":
            return _read_png(path)
    except ImageError:
        raise
    except Exception as e:
        raise ImageError(f"cannot read {path} as an image ({type(e).__name__}: {e}); is the file complete?") from None
    raise ImageError(f"{path}: unsupported file type {suffix!r}; use TIFF or PNG")


def _read_png(path: Path) -> ImageFile:
    from PIL import Image

    with Image.open(path) as im:
        data = np.asarray(im)
    axes = "YXC" if data.ndim == 3 else "YX"
    if data.ndim == 3 and data.shape[-1] == 4:
        data = data[..., :3]  # drop alpha
    return ImageFile(data, axes, path=path)


def _read_tiff(path: Path) -> ImageFile:
    with tifffile.TiffFile(path) as tif:
        series = tif.series[0]
        data = series.asarray()
        axes = _our_axes(series.axes)
        pixel_size, unit = {}, None
        if tif.is_imagej and tif.imagej_metadata:
            ij = tif.imagej_metadata
            unit = ij.get("unit")
            if ij.get("spacing"):
                pixel_size["Z"] = float(ij["spacing"])
            pixel_size.update(_resolution(series.pages[0] if series.pages else tif.pages[0]))
        elif tif.is_ome and tif.ome_metadata:
            pixel_size, unit = _ome_sizes(tif.ome_metadata)
        else:
            pixel_size.update(_resolution(tif.pages[0]))
    if unit in ("micron", "\\u00B5m", "um"):
        unit = "µm"
    return ImageFile(data, axes, {k: v for k, v in pixel_size.items() if k in axes}, unit, path)


def _our_axes(tiff_axes: str) -> str:
    out = []
    for a in tiff_axes.upper():
        a = {"S": "C"}.get(a, a)
        if a not in "TCZYX" or a in out:
            a = "S" if "S" not in out else None
        if a is None:
            raise ImageError(f"cannot map the TIFF axes {tiff_axes!r}; pass --axes")
        out.append(a)
    return "".join(out)


def _resolution(page) -> dict[str, float]:
    sizes = {}
    for tag, axis in (("XResolution", "X"), ("YResolution", "Y")):
        t = page.tags.get(tag)
        if t is not None:
            num, den = t.value
            if num and den and num != den:  # 1/1 is tifffile's "unset"
                sizes[axis] = den / num
    return sizes


def _ome_sizes(xml: str) -> tuple[dict[str, float], str | None]:
    import xml.etree.ElementTree as ET

    root = ET.fromstring(xml)
    pixels = next((el for el in root.iter() if el.tag.endswith("Pixels")), None)
    if pixels is None:
        return {}, None
    sizes = {a: float(pixels.get(f"PhysicalSize{a}")) for a in "XYZ" if pixels.get(f"PhysicalSize{a}")}
    return sizes, pixels.get("PhysicalSizeXUnit", "µm" if sizes else None)


def write_tiff(path: str | os.PathLike, data: np.ndarray, axes: str, pixel_size=None, unit=None) -> Path:
    """Write ``data`` atomically: ImageJ hyperstack when the axes allow, else OME-TIFF."""
    path = Path(path)
    pixel_size = pixel_size or {}
    ij_axes = axes.replace("S", "T") if "T" not in axes else axes
    order = [a for a in "TZCYX" if a in ij_axes]
    imagej = sorted(ij_axes, key="TZCYX".index) == list(ij_axes) and len(order) == len(ij_axes)
    kwargs: dict = {}
    if "X" in pixel_size and "Y" in pixel_size:
        kwargs["resolution"] = (1.0 / pixel_size["X"], 1.0 / pixel_size["Y"])
    if imagej:
        meta = {"axes": ij_axes}
        if unit:
            meta["unit"] = "micron" if unit == "µm" else unit
        if "Z" in pixel_size:
            meta["spacing"] = pixel_size["Z"]
        kwargs.update(imagej=True, metadata=meta)
        if data.dtype == np.float64:
            data = data.astype(np.float32)
    else:
        meta = {"axes": axes.replace("S", "Q")}
        for a in "XYZ":
            if a in pixel_size:
                meta[f"PhysicalSize{a}"] = pixel_size[a]
        kwargs.update(ome=True, metadata=meta)
    if path.exists() and not os.access(path, os.W_OK):
        raise ImageError(f"cannot overwrite {path}; choose another output folder")
    try:
        atomic_write(path, lambda f: tifffile.imwrite(f, data, **kwargs))
    except PermissionError:
        raise ImageError(f"cannot write to {path.parent}; choose a writable output folder") from None
    return path
