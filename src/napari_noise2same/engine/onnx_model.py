"""A saved model run by ONNX Runtime alone: prediction without torch.

:func:`load_onnx_model` reads a ``.n2s`` file's JSON and ONNX network (not its PyTorch
weights) and gives an object the predictor takes like a :class:`.model.Noise2SameModel`, so
that ``noise2same predict --engine onnx`` never imports torch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import Fix, ModelFileError, Noise2SameError
from . import model_file
from .onnx_runner import OnnxRunner, open_session, require
from .predict_options import PredictOptions


@dataclass
class OnnxModel:
    axes: str
    dims: int
    channels: int
    base_width: int
    onnx: bytes = field(repr=False)
    normalization: dict = field(default_factory=dict)
    summary: dict = field(default_factory=dict)
    train_config: dict = field(default_factory=dict)
    _runner: OnnxRunner | None = field(default=None, repr=False)

    @property
    def per_frame(self) -> bool:
        return self.normalization.get("per") == "frame"

    def runner(self, options: PredictOptions) -> OnnxRunner:
        if options.engine == "torch" or options.precision != "float32" or options.device not in (None, "cpu", "auto"):
            raise Noise2SameError(
                "this model was opened for ONNX Runtime (CPU only); use {}", fixes=(Fix("engine", "torch"),)
            )
        if self._runner is None:  # load_onnx_model opens (and checks) it at once
            self._runner = OnnxRunner(open_session(self.onnx, self.dims, self.channels))
        return self._runner

    def predict(self, image: np.ndarray, axes: str, options: PredictOptions | None = None, **hooks) -> np.ndarray:
        from .predict import predict

        return predict(self, image, axes, options, **hooks)


def has_onnx(path: str | os.PathLike) -> bool:
    """Whether a model file carries its network as ONNX (reads only the zip's directory)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            return model_file.ONNX_MEMBER in z.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


def load_onnx_model(path: str | os.PathLike) -> OnnxModel:
    """The model file's ONNX network with what prediction needs; refused where it has none."""
    require()
    contents = model_file.read(path, weights=False, onnx=True)
    meta, unet = contents.meta, contents.meta.get("unet", {})
    if contents.onnx is None:
        raise ModelFileError(
            f"{path} carries no ONNX network (saved without the onnx extra); use {{}}, or save the model "
            "again with napari-noise2same[onnx] installed",
            path=Path(path),
            fixes=(Fix("engine", "torch"),),
        )
    try:
        model = OnnxModel(
            meta.get("axes", "YX"),
            int(unet["dims"]),
            int(unet["in_channels"]),
            int(unet["base_width"]) * int(unet.get("groups", 1)),  # all channels' networks (for tiling)
            contents.onnx,
            meta.get("normalization", {}),
            meta.get("summary", {}),
            meta.get("train_config", {}),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFileError(
            f"{path} is damaged or was edited ({type(e).__name__}); retrain it", path=Path(path)
        ) from None
    model._runner = OnnxRunner(open_session(model.onnx, model.dims, model.channels, source=str(path)))
    return model
