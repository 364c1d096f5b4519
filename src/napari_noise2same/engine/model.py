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
from .spread import PREFIX as SPREAD_PREFIX
from .spread import SpreadHead
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
    #: the network as ONNX (engine/onnx_export.py), for ONNX Runtime; saved with the model when set
    onnx: bytes | None = field(default=None, repr=False)
    #: the spread head (engine/spread.py) behind ``estimate="posterior"``; None in models saved before it
    spread: SpreadHead | None = field(default=None, repr=False)

    @property
    def unet_config(self) -> UNetConfig:
        return self.net.config

    @property
    def per_frame(self) -> bool:
        """Whether each frame is standardised by its own statistics (every model since 0.2; older
        ones used the whole image's)."""
        return self.normalization.get("per") == "frame"

    @property
    def base_width(self) -> int:
        """Feature channels of the network's first level (all channels' networks together)."""
        return self.unet_config.width

    @property
    def channel_mode(self) -> str:
        """ "independent": one network per channel; "joint": one network sees all channels."""
        return "independent" if self.unet_config.groups > 1 else "joint"

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

    def runner(self, options: PredictOptions):
        """What runs the network for the predictor: PyTorch on ``options.device`` (or where the
        network is), or ONNX Runtime on the CPU (``options.engine``; the ONNX network is exported
        now where the model has none)."""
        from .devices import resolve_device
        from .predict_options import choose_engine

        device = resolve_device(options.device) if options.device is not None else next(self.net.parameters()).device
        engine = choose_engine(options, self.onnx is not None, device.type == "cpu", self.dims)
        if engine == "onnx":
            from .onnx_runner import OnnxRunner, open_session, require

            require()
            if self.onnx is None:
                self.with_onnx()
            assert self.onnx is not None
            return OnnxRunner(open_session(self.onnx, self.dims, self.channels))
        from .torch_runner import TorchRunner

        return TorchRunner(self.net, device, self.dims, options.precision)

    def metadata(self) -> dict:
        """Everything but the weights, as stored in the model file's JSON."""
        return {
            "unet": self.unet_config.to_dict(),
            "axes": self.axes,
            "train_config": self.train_config.to_dict(),
            "normalization": self.normalization,
            "summary": self.summary,
        }

    def with_onnx(self) -> Noise2SameModel:
        """Attach the network as ONNX (``pip install 'napari-noise2same[onnx]'``), so that saved
        files can be run by ONNX Runtime; returns the model."""
        from .onnx_export import export_onnx

        self.onnx = export_onnx(self.net)
        return self

    def save(self, path: str | os.PathLike) -> Path:
        """Write the model (with its ONNX network and a checkpoint's optimiser state, where it has
        them) to ``path`` atomically."""
        state = {k: v.detach().cpu().numpy() for k, v in self.net.state_dict().items()}
        if self.spread is not None:
            state |= {SPREAD_PREFIX + k: v.detach().cpu().numpy() for k, v in self.spread.state_dict().items()}
        optimizer = self.training_state["optimizer"] if self.training_state else None
        if optimizer is not None:
            optimizer = {
                "state": {
                    i: {k: torch.as_tensor(v).detach().cpu().numpy() for k, v in entries.items()}
                    for i, entries in optimizer["state"].items()
                },
                "param_groups": optimizer["param_groups"],
            }
        return model_file.write(path, model_file.Contents(self.metadata(), state, optimizer, self.onnx))

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | torch.device = "cpu") -> Noise2SameModel:
        """Read a model file; nothing in it is executed or unpickled."""
        contents = model_file.read(path, onnx=True)
        meta = contents.meta
        try:
            net = UNet(UNetConfig(**meta["unet"]))
            weights = {k: torch.from_numpy(v) for k, v in contents.state.items()}
            head = {k[len(SPREAD_PREFIX) :]: weights.pop(k) for k in list(weights) if k.startswith(SPREAD_PREFIX)}
            net.load_state_dict(weights, strict=True)
            spread = None
            if head:
                spread = SpreadHead.for_net(net)
                spread.load_state_dict(head, strict=True)
                spread.to(device).eval()
            config = TrainConfig.from_dict(meta.get("train_config", {}))
        except (KeyError, TypeError, ValueError, RuntimeError) as e:  # well-formed file, content not ours
            raise ModelFileError(
                f"{path} is damaged or was edited ({type(e).__name__}); retrain or re-export it", path=Path(path)
            ) from None
        net.to(device).eval()
        training_state = None
        if contents.optimizer is not None:
            state = {
                i: {k: torch.from_numpy(np.array(v)) for k, v in entries.items()}
                for i, entries in contents.optimizer["state"].items()
            }
            training_state = {"optimizer": {"state": state, "param_groups": contents.optimizer["param_groups"]}}
        return cls(
            net,
            meta.get("axes", "YX"),
            config,
            meta.get("normalization", {}),
            meta.get("summary", {}),
            training_state,
            contents.onnx,
            spread,
        )


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu") -> Noise2SameModel:
    """Read a ``.n2s`` model file (see :meth:`Noise2SameModel.load`)."""
    return Noise2SameModel.load(path, device)


def save_model(model: Noise2SameModel, path: str | os.PathLike) -> Path:
    return model.save(path)
