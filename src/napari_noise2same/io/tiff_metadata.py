"""What a TIFF says about its pixels: axes, physical sizes, time step, channel names, RGB.

One implementation for the command line (``read_image``) and the napari reader.
ImageJ hyperstack metadata wins over OME-XML, which wins over plain TIFF tags.
"""

from __future__ import annotations

import logging
import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import tifffile

from ..errors import Fix, ImageError

MICRO = "µm"
# length units to micrometres, time units to seconds (spellings seen in ImageJ and OME files)
LENGTH_IN_UM = {"pm": 1e-6, "Å": 1e-4, "nm": 1e-3, MICRO: 1.0, "mm": 1e3, "cm": 1e4, "m": 1e6}
TIME_IN_S = {"µs": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0}
_UNIT_SPELLINGS = {
    "micron": MICRO,
    "microns": MICRO,
    "um": MICRO,
    "\\u00b5m": MICRO,
    "μm": MICRO,
    "micrometer": MICRO,
    "nanometer": "nm",
    "millimeter": "mm",
    "centimeter": "cm",
    "meter": "m",
    "angstrom": "Å",
    "sec": "s",
    "second": "s",
    "seconds": "s",
    "msec": "ms",
    "millisecond": "ms",
    "us": "µs",
    "minute": "min",
    "minutes": "min",
    "hour": "h",
    "hours": "h",
    "hr": "h",
}


@dataclass
class TiffMetadata:
    axes: str  # this package's letters, S T C Z Y X
    shape: tuple[int, ...] = ()
    pixel_size: dict[str, float] = field(default_factory=dict)  # X/Y/Z -> size in `unit`
    unit: str | None = None
    time_interval: float | None = None  # seconds between T steps
    channel_names: list[str] = field(default_factory=list)
    rgb: bool = False


def normalise_unit(unit) -> str | None:
    """One spelling per unit ('micron', 'um', '\\u00B5m' -> 'µm'); None for pixels or nothing."""
    if unit is None:
        return None
    text = str(unit).strip()
    if text.lower() in ("", "pixel", "pixels", "px", "none"):
        return None
    return _UNIT_SPELLINGS.get(text.lower(), text)


def pick_series(tif: tifffile.TiffFile) -> int:
    """Index of the full-resolution series: the largest one (thumbnails and labels are smaller)."""
    sizes = [math.prod(s.shape) if s.shape else 0 for s in tif.series]
    if not sizes or max(sizes) == 0:
        raise ImageError("the file holds no image data; copy or export it again")
    return int(np.argmax(sizes))


def our_axes(tiff_axes: str) -> str:
    """tifffile's axes to S T C Z Y X: samples 'S' become C, one unnamed axis becomes S."""
    out: list[str] = []
    for a in tiff_axes.upper():
        a = {"S": "C"}.get(a, a)
        if a not in "TCZYX" or a in out:
            if "S" in out:
                raise ImageError(f"its axes {tiff_axes!r} do not map onto S T C Z Y X; give {{}}", fixes=(Fix("axes"),))
            a = "S"
        out.append(a)
    return "".join(out)


def read_metadata(tif: tifffile.TiffFile, index: int) -> TiffMetadata:
    series = tif.series[index]
    meta = TiffMetadata(our_axes(series.axes), tuple(series.shape))
    keyframe = series.keyframe
    meta.rgb = (
        keyframe.photometric == tifffile.PHOTOMETRIC.RGB
        and series.axes.upper().endswith("S")
        and series.shape[-1] in (3, 4)
        and series.dtype == np.uint8
        and meta.axes.count("C") == 1
    )
    if tif.is_imagej and tif.imagej_metadata:
        _imagej(meta, tif.imagej_metadata, keyframe)
    elif tif.is_ome and tif.ome_metadata:
        _ome(meta, tif.ome_metadata, index)
    else:
        _plain(meta, keyframe)
    meta.pixel_size = {a: s for a, s in meta.pixel_size.items() if a in meta.axes and s > 0}
    if "T" not in meta.axes:
        meta.time_interval = None
    return meta


def _imagej(meta: TiffMetadata, ij: dict, page) -> None:
    meta.unit = normalise_unit(ij.get("unit"))
    meta.pixel_size.update(resolution(page))
    if ij.get("spacing"):
        meta.pixel_size["Z"] = float(ij["spacing"])
    if ij.get("finterval"):
        meta.time_interval = _seconds(float(ij["finterval"]), ij.get("tunit"))
    labels = ij.get("Labels")
    channels = _size(meta, "C")
    if channels and not meta.rgb and isinstance(labels, (list, tuple)) and len(labels) >= channels:
        meta.channel_names = [str(name) for name in labels[:channels]]  # ImageJ plane order is C fastest


