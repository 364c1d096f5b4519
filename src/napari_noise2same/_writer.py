"""napari writer: an Image layer to TIFF with its axes, pixel sizes, units and time step.

Axes come from the layer's axis labels when they are the letters S T C Z Y X (any case),
else they are guessed (YX, ZYX, TZYX, TCZYX).  The file is an ImageJ hyperstack when the
axis order and dtype allow, else OME-TIFF, written by ``io.write_tiff`` (atomically).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .engine.axes import axes_from_labels, default_axes
from .errors import ImageError
from .io.images import TIFF_SUFFIXES, write_tiff
from .io.tiff_metadata import LENGTH_IN_UM, normalise_unit


def write_image_layer(path: str, data, attributes: dict) -> list[str]:
    """npe2 single-layer writer: returns the path written."""
    path = Path(path)
    if path.suffix.lower() not in TIFF_SUFFIXES:
        path = path.with_name(path.name + ".tif")
    if attributes.get("multiscale"):
        data = data[0]  # full resolution
    rgb = bool(attributes.get("rgb"))
    ndim = np.ndim(data) - (1 if rgb else 0)
    axes = layer_axes(attributes.get("axis_labels") or (), ndim)
    scale = list(attributes.get("scale") or [1.0] * ndim)
    units = list(attributes.get("units") or [None] * ndim)
    pixel_size, unit = _pixel_sizes(axes, scale, units)
    time_interval = _time_interval(axes, scale, units)
    written = write_tiff(
        path,
        np.asarray(data),
        axes + ("C" if rgb else ""),
        pixel_size,
        unit,
        time_interval=time_interval,
        rgb=rgb,
    )
    return [str(written)]


def layer_axes(labels, ndim: int) -> str:
    """Axis letters from napari labels ('t', 'z', 'y', 'x'), or the engine's guess when they are not letters."""
    named = axes_from_labels(labels, ndim)
    if named is not None:
        return named
    if not 2 <= ndim <= 5:
        raise ImageError(f"cannot save a {ndim}-D layer as TIFF without axis labels; label its axes with S T C Z Y X")
    return default_axes(ndim)


def _pixel_sizes(axes: str, scale, units) -> tuple[dict[str, float], str | None]:
    """X/Y/Z sizes in X's length unit; axes in pixels are left out once any axis has a length unit."""
    found = {a: (float(step), _short_unit(u)) for a, step, u in zip(axes, scale, units, strict=False) if a in "ZYX"}
    unit = next((found[a][1] for a in "XYZ" if a in found and found[a][1] not in (None, "pixel")), None)
    sizes: dict[str, float] = {}
    for a, (step, u) in found.items():
        if unit is None or u == unit:
            sizes[a] = step
        elif u in LENGTH_IN_UM and unit in LENGTH_IN_UM:
            sizes[a] = step * LENGTH_IN_UM[u] / LENGTH_IN_UM[unit]
    if unit is None and all(abs(s - 1.0) < 1e-12 for s in sizes.values()):
        return {}, None  # plain pixels
    return sizes, unit


def _time_interval(axes: str, scale, units) -> float | None:
    """Seconds per T step, when the T axis has a time unit."""
    if "T" not in axes:
        return None
    i = axes.index("T")
    u = units[i] if i < len(units) else None
    try:
        import pint

        quantity = float(scale[i]) * pint.get_application_registry().Unit(str(u))
        return float(quantity.to("second").magnitude)
    except (pint.errors.PintError, AttributeError, ValueError, TypeError):
        return None  # no unit, not a unit, or not a time


def _short_unit(u) -> str | None:
    """'micrometer' or <Unit('micrometer')> -> 'µm'; None when absent."""
    if u is None:
        return None
    try:
        text = format(u, "~") if not isinstance(u, str) else u
    except (TypeError, ValueError):
        text = str(u)
    return normalise_unit(text) or "pixel"
