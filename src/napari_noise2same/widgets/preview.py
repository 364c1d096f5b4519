"""The live preview of a training run: which layer shows it, how a plane is denoised for it,
and how it becomes the result.

The preview draws into the ``<layer>_denoised`` of an earlier run when there is one, else into
a ``<layer>_preview`` made at Train that is renamed into the result at the end: adding and
removing layers stalls napari 0.1-0.3 s each time, and layers added and removed every run
slowly grow its memory.
"""

from __future__ import annotations

import numpy as np

from .layers import result_kwargs, set_or_add

MAX_BYTES = 2**30  # no live preview where a float32 copy of the layer would be larger


def denoise_plane(trainer, data, axes: str, index: tuple) -> np.ndarray:
    """The plane (or volume) ``data[index]`` denoised with the trainer's current weights;
    the network is back in training mode afterwards."""
    from ..engine.model import Noise2SameModel

    sub_axes = "".join(a for a, i in zip(axes, index, strict=False) if isinstance(i, slice))
    model = Noise2SameModel(trainer.net, axes, trainer.config)
    try:
        return model.predict(np.asarray(data[index]), sub_axes)
    finally:
        trainer.net.train()


class LivePreview:
    def __init__(self, viewer):
        self.viewer = viewer
        self.name: str | None = None  # the layer the preview draws into

    def prepare(self, layer) -> None:
        self.name = None
        for name in (f"{layer.name}_denoised", f"{layer.name}_preview"):
            if name in self.viewer.layers and self.viewer.layers[name].data.shape == layer.data.shape:
                self.name = name
                return
        if np.prod(layer.data.shape) * 4 > MAX_BYTES:
            return
        self.name = f"{layer.name}_preview"
        set_or_add(self.viewer, np.zeros(layer.data.shape, np.float32), result_kwargs(layer, self.name))

    def show(self, index: tuple, plane: np.ndarray) -> None:
        if self.name in self.viewer.layers:
            target = self.viewer.layers[self.name]
            target.data[index] = plane
            target.refresh()

    def drop(self) -> None:
        """Remove a ``<layer>_preview`` made for this run (never an earlier result)."""
        if self._made_for_this_run():
            self.viewer.layers.remove(self.name)
        self.name = None

    def finish(self, layer, denoised: np.ndarray) -> None:
        """Put the whole denoised layer in ``<layer>_denoised``."""
        name = f"{layer.name}_denoised"
        if self._made_for_this_run() and name not in self.viewer.layers:
            self.viewer.layers[self.name].data = denoised
            self.viewer.layers[self.name].name = name
            self.name = None
        else:
            set_or_add(self.viewer, denoised, result_kwargs(layer, name))
            self.drop()

    def _made_for_this_run(self) -> bool:
        return bool(self.name) and self.name.endswith("_preview") and self.name in self.viewer.layers
