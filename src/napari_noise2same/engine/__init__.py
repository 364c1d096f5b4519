"""The Noise2Same engine: torch and numpy only, no Qt, no napari.

The names below load on first use, so that importing a light module of the engine (axes,
options, schedules) does not import torch.
"""

from __future__ import annotations

import importlib

_WHERE = {
    "DEFAULT_PRESET": "unet",
    "PRESETS": "unet",
    "Noise2SameModel": "model",
    "PredictOptions": "predict_options",
    "TrainConfig": "config",
    "TrainEvent": "trainer",
    "Trainer": "trainer",
    "TrainingData": "data",
    "UNet": "unet",
    "UNetConfig": "unet",
    "load_model": "model",
    "read_metadata": "model_file",
    "save_model": "model",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
