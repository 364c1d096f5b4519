"""The Noise2Same loss and the blind-spot loss it is compared with.

Noise2Same (paper eq. 6)::

    L = mean((f(x) - x)^2) + lambda_inv * sqrt(sum(M * (f(x) - f(x_J))^2) / sum(M))

the first term over all pixels (reconstruction), the second over the masked set
J only, pooled over the whole batch (invariance).  The blind-spot loss of the
Noise2Void / Noise2Self family is ``sum(M * (f(x_J) - x)^2) / sum(M)``.

``per_channel``: the loss of each channel on its own, then their mean, for one network per
channel (each network's gradient is then that of its own Noise2Same loss, as if trained alone).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .config import METHODS  # noqa: F401  # the losses defined here, by name


@dataclass
class LossTerms:
    total: torch.Tensor
    reconstruction: torch.Tensor
    invariance: torch.Tensor
    spread: torch.Tensor | None = None  # the spread head's loss (engine/spread.py), trained beside the network


@dataclass
class LossValues:
    """The three terms of one step as numbers (copied from the device at once)."""

    total: float
    reconstruction: float
    invariance: float


def noise2same_loss(
    x: torch.Tensor,
    out: torch.Tensor,
    out_masked: torch.Tensor,
    mask: torch.Tensor,
    lambda_inv: float,
    per_channel: bool = False,
) -> LossTerms:
    if per_channel:
        over = [0, *range(2, x.ndim)]  # all but the channel axis
        rec = torch.mean((out - x) ** 2, dim=over)
        inv = torch.sqrt(torch.sum(mask * (out - out_masked) ** 2, dim=over) / mask.sum(dim=over).clamp(min=1))
        return LossTerms(torch.mean(rec + lambda_inv * inv), rec.mean(), inv.mean())
    reconstruction = torch.mean((out - x) ** 2)
    invariance = torch.sqrt(torch.sum(mask * (out - out_masked) ** 2) / mask.sum().clamp(min=1))
    return LossTerms(reconstruction + lambda_inv * invariance, reconstruction, invariance)


def blindspot_loss(x: torch.Tensor, out_masked: torch.Tensor, mask: torch.Tensor) -> LossTerms:
    masked_mse = torch.sum(mask * (out_masked - x) ** 2) / mask.sum().clamp(min=1)
    zero = torch.zeros((), device=x.device)
    return LossTerms(masked_mse, masked_mse, zero)
