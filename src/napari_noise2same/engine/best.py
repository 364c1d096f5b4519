"""The weights of a run's lowest validation loss, kept to end the run with.

On a small training set a long run can start fitting the noise: the validation loss (the
training loss on held-out patches) then rises while the PSNR falls. With ``keep_best`` a run
ends with the weights of its lowest validation loss when the last weights' is higher by more
than ``margin`` (relative); below that the difference is within the validation loss's own
scatter, and the last weights, trained longest and on a decayed rate, are kept. Opt-in: the
validation loss follows the PSNR too loosely for a default (docs/training.md, "Keeping the
best weights": it gained 0.26 dB in one case and lost up to 0.33 dB in others).
"""

from __future__ import annotations

import math

import torch

MARGIN = 0.01  # relative: a last validation loss at most 1 % above the best keeps the last weights


class BestWeights:
    def __init__(self, margin: float = MARGIN):
        self.margin = margin
        self.loss = math.inf
        self.step: int | None = None
        self._weights: dict[str, torch.Tensor] | None = None

    def offer(self, net: torch.nn.Module, loss: float, step: int) -> None:
        """Keep a copy of ``net``'s weights when ``loss`` is the lowest so far."""
        if math.isfinite(loss) and loss < self.loss:
            self._weights = {k: v.detach().clone() for k, v in net.state_dict().items()}
            self.loss, self.step = loss, step

    def restore(self, net: torch.nn.Module, last_loss: float, last_step: int) -> dict | None:
        """Load the kept weights into ``net`` when the last ones' ``last_loss`` is higher by more
        than the margin; returns what was kept (steps and losses), else None."""
        if self._weights is None or self.step == last_step or not last_loss > self.loss * (1 + self.margin):
            return None
        net.load_state_dict(self._weights)
        return {"step": self.step, "val_loss": self.loss, "last_step": last_step, "last_val_loss": last_loss}
