"""The spread head: how far the masked pass's prediction of a pixel from its context may be off.

The masked pass f(x_J) predicts each pixel of J from its neighbours alone (its own value is
replaced).  The spread head reads the network's last features of that pass and predicts, per
pixel, the log of the variance of the observed value around that prediction.  In the Gaussian
approximation of ``p(y | context) = integral p(y | x) p(x | context) dx`` this variance is the
prior's plus the noise's, ``s^2 + sigma_n^2(x)``; engine/posterior.py takes the noise's share
off at prediction with the noise model (fitted on the image, or a calibration), so a
calibration given later needs no retraining.

It is trained by the Gaussian negative log-likelihood of the masked pixels, with the features
and the prediction detached: it learns beside the network and changes nothing of the
network's own training (the Noise2Same output of a run is the same with or without it).  Two
1 x 1 convolutions, so it costs a few percent of a training step.
"""

from __future__ import annotations

import torch
from torch import nn

#: log-variances (standardised units) kept within exp(-12) .. exp(8): a bad step cannot overflow
LOG_VAR_RANGE = (-12.0, 8.0)
#: prefix of the head's tensors in a model file's state dict
PREFIX = "spread_head."


class SpreadHead(nn.Module):
    """``features`` (N, width, *spatial) -> log variance (N, channels, *spatial)."""

    def __init__(self, dims: int, width: int, channels: int, groups: int = 1):
        super().__init__()
        conv = nn.Conv2d if dims == 2 else nn.Conv3d
        self.body = nn.Sequential(
            conv(width, width, 1, groups=groups), nn.ReLU(inplace=True), conv(width, channels, 1, groups=groups)
        )

    @classmethod
    def for_net(cls, net) -> SpreadHead:
        """The head that fits a :class:`~.unet.UNet`."""
        c = net.config
        return cls(c.dims, c.width, c.out_channels, c.groups)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.body(features).float().clamp(*LOG_VAR_RANGE)


def spread_nll(log_var: torch.Tensor, predicted: torch.Tensor, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean Gaussian negative log-likelihood (without its constant) of the pixels where ``mask``
    is 1 of ``x`` around ``predicted`` (detached) with variance ``exp(log_var)``."""
    nll = 0.5 * (log_var + (x - predicted.detach()).square() * torch.exp(-log_var))
    return torch.sum(mask * nll) / mask.sum().clamp(min=1)
