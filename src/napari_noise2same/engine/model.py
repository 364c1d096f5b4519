"""A trained Noise2Same model: the network plus everything prediction needs to know.

Saving and loading turn it into the JSON and tensors of :mod:`.model_file` (the container,
which knows nothing of this class) and back."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..errors import ModelFileError
from . import model_file
from .config import TrainConfig
from .predict_options import PredictOptions
from .unet import UNet, UNetConfig


@dataclass
class Noise2SameModel:
    net: UNet
    axes: str  # axes of the training data, e.g. "TYX"
    train_config: TrainConfig
    normalization: dict = field(default_factory=dict)  # training images' per-channel mean and std
    summary: dict = field(default_factory=dict)  # steps, losses, D(f), time, date, data shapes
    #: a checkpoint's optimiser state ({"optimizer": torch state dict}), to continue training exactly
    training_state: dict | None = field(default=None, repr=False)

    @property
    def unet_config(self) -> UNetConfig:
        return self.net.config

    @property
    def per_frame(self) -> bool:
        """Whether each frame is standardised by its own statistics (every model since 0.2; older
        ones used the whole image's)."""
        return self.normalization.get("per") == "frame"

    @property
    def dims(self) -> int:
        return self.unet_config.dims

    @property
    def channels(self) -> int:
        return self.unet_config.in_channels

    def set_pixel_size(self, pixel_size: dict, unit: str | None) -> None:
        """Record the training data's pixel sizes (axis letter -> size in ``unit``) in the summary,
        for exports that describe physical axes; nothing without a unit."""
        sizes = {a: float(v) for a, v in (pixel_size or {}).items() if a in "ZYX" and v and v > 0}
        if unit and unit != "pixel" and sizes:
            self.summary["pixel_size"], self.summary["unit"] = sizes, str(unit)

    def predict(self, image: np.ndarray, axes: str, options: PredictOptions | None = None, **hooks) -> np.ndarray:
        """Denoise ``image`` (any axes order) with ``options`` (tiles, TTA, device); ``hooks`` are
        :func:`.predict.predict`'s progress and stop callbacks."""
        from .predict import predict

        return predict(self, image, axes, options, **hooks)

    def metadata(self) -> dict:
        """Everything but the weights, as stored in the model file's JSON."""
        return {
            "unet": self.unet_config.to_dict(),
            "axes": self.axes,
            "train_config": self.train_config.to_dict(),
            "normalization": self.normalization,
            "summary": self.summary,
        }

    def save(self, path: str | os.PathLike) -> Path:
        """Write the model (and a checkpoint's optimiser state) to ``path`` atomically."""
        optimizer = self.training_state["optimizer"] if self.training_state else None
        return model_file.write(path, self.metadata(), self.net.state_dict(), optimizer)

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | torch.device = "cpu") -> Noise2SameModel:
        """Read a model file; nothing in it is executed or unpickled."""
        meta, state, optimizer = model_file.read(path)
        try:
            net = UNet(UNetConfig(**meta["unet"]))
            net.load_state_dict(state, strict=True)
            config = TrainConfig.from_dict(meta.get("train_config", {}))
        except (KeyError, TypeError, ValueError, RuntimeError) as e:  # well-formed file, content not ours
            raise ModelFileError(
                f"{path} is damaged or was edited ({type(e).__name__}); retrain or re-export it", path=Path(path)
            ) from None
        net.to(device).eval()
        training_state = {"optimizer": optimizer} if optimizer is not None else None
        return cls(
            net, meta.get("axes", "YX"), config, meta.get("normalization", {}), meta.get("summary", {}), training_state
        )


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu") -> Noise2SameModel:
    """Read a ``.n2s`` model file (see :meth:`Noise2SameModel.load`)."""
    return Noise2SameModel.load(path, device)


def save_model(model: Noise2SameModel, path: str | os.PathLike) -> Path:
    return model.save(path)
