"""How to predict: tiles, overlap, test-time augmentation and device (no torch needed)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PredictOptions:
    """Settings of one prediction, the same for the command line, napari and Python.

    ``tile_size`` None: the whole sample when its activations fit in about 1.5 GB, else tiles
    (engine/tiling.py: 512 px in 2D, 64 x 256 x 256 in 3D); an int is the YX side (3D: Z too).
    ``overlap`` None: tiling.DEFAULT_OVERLAP.  ``tta``: average the 8 rotations and flips of
    the YX plane.  ``device`` None: where the model is ("cpu", "cuda", "cuda:1", "mps", "auto").
    """

    tile_size: int | tuple[int, ...] | None = None
    overlap: int | tuple[int, ...] | None = None
    tta: bool = False
    device: str | None = None
