"""napari widgets: thin Qt front-ends over the engine."""

from .predict import PredictWidget
from .train import TrainWidget

__all__ = ["PredictWidget", "TrainWidget"]
