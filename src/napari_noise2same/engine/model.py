"""A trained Noise2Same model: the network plus everything prediction needs to know."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .config import TrainConfig
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

    def predict(self, image: np.ndarray, axes: str, **kwargs) -> np.ndarray:
        """Denoise ``image`` (any axes order); see :func:`predict.predict` for the options."""
        from .predict import predict

        return predict(self, image, axes, **kwargs)

    def save(self, path) -> None:
        from .model_file import save_model

        save_model(self, path)

    @classmethod
    def load(cls, path, device="cpu") -> "Noise2SameModel":
        from .model_file import load_model

        return load_model(path, device=device)