def _ome(meta: TiffMetadata, xml: str, index: int) -> None:
    root = ET.fromstring(xml)
    images = [el for el in root if _tag(el) == "Image"]
    if not images:
        return
    pixels = next((el for el in images[index if index < len(images) else 0] if _tag(el) == "Pixels"), None)
    if pixels is None:
        return
    given = {a: pixels.get(f"PhysicalSize{a}") for a in "XYZ"}
    sizes = {a: float(v) for a, v in given.items() if v}
    units = {a: normalise_unit(pixels.get(f"PhysicalSize{a}Unit", MICRO)) for a in sizes}
    meta.unit = units.get("X") or units.get("Y") or units.get("Z")
    for a, size in sizes.items():  # bring Z (or a stray axis) to X's unit where both are known lengths
        unit = units[a]
        if unit != meta.unit and unit in LENGTH_IN_UM and meta.unit in LENGTH_IN_UM:
            size *= LENGTH_IN_UM[unit] / LENGTH_IN_UM[meta.unit]
        meta.pixel_size[a] = size
    step = pixels.get("TimeIncrement")
    if step:
        meta.time_interval = _seconds(float(step), pixels.get("TimeIncrementUnit"))
    names = [ch.get("Name") or "" for ch in pixels if _tag(ch) == "Channel"]
    if len(names) == _size(meta, "C") and any(names) and not meta.rgb:
        meta.channel_names = names


def _plain(meta: TiffMetadata, page) -> None:
    """Resolution tags only: centimetre/millimetre/micrometre become µm; inch (screen dpi) is ignored."""
    sizes = resolution(page)
    unit = page.tags.get("ResolutionUnit")
    unit = int(unit.value) if unit is not None else int(tifffile.RESUNIT.NONE)
    to_um = {
        int(tifffile.RESUNIT.CENTIMETER): 1e4,
        int(tifffile.RESUNIT.MILLIMETER): 1e3,
        int(tifffile.RESUNIT.MICROMETER): 1.0,
    }
    if unit == tifffile.RESUNIT.NONE:
        meta.pixel_size.update(sizes)
    elif unit in to_um:
        meta.pixel_size.update({a: s * to_um[unit] for a, s in sizes.items()})
        meta.unit = MICRO if sizes else None


def resolution(page) -> dict[str, float]:
    """Pixel sizes from the X/Y resolution tags (pixels per unit); 1/1 means unset."""
    sizes = {}
    for tag, axis in (("XResolution", "X"), ("YResolution", "Y")):
        t = page.tags.get(tag)
        if t is not None:
            num, den = t.value
            if num and den and num != den:
                sizes[axis] = den / num
    return sizes


def check_complete(tif: tifffile.TiffFile, index: int, file_size: int, warnings: Sequence[str] = ()) -> None:
    """Raise when the file is shorter than its own header says (an interrupted copy)."""
    damage = next((w for w in warnings if "invalid page offset" in w or "corrupted" in w), None)
    if damage:
        damage = damage.split("> ", 1)[-1]  # drop tifffile's object repr
        raise ImageError(f"the file is damaged or cut short (tifffile: {damage}); copy or export it again")
    series = tif.series[index]
    ij = tif.imagej_metadata if tif.is_imagej else None
    planes = math.prod(series.shape) // max(1, math.prod(series.keyframe.shape))
    if ij and int(ij.get("images", 1)) > planes:
        raise ImageError(
            f"the file is cut short (its ImageJ header promises {ij['images']} images, {planes} are there); "
            "copy or export it again"
        )
    if series.dataoffset is not None:
        end = series.dataoffset + series.nbytes
    else:
        last = series.pages[-1] if len(series.pages) else None
        spans = zip(getattr(last, "dataoffsets", ()), getattr(last, "databytecounts", ()), strict=False)
        end = max((o + n for o, n in spans), default=0)
    if end > file_size:
        raise ImageError(
            f"the file is cut short (its image data ends at byte {end}, the file has {file_size}); "
            "copy or export it again"
        )


class TiffWarnings(logging.Handler):
    """Collects what tifffile logs while a file opens (damage shows up there, not as errors)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())

    def __enter__(self):
        logging.getLogger("tifffile").addHandler(self)
        return self

    def __exit__(self, *exc):
        logging.getLogger("tifffile").removeHandler(self)


def _seconds(value: float, unit) -> float:
    unit = normalise_unit(unit) or "s"
    return value * TIME_IN_S.get(unit, 1.0)


def _size(meta: TiffMetadata, axis: str) -> int:
    return meta.shape[meta.axes.index(axis)] if axis in meta.axes else 0


def _tag(el) -> str:
    return el.tag.rsplit("}", 1)[-1]
