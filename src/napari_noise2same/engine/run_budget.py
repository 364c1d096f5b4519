"""One training run's budget (steps, seconds or both): its target, its progress, its ETA, and
ending it early when learning has stopped (``Trainer.train``; ``stop_when_done``)."""

from __future__ import annotations

from .schedule import decay_start, decays


class RunBudget:
    """One call of :meth:`Trainer.train`: its budget, its progress, and ending it early."""

    def __init__(self, first_step: int, steps: int | None, seconds: float | None):
        self.first_step, self.steps, self.seconds = first_step, steps, seconds
        self.finishing = False

    @property
    def target_step(self) -> int | None:
        return None if self.steps is None else self.first_step + self.steps

    def progress(self, step: int, elapsed: float) -> float:
        parts = []
        if self.steps:
            parts.append((step - self.first_step) / self.steps)
        if self.seconds:
            parts.append(elapsed / self.seconds)
        return max(parts)

    def over(self, step: int, elapsed: float) -> bool:
        return (self.steps is not None and step - self.first_step >= self.steps) or (
            self.seconds is not None and elapsed >= self.seconds
        )

    def finish(self, step: int, elapsed: float, schedule: str) -> str:
        """Learning has stopped: shorten the run so that only the schedule's decay is left (or
        end it now, for a schedule without one).  Returns what happened, in words."""
        self.finishing = True
        done = self.progress(step, elapsed)
        if decays(schedule) and done < decay_start(schedule):
            scale = done / decay_start(schedule)
            self.steps = None if self.steps is None else max(1, round(self.steps * scale))
            self.seconds = None if self.seconds is None else self.seconds * scale
            return "the validation loss stopped improving: finishing with the learning-rate decay"
        if decays(schedule):
            return "the validation loss stopped improving during the final decay: finishing it"
        self.steps, self.seconds = step - self.first_step, None
        return "the validation loss stopped improving: stopping"


def eta(step, target, rate, elapsed, max_seconds):
    etas = []
    if target is not None and rate:
        etas.append((target - step) / rate)
    if max_seconds is not None:
        etas.append(max(0.0, max_seconds - elapsed))
    return min(etas) if etas else None
