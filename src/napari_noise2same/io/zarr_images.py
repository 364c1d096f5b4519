"""Zarr arrays and OME-Zarr images, read lazily (dask) and written chunk by chunk.

OME-Zarr (NGFF 0.4 in Zarr v2 stores, and 0.5 in Zarr v3 stores) gives the axes,
pixel sizes and units of the full-resolution level.  A plain zarr array has no
axes: they are guessed as for a plain TIFF, or given with ``--axes``.  Results are
written as OME-Zarr 0.4 (one resolution level) when the input was OME-Zarr, else as
a plain array like the input, under a temporary name that is renamed when complete.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_write_dir
from ..engine.axes import default_axes
from ..errors import Fix, ImageError
from .image_file import ImageFile
from .tiff_metadata import LENGTH_IN_UM, TIME_IN_S, normalise_unit

MARKERS = (".zarray", ".zgroup", "zarr.json")
_LETTERS = {"t": "T", "c": "C", "z": "Z", "y": "Y", "x": "X"}
OME_UNITS = {
    "µm": "micrometer",
    "nm": "nanometer",
    "mm": "millimeter",
    "cm": "centimeter",
    "m": "meter",
    "Å": "angstrom",
    "pm": "picometer",
}


def is_zarr(path: str | os.PathLike) -> bool:
    path = Path(path)
    return path.is_dir() and (path.suffix.lower() == ".zarr" or any((path / m).is_file() for m in MARKERS))


def read_zarr(path: str | os.PathLike):
    """An :class:`ImageFile` whose data is a dask array over the store (nothing is read yet)."""
    import dask.array as da
    import zarr

    path = Path(path)
    try:
        node = zarr.open(str(path), mode="r")
    except (OSError, ValueError, KeyError, TypeError) as e:  # zarr's own errors are ValueErrors
        raise ImageError(
            f"cannot read {path}: not a zarr array or OME-Zarr image ({type(e).__name__}: {e})", path=path
        ) from None
    pixel_size: dict[str, float] = {}
    unit: str | None = None
    interval: float | None = None
    names: list[str] = []
    array: Any  # a zarr array (zarr 2 and 3 type them differently)
    if isinstance(node, zarr.Group):
        attrs: dict[str, Any] = dict(node.attrs)
        multiscales = _multiscales(attrs)
        if multiscales is None:
            arrays = sorted(node.array_keys())
            hint = f"give one of its arrays, e.g. {path / arrays[0]}" if arrays else "it holds no array"
            raise ImageError(f"{path} is a zarr group without OME-Zarr metadata; {hint}", path=path)
        level = multiscales["datasets"][0]
        array = node[level["path"]]
        axes, units = _ome_axes(multiscales.get("axes"), array.ndim, path)
        scale = _scale(level, multiscales, array.ndim)
        lengths = {a: u for a, u in units.items() if a in "ZYX" and u}
        unit = normalise_unit(next(iter(lengths.values()), None))
        for a, s in zip(axes, scale, strict=False):
            if a in "ZYX" and s and unit:
                pixel_size[a] = float(s)
            time_unit = normalise_unit(units.get("T"))
            if a == "T" and s and time_unit in TIME_IN_S:
                interval = float(s) * TIME_IN_S[time_unit]
        names = [str(ch.get("label", "")) for ch in attrs.get("omero", {}).get("channels", [])]
    else:
        array = node
        axes = default_axes(array.ndim)
    if "C" not in axes or len(names) != array.shape[axes.index("C")] or not any(names):
        names = []
    return ImageFile(
        da.from_zarr(array),
        axes,
        pixel_size,
        unit,
        path,
        time_interval=interval,
        channel_names=names,
        ome=isinstance(node, zarr.Group),
    )


def write_zarr(
    path: str | os.PathLike,
    data,
    axes: str,
    pixel_size=None,
    unit=None,
    *,
    time_interval=None,
    channel_names=None,
    ome: bool = True,
    chunks=None,
) -> Path:
    """Write ``data`` (a dask or numpy array) chunk by chunk, with the current dask scheduler.

    ``ome``: an OME-Zarr 0.4 image (group with the array at "0"), else a plain zarr array.
    """
    import dask.array as da

    data = data if isinstance(data, da.Array) else da.from_array(np.asarray(data), chunks=chunks or "auto")
    if chunks is not None:
        data = data.rechunk(chunks)
    data = data.rechunk(tuple(c[0] for c in data.chunks))  # zarr chunks are regular: all but the last the same
    axes = axes.upper()

    def write(folder: Path) -> None:
        import zarr

        v2: dict[str, Any] = {"zarr_format": 2} if int(zarr.__version__.split(".")[0]) >= 3 else {}
        shape, chunk = data.shape, tuple(c[0] for c in data.chunks)
        if ome:
            group = zarr.open_group(str(folder), mode="w", **v2)
            group.attrs.update(
                _ome_attrs(axes, pixel_size or {}, normalise_unit(unit), time_interval, channel_names or [], data.shape)
            )
            target: Any = zarr.open_array(
                str(folder / "0"), mode="w", shape=shape, chunks=chunk, dtype=data.dtype, dimension_separator="/", **v2
            )
        else:
            target = zarr.open_array(str(folder), mode="w", shape=shape, chunks=chunk, dtype=data.dtype, **v2)
        da.store(data, target, lock=False)

    return atomic_write_dir(path, write)


def _multiscales(attrs: dict):
    ome = attrs.get("ome", attrs)  # 0.5 nests everything under "ome"
    found = ome.get("multiscales") if isinstance(ome, dict) else None
    return found[0] if found else None


def _ome_axes(axes, ndim: int, path: Path) -> tuple[str, dict]:
    if not axes:  # NGFF 0.1/0.2 had no axes: TCZYX
        return "TCZYX"[-ndim:], {}
    names = [(a["name"] if isinstance(a, dict) else a).lower() for a in axes]
    letters = "".join(_LETTERS.get(n, "S") for n in names)
    if len(set(letters)) != len(letters):
        raise ImageError(
            f"{path}: axes {names} repeat or name unknown axes; give {{}}", path=path, fixes=(Fix("axes"),)
        )
    units = {
        _LETTERS.get(n, "S"): (a.get("unit") if isinstance(a, dict) else None) for n, a in zip(names, axes, strict=True)
    }
    return letters, units


def _scale(level: dict, multiscales: dict, ndim: int) -> list[float]:
    scale = np.ones(ndim)
    for transforms in (level.get("coordinateTransformations", []), multiscales.get("coordinateTransformations", [])):
        for t in transforms:
            if t.get("type") == "scale" and len(t.get("scale", [])) == ndim:
                scale *= np.asarray(t["scale"], dtype=float)
    return scale.tolist()


def _ome_attrs(axes, pixel_size, unit, time_interval, channel_names, shape) -> dict:
    kinds = {"T": "time", "C": "channel", "Z": "space", "Y": "space", "X": "space"}
    described, scale = [], []
    for a in axes:
        entry = {"name": a.lower() if a in kinds else "s", "type": kinds.get(a, "custom")}
        if a in "ZYX" and unit in LENGTH_IN_UM:
            entry["unit"] = OME_UNITS[unit]
        if a == "T" and time_interval:
            entry["unit"] = "second"
        described.append(entry)
        scale.append(float(pixel_size.get(a, 1.0)) if a in "ZYX" else float(time_interval or 1.0) if a == "T" else 1.0)
    attrs: dict[str, Any] = {
        "multiscales": [
            {
                "version": "0.4",
                "name": "denoised",
                "axes": described,
                "datasets": [{"path": "0", "coordinateTransformations": [{"type": "scale", "scale": scale}]}],
            }
        ]
    }
    if "C" in axes and len(channel_names) == shape[axes.index("C")]:
        attrs["omero"] = {"channels": [{"label": str(n), "active": True} for n in channel_names]}
    return attrs
