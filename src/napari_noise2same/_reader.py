"""napari reader for TIFF stacks (ImageJ hyperstacks, OME-TIFF, plain TIFF).

The file is read by ``io.read_image`` (also used by the command line); this module only turns
the result into a napari layer: lower-case axis labels, scale, units, one layer per channel.
"""

from __future__ import annotations

import os
import tokenize
from pathlib import Path

from .io.images import TIFF_SUFFIXES, ImageFile, read_image


def get_reader(path):
    """The reader function for a single TIFF path, else None so napari tries other readers."""
    if not isinstance(path, (str, os.PathLike)) or not str(path).lower().endswith(TIFF_SUFFIXES):
        return None
    return read_tiff_layers


def read_tiff_layers(path) -> list[tuple]:
    """Layer data for one TIFF; raises ImageError with a one-line message when it cannot be read."""
    if isinstance(path, (list, tuple)):
        path = path[0]
    return [layer_data(read_image(path))]


def layer_data(image: ImageFile) -> tuple:
    """(data, kwargs, 'image') for napari: channels split via ``channel_axis`` unless RGB."""
    axes = image.axes
    stem = _stem(image.path) if image.path else "image"
    kwargs: dict = {"rgb": image.rgb}
    if "C" in axes and not image.rgb:
        c = axes.index("C")
        n = image.data.shape[c]
        kwargs["channel_axis"] = c
        kwargs["name"] = _channel_names(image.channel_names, n, stem)
    else:
        kwargs["name"] = stem
    layer_axes = axes.replace("C", "") if "C" in axes else axes  # napari drops the channel/RGB axis
    kwargs["axis_labels"] = [a.lower() for a in layer_axes]
    kwargs["scale"] = [_step(image, a) for a in layer_axes]
    kwargs["units"] = [_unit(image, a) for a in layer_axes]
    return image.data, kwargs, "image"


def _stem(path) -> str:
    name = Path(path).name
    for suffix in (".ome.tiff", ".ome.tif", ".tiff", ".tif"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return Path(path).stem


def _channel_names(names: list[str], n: int, stem: str) -> list[str]:
    names = list(names) if len(names) == n else [""] * n
    return [name.strip() or f"{stem} [c{i}]" for i, name in enumerate(names)]


def _step(image: ImageFile, axis: str) -> float:
    if axis == "T":
        return float(image.time_interval or 1.0)
    return float(image.pixel_size.get(axis, 1.0))


def _unit(image: ImageFile, axis: str) -> str:
    """A unit napari (pint) knows, or 'pixel': an unknown unit never makes the read fail."""
    if axis == "T":
        return "second" if image.time_interval else "pixel"
    if axis not in "ZYX" or axis not in image.pixel_size or not image.unit:
        return "pixel"
    return pint_unit(image.unit) or "pixel"


def pint_unit(unit: str) -> str | None:
    """The pint name of ``unit`` ('µm' -> 'micrometer'), None when pint does not know it."""
    import pint

    try:
        return str(pint.get_application_registry().parse_expression(unit).units)
    except (pint.errors.PintError, AttributeError, ValueError, TypeError, AssertionError, tokenize.TokenError):
        return None  # not a unit pint knows: pint raises these for unknown names and for text like '??'
