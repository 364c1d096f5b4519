"""What the training loop (engine/trainer.py) reports after each step, and when it saves."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass


@dataclass
class TrainEvent:
    step: int  # global step just finished (1-based)
    target_step: int | None  # step at which this run ends, when budgeted by steps
    loss: float
    reconstruction: float
    invariance: float
    val_loss: float | None  # set on the steps where validation ran
    steps_per_s: float
    elapsed_s: float  # seconds in this run
    eta_s: float | None
    learning_rate: float
    finishing: bool = False  # the validation loss stopped improving: the run ends after a short decay
    note: str | None = None  # something that happened at this step, in words (a checkpoint, a plateau)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Checkpoint:
    """Save the model (with the optimiser's state) to ``path`` every ``every_seconds`` of a run."""

    path: str | os.PathLike
    every_seconds: float = 300.0
