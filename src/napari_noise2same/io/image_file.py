"""An image as read from a file: its data, axes and physical metadata."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class ImageFile:
    data: Any  # numpy; when opened lazily a dask array, or a TiffPages zarr view (io/images.py)
    axes: str
    pixel_size: dict[str, float] = field(default_factory=dict)  # axis letter -> size in `unit`
    unit: str | None = None
    path: Path | None = None
    time_interval: float | None = None  # seconds between T steps
    channel_names: list[str] = field(default_factory=list)
    rgb: bool = False  # 8-bit RGB(A) picture, C last
    ome: bool = False  # an OME-Zarr image (results are written as OME-Zarr too)
