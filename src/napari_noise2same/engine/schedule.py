"""The learning rate over a run, and knowing when training is done.

A run is one call of :meth:`Trainer.train` with its budget (steps, seconds or both);
its *progress* goes from 0 to 1 as the budget is spent.  Schedules:

* ``step``: the official Noise2Same schedule, halved every ``lr_halve_every`` steps of the
  model (5000 by default: a run of minutes never reaches it);
* ``constant``: the base rate throughout;
* ``cosine``: half a cosine from the base rate to 0 over the run;
* ``tail``: the base rate, then a linear decay to 0 over the last ``TAIL`` of the run
  (warm-up, stable, decay: a run that stops early only has to decay from where it is).

Stopping when done: :class:`Plateau` watches the validation loss; when it has not improved
for a while the trainer shortens the run so that only the decay is left (or stops at once
where the schedule has no decay).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SCHEDULES = ("step", "constant", "cosine", "tail")
#: the share of a run over which ``tail`` decays
TAIL = 0.3


def lr_factor(schedule: str, progress: float, step: int = 0, halve_every: int = 5000) -> float:
    """The multiplier of the base learning rate at run ``progress`` (0 to 1) and model ``step``."""
    p = min(max(progress, 0.0), 1.0)
    if schedule == "step":
        return 0.5 ** (step // halve_every)
    if schedule == "constant":
        return 1.0
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * p))
    if schedule == "tail":
        return min(1.0, (1.0 - p) / TAIL)
    raise ValueError(f"unknown schedule {schedule!r}")


def describe(schedule: str, halve_every: int = 5000) -> str:
    """The schedule in words, for model files and ``noise2same info``."""
    if schedule == "step":
        return f"halved every {halve_every} steps"
    return {
        "tail": f"decayed to 0 over the last {TAIL:.0%} of each run",
        "cosine": "cosine decay over each run",
        "constant": "constant",
    }.get(schedule, schedule)


def decays(schedule: str) -> bool:
    """Whether the schedule ends its run with a decay (so stopping early should decay first)."""
    return schedule in ("cosine", "tail")


def decay_start(schedule: str) -> float:
    """The progress at which the final decay begins."""
    return {"tail": 1.0 - TAIL, "cosine": 0.0}.get(schedule, 1.0)


@dataclass
class Plateau:
    """Has the validation loss stopped improving?

    An improvement is a value below the best so far by more than ``min_delta`` (relative).
    The loss has plateaued once ``patience`` validations in a row brought none, where
    ``patience`` grows with the run: at least ``min_patience`` validations and at least
    ``fraction`` of all validations so far (late in a long run, progress is slower but real).
    """

    min_patience: int = 5
    fraction: float = 0.2
    min_delta: float = 1e-3
    best: float = math.inf
    since_best: int = 0
    seen: int = 0

    def update(self, value: float) -> bool:
        """Record a validation loss; True when training has plateaued."""
        self.seen += 1
        if math.isfinite(value) and value < self.best - self.min_delta * abs(
            self.best if math.isfinite(self.best) else value
        ):
            self.best, self.since_best = value, 0
        else:
            self.since_best += 1
        return self.since_best >= self.patience

    @property
    def patience(self) -> int:
        return max(self.min_patience, math.ceil(self.fraction * self.seen))
