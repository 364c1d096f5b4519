"""napari sample data: a noisy microscopy image made offline (File > Open Sample)."""

from __future__ import annotations

from .examples import noisy_cell


def noisy_cell_sample():
    noisy, _ = noisy_cell(seed=0)
    return [(noisy, {"name": "noisy cell", "colormap": "gray"}, "image")]
