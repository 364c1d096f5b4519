"""Export trained models to other formats: a bioimage.io model package (:func:`export_bioimageio`).

Nothing here imports bioimage.io at import time; the optional extra
``napari-noise2same[bioimageio]`` is needed only when a package is written.
"""

from .bioimageio import export_bioimageio

__all__ = ["export_bioimageio"]
