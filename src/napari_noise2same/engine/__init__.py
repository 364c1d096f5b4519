"""The Noise2Same engine: torch and numpy only, no Qt, no napari."""

from .config import TrainConfig
from .data import TrainingData
from .model import Noise2SameModel
from .model_file import load_model, read_metadata, save_model
from .predict import predict
from .trainer import TrainEvent, Trainer
from .unet import DEFAULT_PRESET, PRESETS, UNet, UNetConfig

__all__ = [
    "DEFAULT_PRESET",
    "PRESETS",
    "Noise2SameModel",
    "TrainConfig",
    "TrainEvent",
    "Trainer",
    "TrainingData",
    "UNet",
    "UNetConfig",
    "load_model",
    "predict",
    "read_metadata",
    "save_model",
]
